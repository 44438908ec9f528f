"""Out of core on one machine: the streaming engine, and when ``auto`` picks it.

The TPC-H suite runs on Polars' streaming engine over the federated mesh and must give
DuckDB's answers; the input estimate is checked against the parquet footers read
independently; a subprocess measures that streaming really holds less in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import polars as pl
import pyarrow.parquet as pq
import pytest
from conftest import assert_same_rows, duckdb_answer, order_by_positions, read_tpch_query
from IPython.testing import globalipapp
from support.contracts import contract, local_files, properties, write_yaml
from support.contracts import write_mesh as write_manifest

import meshlab
from meshlab.cli import main as cli_main
from meshlab.engine.choice import EngineSettings, choose_engine, machine_memory
from meshlab.engine.estimate import estimate_input_bytes
from meshlab.errors import DescriptorError, EngineError

QUERIES = [f"q{n:02d}" for n in range(1, 23)]


@pytest.mark.postgres
@pytest.mark.parametrize("name", QUERIES)
def test_tpch_on_the_streaming_engine_matches_duckdb(name, mesh, tpch_mesh):
    sql = read_tpch_query(name)

    result = mesh.sql(tpch_mesh.to_mesh_sql(sql), engine="streaming")

    assert result.engine == "streaming"
    keys = order_by_positions(sql)
    assert_same_rows(result.df, duckdb_answer(sql, tpch_mesh.parquet_dir), bool(keys), keys)


# -- a small mesh of one parquet dataset and one SQLite table, with engine settings ----------
def write_mesh(root, engine: dict | None = None, rows: int = 200_000):
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    frame = pl.DataFrame(
        {
            "id": range(rows),
            "key": [i % 97 for i in range(rows)],
            "label": [f"label-{i % 1000:04d}" for i in range(rows)],
            "amount": [i * 0.5 for i in range(rows)],
        }
    )
    frame.write_parquet(data / "events.parquet", row_group_size=50_000)
    columns = properties(("id", "integer"), ("key", "integer"), ("label", "string"), ("amount", "number"))
    server = local_files("../../data/events.parquet")
    write_yaml(
        root / "domains" / "shop" / "events.odcs.yaml", contract("shop", "events", columns, server, title="Events")
    )
    settings = {"engine": engine} if engine is not None else {}
    return write_manifest(root, "shop", ["shop"], **settings)


def test_the_estimate_takes_rows_times_width_or_the_uncompressed_size_per_column(tmp_path):
    mesh = meshlab.connect(str(write_mesh(tmp_path)))
    plan = mesh.plan("SELECT label, sum(amount) AS total FROM shop.events GROUP BY label")
    meta = pq.ParquetFile(tmp_path / "data" / "events.parquet").metadata

    def uncompressed(column: str) -> int:
        groups = (meta.row_group(g) for g in range(meta.num_row_groups))
        return sum(
            g.column(c).total_uncompressed_size
            for g in groups
            for c in range(meta.num_columns)
            if g.column(c).path_in_schema == column
        )

    estimate = estimate_input_bytes(plan)

    # label: 1,000 distinct values, dictionary-encoded, so tiny in the file: 24 bytes a row in
    # memory counts; amount: 8 bytes a row, about what the file holds uncompressed.
    rows = meta.num_rows
    assert uncompressed("label") < rows * 24
    assert estimate == rows * 24 + max(uncompressed("amount"), rows * 8)
    assert estimate < estimate_input_bytes(mesh.plan("SELECT * FROM shop.events"))


def test_auto_streams_when_the_input_exceeds_the_configured_share_of_memory(tmp_path):
    small = write_mesh(tmp_path / "small", {"memory_fraction": 0.5, "memory_bytes": 1_000_000})
    roomy = write_mesh(tmp_path / "roomy", {"memory_bytes": 10**12})
    sql = "SELECT key, count(*) AS n, sum(amount) AS total FROM shop.events GROUP BY key ORDER BY key"

    streamed = meshlab.connect(str(small)).sql(sql)
    in_memory = meshlab.connect(str(roomy)).sql(sql)

    assert streamed.engine == "streaming" and "above 0.5 MiB" in streamed.engine_reason
    assert in_memory.engine == "polars" and "fits" in in_memory.engine_reason
    assert streamed.df.equals(in_memory.df)
    assert streamed.df.height == 97


def test_an_explicit_engine_wins_over_the_mesh_default(tmp_path, monkeypatch):
    mesh = meshlab.connect(str(write_mesh(tmp_path, {"default": "streaming"})))
    sql = "SELECT count(*) AS n FROM shop.events"

    assert mesh.sql(sql).engine == "streaming"
    assert mesh.sql(sql, engine="polars").engine == "polars"
    monkeypatch.setenv("MESHLAB_ENGINE", "polars")
    assert mesh.sql(sql).engine == "polars"


def test_unknown_engines_and_bad_settings_are_clear_errors(tmp_path):
    mesh = meshlab.connect(str(write_mesh(tmp_path / "ok")))
    with pytest.raises(EngineError, match="unknown engine 'duck' .known: auto, polars, streaming, spark"):
        mesh.sql("SELECT 1 AS one FROM shop.events", engine="duck")

    broken = meshlab.connect(str(write_mesh(tmp_path / "broken", {"memory_fraction": 3})))
    with pytest.raises(DescriptorError, match=r"mesh.yaml: engine.memory_fraction: .*\(0, 1\]"):
        broken.sql("SELECT 1 AS one FROM shop.events")
    with pytest.raises(DescriptorError, match="engine.default: unknown engine 'fast'"):
        EngineSettings.parse({"default": "fast"}, "mesh.yaml")


def test_the_choice_compares_with_this_machines_memory(tmp_path):
    mesh = meshlab.connect(str(write_mesh(tmp_path)))
    choice = choose_engine(mesh.plan("SELECT * FROM shop.events"), None, EngineSettings())

    assert choice.engine == "polars" and 0 < choice.estimated_bytes < machine_memory()


def test_the_magic_takes_an_engine(tmp_path):
    globalipapp.start_ipython()  # once per process: later calls return None
    shell = globalipapp.get_ipython()
    shell.run_line_magic("load_ext", "meshlab")
    shell.run_line_magic("mesh", f"connect {write_mesh(tmp_path)}")

    result = shell.run_cell_magic("mesh", "--engine streaming -o totals", "SELECT count(*) AS n FROM shop.events")

    assert result.engine == "streaming" and shell.user_ns["totals"]["n"][0] == 200_000


def test_the_cli_takes_an_engine(tmp_path, capsys):
    manifest = str(write_mesh(tmp_path))
    sql = "SELECT count(*) AS n FROM shop.events"

    assert cli_main(["query", manifest, sql, "--engine", "streaming"]) == 0
    assert capsys.readouterr().err.rstrip().endswith("on the streaming engine")
    assert cli_main(["query", manifest, sql, "--engine", "streaming", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"n": 200_000}]
    assert cli_main(["query", manifest, sql, "--engine", "polars"]) == 0
    assert capsys.readouterr().err.rstrip().endswith("on the polars engine")
    with pytest.raises(SystemExit):  # argparse refuses an unknown engine, naming the known ones
        cli_main(["query", manifest, sql, "--engine", "duck"])
    assert "invalid choice: 'duck'" in capsys.readouterr().err


# VmHWM: the peak resident memory of this process image (ru_maxrss would carry over the
# parent's peak across fork and exec).
PEAK_RSS = textwrap.dedent(
    """
    import json, re, sys
    def peak_kib():
        return int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
    import meshlab
    if sys.argv[2] == "none":
        print(json.dumps({"rows": 0, "peak_kib": peak_kib()}))
        raise SystemExit
    mesh = meshlab.connect(sys.argv[1])
    result = mesh.sql(
        "SELECT key, count(*) AS n, max(label) AS top, sum(amount) AS total FROM shop.events GROUP BY key",
        engine=sys.argv[2],
    )
    print(json.dumps({"rows": result.df.height, "peak_kib": peak_kib()}))
    """
)


def test_streaming_holds_less_in_memory_than_the_in_memory_engine(tmp_path):
    manifest = write_mesh(tmp_path, rows=6_000_000)

    def peak(engine: str) -> dict:
        # Polars' own default is its streaming engine too; with the in-memory affinity a
        # user may set, meshlab's streaming engine must still stream.
        env = {**os.environ, "POLARS_ENGINE_AFFINITY": "in-memory"}
        run = subprocess.run(
            [sys.executable, "-c", PEAK_RSS, str(manifest), engine],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout.strip().splitlines()[-1])

    base, streamed, in_memory = peak("none"), peak("streaming"), peak("polars")

    assert streamed["rows"] == in_memory["rows"] == 97
    # Beyond the interpreter and libraries, streaming holds a fraction of what loading does.
    held = {name: run["peak_kib"] - base["peak_kib"] for name, run in (("streaming", streamed), ("polars", in_memory))}
    assert held["streaming"] < 0.6 * held["polars"], held
