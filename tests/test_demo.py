"""The demo music mesh: layout, contracts, determinism and data consistency.

Everything is checked on real generated files, independently of the generator:
contracts are read back as YAML, data through DuckDB (files), delta-rs (the Delta
table, each version handed to DuckDB) and the stdlib ``sqlite3`` module (the
SQLite database).
"""

from __future__ import annotations

import datetime as dt
import filecmp
import re
import sqlite3
from pathlib import Path

import duckdb
import pytest
import yaml
from deltalake import DeltaTable

from meshlab.demo import write_demo
from meshlab.demo.sizes import LAST_DAY, sizes_for
from meshlab.errors import MeshError

SCALE = 0.002
CHARTS = "data/plays/daily_track_plays"  # the Delta table
# The chart job's calendar (meshlab/demo/chart_job.py): a first build through FIRST_BUILD,
# one nightly build a day through BUILT_THROUGH, each at the midnight after its day, then
# a restatement of the days late plays reached.
BUILT_THROUGH = LAST_DAY - dt.timedelta(days=3)
FIRST_BUILD = BUILT_THROUGH - dt.timedelta(days=3)
LOGICAL_TYPES = {"string", "integer", "number", "boolean", "date", "timestamp"}
# DuckDB column types a file column of each logicalType may be read as.
DUCKDB_TYPES = {
    "string": {"VARCHAR"},
    "integer": {"BIGINT", "INTEGER", "SMALLINT", "TINYINT"},
    "number": {"DOUBLE", "FLOAT"},
    "boolean": {"BOOLEAN"},
    "date": {"DATE"},
    "timestamp": {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
}
# SQLite storage: declared type, and a GLOB every non-null value must match.
SQLITE_TYPES = {
    "string": ("TEXT", "*"),
    "integer": ("INTEGER", "*"),
    "number": ("REAL", "*"),
    "boolean": ("INTEGER", "[01]"),
    "date": ("TEXT", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"),
    "timestamp": ("TEXT", "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]"),
}
SQLITE_STORAGE = {
    "string": "text",
    "integer": "integer",
    "number": "real",
    "boolean": "integer",
    "date": "text",
    "timestamp": "text",
}


@pytest.fixture(scope="module")
def mesh(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("demo") / "music", scale=SCALE)


@pytest.fixture(scope="module")
def contracts(mesh) -> dict[Path, dict]:
    manifest = yaml.safe_load(mesh.read_text())
    found = {}
    for folder in manifest["domains"].values():
        for path in sorted((mesh.parent / folder).glob("*.odcs.yaml")):
            found[path] = yaml.safe_load(path.read_text())
    return found


@pytest.fixture(scope="module")
def datasets(contracts) -> dict[str, tuple[Path, dict, dict]]:
    """address -> (contract path, contract, schema object)."""
    return {f"{c['domain']}.{obj['name']}": (path, c, obj) for path, c in contracts.items() for obj in c["schema"]}


@pytest.fixture(scope="module")
def db(datasets) -> duckdb.DuckDBPyConnection:
    """DuckDB with one view per file dataset, named domain_dataset (a Delta table's versions: domain_dataset_vN)."""
    con = duckdb.connect()
    for address, (path, contract, _) in datasets.items():
        server = contract["servers"][0]
        if server["type"] != "local":
            continue
        location = (path.parent / server["path"]).as_posix()
        if server["format"] == "delta":  # the latest version, and each one as VIEW_vN
            register_versions(con, address.replace(".", "_"), DeltaTable(location))
            continue
        delimiter = custom(server).get("delimiter", ",")
        reader = {
            "parquet": f"read_parquet('{location}', hive_partitioning = true)",
            "csv": f"read_csv('{location}', header = true, delim = '{delimiter}')",
            "json": f"read_json('{location}', format = 'newline_delimited')",
        }[server["format"]]
        con.execute(f"CREATE VIEW {address.replace('.', '_')} AS SELECT * FROM {reader}")
    return con


def register_versions(con, name: str, table: DeltaTable) -> None:
    con.register(name, table.to_pyarrow_table())
    for version in range(table.version() + 1):
        table.load_as_version(version)
        con.register(f"{name}_v{version}", table.to_pyarrow_table())


def custom(server: dict) -> dict:
    """A server's ``customProperties`` as a mapping (where ODCS puts meshlab's extensions)."""
    return {p["property"]: p["value"] for p in server.get("customProperties", ())}


def is_sqlite(server: dict) -> bool:
    """SQLite is no ODCS server type: the demo writes a custom server with ``engine: sqlite``."""
    return server["type"] == "custom" and custom(server).get("engine") == "sqlite"


def sqlite_path(datasets, address: str) -> Path:
    path, contract, _ = datasets[address]
    server = contract["servers"][0]
    assert is_sqlite(server)
    return (path.parent / server["path"]).resolve()


def column(con, sql: str) -> set:
    return {row[0] for row in con.execute(sql).fetchall()}


# --- layout and contracts -------------------------------------------------------------


def test_manifest_names_the_four_domains(mesh):
    manifest = yaml.safe_load(mesh.read_text())
    assert mesh.name == "mesh.yaml"
    assert manifest["mesh"] == "music"
    assert manifest["domains"] == {d: f"domains/{d}" for d in ("plays", "listeners", "artists", "podcasts")}


def test_every_dataset_has_its_address(datasets):
    assert sorted(datasets) == [
        "artists.artists",
        "artists.tracks",
        "listeners.profiles",
        "listeners.subscriptions",
        "plays.daily_track_plays",
        "plays.play_events",
        "podcasts.episodes",
        "podcasts.podcast_streams",
    ]


def test_contracts_are_fully_filled_in(contracts):
    for path, c in contracts.items():
        assert c["apiVersion"] == "v3.1.0" and c["kind"] == "DataContract", path
        for key in ("id", "name", "version", "status", "dataProduct", "tags"):
            assert c[key], f"{path}: {key}"
        assert c["domain"] == path.parent.name
        assert set(c["description"]) == {"purpose", "usage", "limitations"}
        assert any(member["role"] == "owner" for member in c["team"]), path
        server = c["servers"][0]
        assert server["type"] == "local" or is_sqlite(server) and server["path"]
        assert is_sqlite(server) or server["format"] in {"parquet", "csv", "json", "delta"}
        latency = [sla for sla in c["slaProperties"] if sla["property"] == "latency"]
        assert latency and latency[0]["unit"] in {"d", "h"}, path
        table, col = latency[0]["element"].split(".")
        assert col in {p["name"] for obj in c["schema"] if obj["name"] == table for p in obj["properties"]}, path


def test_every_property_is_described(contracts):
    for path, c in contracts.items():
        for obj in c["schema"]:
            assert obj["description"] and obj["physicalName"]
            assert {"metric": "rowCount"}.items() <= obj["quality"][0].items()
            for prop in obj["properties"]:
                where = f"{path.name}: {obj['name']}.{prop['name']}"
                assert prop["description"], where
                assert prop["logicalType"] in LOGICAL_TYPES, where
                assert prop["physicalType"], where
                assert prop["classification"] in {"public", "internal", "restricted", "pii"}
                for key in ("required", "primaryKey", "unique"):
                    assert isinstance(prop[key], bool), where
                for rule in prop["quality"]:
                    assert rule["type"] == "library" and rule["metric"], where


def test_statuses_and_classifications(contracts, datasets):
    statuses = sorted(c["status"] for c in contracts.values())
    assert statuses.count("draft") == 1 and set(statuses) == {"active", "draft"}
    ids = [c["id"] for c in contracts.values()]
    assert len(set(ids)) == len(ids)
    profiles = {p["name"]: p for p in datasets["listeners.profiles"][2]["properties"]}
    for name in ("email", "display_name", "birth_year"):
        assert profiles[name]["classification"] == "pii"
    assert profiles["user_id"]["classification"] == "restricted"


def test_play_events_are_findable_as_plays_per_country(datasets):
    _, contract, obj = datasets["plays.play_events"]
    assert "plays" in obj["description"] and "plays" in contract["tags"]
    assert "country" in {p["name"] for p in obj["properties"]}


# --- determinism ------------------------------------------------------------------------


def sqlite_dump(path: Path) -> str:
    with sqlite3.connect(path) as con:
        return "\n".join(con.iterdump())


def chart_versions(root: Path) -> list[tuple[str, list[tuple]]]:
    """Each version of the demo's Delta table: its operation and its rows, sorted."""
    table = DeltaTable(root / CHARTS)
    operations = {c["version"]: c["operation"] for c in table.history()}
    found = []
    for version in sorted(operations):
        table.load_as_version(version)
        found.append((operations[version], sorted(table.to_pyarrow_table().to_pylist(), key=repr)))
    return found


def test_same_seed_gives_identical_files(mesh, tmp_path):
    again = write_demo(tmp_path / "again", scale=SCALE)
    first, second = mesh.parent, again.parent

    def data_files(root: Path) -> list[Path]:
        # The Delta table's log has commit times and its files random names: compared by content below.
        return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file() and CHARTS not in p.as_posix())

    files = data_files(first)
    assert files == data_files(second)
    for rel in files:
        if rel.suffix == ".sqlite":
            assert sqlite_dump(first / rel) == sqlite_dump(second / rel), rel
        else:
            assert filecmp.cmp(first / rel, second / rel, shallow=False), rel
    assert chart_versions(first) == chart_versions(second)


def test_other_seed_gives_other_data(mesh, tmp_path):
    other = write_demo(tmp_path / "other", scale=SCALE, seed=8).parent
    assert chart_versions(mesh.parent)[-1] != chart_versions(other)[-1]


def test_rerun_into_same_folder_replaces_partitions(tmp_path):
    write_demo(tmp_path, scale=SCALE)
    write_demo(tmp_path, scale=0.0001)  # fewer days: old partitions must go
    days = list((tmp_path / "data/plays/play_events").iterdir())
    assert 1 <= len(days) < 31
    charts = DeltaTable(tmp_path / CHARTS)  # a new history, not the first one's versions appended to
    assert [c["operation"] for c in sorted(charts.history(), key=lambda c: c["version"])] == ["WRITE", "MERGE"]
    assert not (tmp_path / "data/plays/daily_track_plays.parquet").exists()


def test_sizes_scale_linearly_above_a_floor():
    full = sizes_for(1)
    assert (
        full.play_events,
        full.listeners,
        full.tracks,
        full.artists,
        full.episodes,
        full.podcast_streams,
        full.days,
    ) == (10_000_000, 200_000, 50_000, 8_000, 2_000, 1_000_000, 31)
    assert sizes_for(0.5).listeners == 100_000
    tiny = sizes_for(1e-9)
    assert tiny.listeners >= 50 and tiny.tracks >= 100 and tiny.artists >= 20
    assert tiny.days >= 1 and tiny.play_events / tiny.days >= 300


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf")])
def test_bad_scale_is_a_mesh_error(tmp_path, scale):
    with pytest.raises(MeshError, match="scale must be a positive number"):
        write_demo(tmp_path, scale=scale)


# --- data -------------------------------------------------------------------------------


def test_declared_columns_exist_in_files_with_compatible_types(db, datasets):
    for address, (_, contract, obj) in datasets.items():
        if contract["servers"][0]["type"] != "local":
            continue
        actual = {row[0]: row[1] for row in db.execute(f"DESCRIBE {address.replace('.', '_')}").fetchall()}
        declared = {p["name"]: p["logicalType"] for p in obj["properties"]}
        assert set(actual) == set(declared), address
        for name, logical in declared.items():
            assert actual[name] in DUCKDB_TYPES[logical], f"{address}.{name}: {actual[name]}"


def test_declared_columns_exist_in_sqlite_with_compatible_types(datasets):
    for address in ("listeners.profiles", "listeners.subscriptions"):
        obj = datasets[address][2]
        with sqlite3.connect(sqlite_path(datasets, address)) as con:
            info = {r[1]: (r[2], r[5]) for r in con.execute(f"PRAGMA table_info({obj['name']})")}
            assert list(info) == [p["name"] for p in obj["properties"]], address
            for p in obj["properties"]:
                declared, pattern = SQLITE_TYPES[p["logicalType"]]
                assert info[p["name"]] == (declared, int(p["primaryKey"])), p["name"]
                bad = con.execute(
                    f"SELECT count(*) FROM {obj['name']} WHERE {p['name']} IS NOT NULL AND "
                    f"(typeof({p['name']}) <> ? OR NOT {p['name']} GLOB ?)",
                    (SQLITE_STORAGE[p["logicalType"]], pattern),
                ).fetchone()[0]
                assert bad == 0, f"{address}.{p['name']}"


def test_required_columns_have_no_nulls_and_keys_are_unique(db, datasets):
    for address, (_, contract, obj) in datasets.items():
        if contract["servers"][0]["type"] != "local":
            continue
        view = address.replace(".", "_")
        props = obj["properties"]
        for p in props:
            nulls, dupes = db.execute(
                f'SELECT count(*) - count("{p["name"]}"), '
                f'count("{p["name"]}") - count(DISTINCT "{p["name"]}") FROM {view}'
            ).fetchone()
            assert nulls == 0 or not p["required"], f"{address}.{p['name']}"
            assert dupes == 0 or not p["unique"], f"{address}.{p['name']}"
        key = ", ".join(
            p["name"] for p in sorted(props, key=lambda p: p.get("primaryKeyPosition", 0)) if p["primaryKey"]
        )
        repeated = db.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {view} GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()
        assert repeated == (0,), f"{address}: primary key ({key})"


def test_foreign_keys_join(db, datasets):
    with sqlite3.connect(sqlite_path(datasets, "listeners.profiles")) as con:
        users = column(con, "SELECT user_id FROM profiles")
        assert column(con, "SELECT user_id FROM subscriptions") <= users
    tracks = column(db, "SELECT track_id FROM artists_tracks")
    assert column(db, "SELECT user_id FROM plays_play_events") <= users
    assert column(db, "SELECT track_id FROM plays_play_events") <= tracks
    assert column(db, "SELECT track_id FROM plays_daily_track_plays") <= tracks
    assert column(db, "SELECT artist_id FROM artists_tracks") == column(
        db, "SELECT artist_id FROM artists_artists"
    )  # every artist has a track
    assert column(db, "SELECT user_id FROM podcasts_podcast_streams") <= users
    assert column(db, "SELECT episode_id FROM podcasts_podcast_streams") <= column(
        db, "SELECT episode_id FROM podcasts_episodes"
    )
    guests = column(db, "SELECT guest_artist_id FROM podcasts_episodes") - {None}
    assert guests <= column(db, "SELECT artist_id FROM artists_artists")


def test_play_events_are_hive_partitioned_by_arrival_day(db, mesh):
    folder = mesh.parent / "data/plays/play_events"
    days = sorted(p.name for p in folder.iterdir())
    assert len(days) == 31 and (days[0], days[-1]) == ("date=2026-10-01", "date=2026-10-31")
    for day in days:
        assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", day)
        assert [f.name for f in (folder / day).iterdir()] == ["part-0.parquet"]
    in_file = db.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{folder / days[0] / 'part-0.parquet'}', hive_partitioning = false)"
    )
    assert "date" not in {row[0] for row in in_file.fetchall()}  # the folder carries it
    assert db.execute("SELECT count(*) FROM plays_play_events WHERE received_at::DATE <> date").fetchone() == (0,)
    late = db.execute("SELECT count(*) FROM plays_play_events WHERE played_at::DATE < date AND offline").fetchone()[0]
    assert late > 0  # some events arrive days after the play


def test_play_events_look_like_listening(db):
    total, listeners, countries, no_country, skips = db.execute(
        "SELECT count(*), count(DISTINCT user_id), count(DISTINCT country), "
        "count(*) - count(country), avg(is_skip::INT) FROM plays_play_events"
    ).fetchone()
    assert 0.98 * 20_000 < total <= 20_000
    assert countries > 10 and 0 < no_country < 0.02 * total and 0.15 < skips < 0.4
    assert db.execute("SELECT count(*) FROM plays_play_events WHERE is_skip <> (ms_played < 30000)").fetchone() == (0,)
    top_share = db.execute(
        "SELECT max(n) / sum(n) FROM (SELECT count(*) n FROM plays_play_events GROUP BY track_id)"
    ).fetchone()[0]
    assert 0.005 < top_share < 0.2  # popular tracks stand out, none dominates


def test_daily_track_plays_agree_with_play_events(db):
    """The latest version of the charts is the aggregate of every play through the last day built."""
    # The chart job stalled three days before the end of the history (the demo's freshness incident).
    built_through = db.execute("SELECT max(date) FROM plays_daily_track_plays").fetchone()[0]
    assert built_through == LAST_DAY - dt.timedelta(days=3)
    recomputed = f"""
        SELECT played_at::DATE AS date, track_id, count(*) AS plays,
               count(DISTINCT user_id) AS listeners, sum(is_skip::INT) AS skips,
               sum(ms_played) AS ms_played
        FROM plays_play_events WHERE played_at::DATE <= DATE '{built_through}' GROUP BY ALL
    """
    published = "SELECT date, track_id, plays, listeners, skips, ms_played FROM plays_daily_track_plays"
    for a, b in ((recomputed, published), (published, recomputed)):
        assert db.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone() == (0,)


# --- the chart job's history: daily_track_plays as a Delta table -----------------------

CHARTS_VIEW = "plays_daily_track_plays"  # the latest version; version n is CHARTS_VIEW_vn
# The run that charted a day ran at the midnight after it, or after the first build's last day.
RAN_AT = f"(greatest(played_at::DATE, DATE '{FIRST_BUILD}') + 1)::TIMESTAMP"


def charts_of_plays(last_day: dt.date, received_before: str) -> str:
    """The charts of the plays through ``last_day`` received before ``received_before`` (SQL over
    a play's columns, so that each day can have its own cut-off)."""
    return f"""
        SELECT played_at::DATE AS date, track_id, count(*) AS plays,
               count(DISTINCT user_id) AS listeners, sum(is_skip::INT) AS skips,
               sum(ms_played) AS ms_played
        FROM plays_play_events
        WHERE played_at::DATE <= DATE '{last_day}' AND received_at < {received_before}
        GROUP BY ALL
    """


def keys(db, sql: str) -> set[tuple]:
    return set(db.execute(sql).fetchall())


def test_the_charts_are_a_delta_table_with_one_version_per_run(mesh, datasets):
    server = datasets["plays.daily_track_plays"][1]["servers"][0]
    assert (server["type"], server["format"], server["path"]) == (
        "local",
        "delta",
        "../../data/plays/daily_track_plays",
    )
    table = DeltaTable(mesh.parent / CHARTS)
    history = sorted(table.history(), key=lambda c: c["version"])
    assert [(c["version"], c["operation"], c["operationParameters"].get("mode")) for c in history] == [
        (0, "WRITE", "ErrorIfExists"),  # the first build
        (1, "WRITE", "Append"),  # three nightly builds
        (2, "WRITE", "Append"),
        (3, "WRITE", "Append"),
        (4, "MERGE", None),  # the restatement of late plays
    ]
    assert table.metadata().partition_columns == ["date"]


@pytest.mark.parametrize("version", range(4))
def test_each_nightly_version_charts_the_plays_received_by_its_run(db, version):
    published = charts_of_plays(FIRST_BUILD + dt.timedelta(days=version), RAN_AT)
    for a, b in (
        (f"SELECT * FROM {CHARTS_VIEW}_v{version}", published),
        (published, f"SELECT * FROM {CHARTS_VIEW}_v{version}"),
    ):
        assert db.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone() == (0,)


def test_the_restatement_changed_exactly_the_rows_late_plays_reached(db):
    """Version 4 against version 3: a row changed, or appeared, where a play arrived after the run
    that charted its day, and nowhere else; no row went away."""
    before, after = f"SELECT * FROM {CHARTS_VIEW}_v3", f"SELECT * FROM {CHARTS_VIEW}_v4"
    changed = keys(db, f"SELECT date, track_id FROM ({after} EXCEPT {before})")
    late = keys(
        db,
        f"SELECT DISTINCT played_at::DATE, track_id FROM plays_play_events "
        f"WHERE played_at::DATE <= DATE '{BUILT_THROUGH}' AND received_at >= {RAN_AT}",
    )
    assert changed == late and changed
    assert keys(db, f"SELECT date, track_id FROM ({before})") <= keys(db, f"SELECT date, track_id FROM ({after})")
    # Plays arrive at most 48 h (and a track's length) late: the first build's last two days, and later ones.
    assert min(day for day, _ in changed) >= FIRST_BUILD - dt.timedelta(days=2)


def measure(con, table: str, rule: dict, column: str | None) -> float:
    """Value of an ODCS library metric, in plain SQL both DuckDB and SQLite run."""
    col = f'"{column}"' if column else None
    valid = ", ".join(repr(v) for v in rule["arguments"].get("validValues", []))
    invalid = f"{col} NOT IN ({valid})"
    if "pattern" in rule["arguments"]:  # the only pattern rule is on a CSV dataset: DuckDB
        invalid = f"NOT regexp_matches({col}, '{rule['arguments']['pattern']}')"
    sql = {
        "rowCount": f"SELECT count(*) FROM {table}",
        "nullValues": f"SELECT count(*) - count({col}) FROM {table}",
        "duplicateValues": f"SELECT count({col}) - count(DISTINCT {col}) FROM {table}",
        "invalidValues": f"SELECT count(*) FROM {table} WHERE {invalid}",
    }[rule["metric"]]
    if rule["metric"] == "duplicateValues" and column is None:
        keys = ", ".join(rule["arguments"]["properties"])
        sql = f"SELECT count(*) FROM (SELECT {keys} FROM {table} GROUP BY {keys} HAVING count(*) > 1) AS repeated"
    value = con.execute(sql).fetchone()[0]
    if rule.get("unit") == "percent":
        value = 100.0 * value / con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return value


def test_contract_quality_rules_hold(db, datasets):
    broken = []
    for address, (_, contract, obj) in datasets.items():
        if is_sqlite(contract["servers"][0]):
            con, table = sqlite3.connect(sqlite_path(datasets, address)), obj["physicalName"]
        else:
            con, table = db, address.replace(".", "_")
        rules = [(rule, None) for rule in obj["quality"]] + [
            (rule, p["name"]) for p in obj["properties"] for rule in p["quality"]
        ]
        for rule, col in rules:
            value = measure(con, table, rule, col)
            holds = (
                ("mustBe" not in rule or value == rule["mustBe"])
                and ("mustBeLessThan" not in rule or value < rule["mustBeLessThan"])
                and ("mustBeGreaterThan" not in rule or value > rule["mustBeGreaterThan"])
            )
            if not holds:
                broken.append((address, col, rule["metric"], value))
    # Every rule holds but the demo's deliberate quality incident: one printed ISRC in 500.
    assert broken == [("artists.tracks", "isrc", "invalidValues", 1)]


def test_meshlab_check_finds_exactly_the_two_incidents(mesh):
    import meshlab

    report = meshlab.connect(str(mesh)).check(store=False)
    failed = {(r.dataset, r.check) for r in report.failed}
    assert failed == {("plays.daily_track_plays", "latency:date"), ("artists.tracks", "invalidValues:isrc")}
    assert report.errors == []
    isrc = report.result("artists.tracks", "invalidValues:isrc").failing_rows
    assert [re.fullmatch(r"[A-Z]{2}-[A-Z0-9]{3}-\d{2}-\d{5}", row["isrc"]) is not None for row in isrc] == [True]
    keys = {(r.dataset, r.check) for r in report if r.kind == "relationship"}
    assert ("plays.play_events", "foreignKey:user_id->listeners.profiles.user_id") in keys
    assert ("listeners.subscriptions", "foreignKey:user_id->listeners.profiles.user_id") in keys  # same contract
    assert len(keys) == 8
    assert all(r.status == "passed" for r in report if r.kind == "relationship")


def test_demo_contracts_are_valid_odcs_by_the_official_schema(contracts):
    import json

    import jsonschema

    import meshlab

    schemas = Path(meshlab.__file__).parent / "catalog" / "odcs_schemas"
    official = json.loads((schemas / "odcs-json-schema-v3.1.0.json").read_text())
    for path, c in contracts.items():
        errors = [e.message for e in jsonschema.Draft201909Validator(official).iter_errors(c)]
        assert errors == [], path
