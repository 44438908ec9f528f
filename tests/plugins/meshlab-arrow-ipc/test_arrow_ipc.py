"""What the arrow plugin adds beyond the conformance suite: the ``type: custom`` form, its metadata
hooks against pyarrow's own account of the file, and a named error for a file that is not Arrow IPC."""

from __future__ import annotations

import polars as pl
import pyarrow.ipc as ipc
import pytest
from support.contracts import columns_of, contract, write_mesh, write_yaml

import meshlab
from meshlab.errors import MeshError, SourceError

FRAME = pl.DataFrame({"k": range(3000), "v": [f"x{i}" for i in range(3000)]})


@pytest.fixture(scope="module")
def mesh(tmp_path_factory):
    root = tmp_path_factory.mktemp("arrow-plugin")
    (root / "data").mkdir()
    with ipc.new_file(root / "data" / "t.arrow", FRAME.to_arrow().schema) as writer:
        for batch in FRAME.to_arrow().to_batches(max_chunksize=1000):
            writer.write_batch(batch)
    (root / "data" / "broken.arrow").write_bytes(b"not arrow at all")
    custom = {"server": "blobs", "type": "custom", "format": "arrow", "path": "../../data/t.arrow"}
    write_yaml(root / "domains" / "a" / "t.odcs.yaml", contract("a", "t", columns_of(FRAME), custom))
    broken = {**custom, "path": "../../data/broken.arrow"}
    write_yaml(root / "domains" / "a" / "broken.odcs.yaml", contract("a", "broken", columns_of(FRAME), broken))
    found = meshlab.connect(str(write_mesh(root, "arrow", ["a"])))
    yield found
    found.close()


def test_custom_server_reads_with_pushdown(mesh):
    result = mesh.sql("SELECT v FROM a.t WHERE k >= 2990 ORDER BY k")
    assert result.df["v"].to_list() == [f"x{i}" for i in range(2990, 3000)]
    assert result.plan[0].kind == "arrow" and "predicates: t.k >= 2990" in result.plan[0].sent[0]


def test_metadata_comes_from_the_file(mesh):
    source = mesh.source(mesh.dataset("a.t"))
    assert source.estimate_rows() == 3000
    assert source.physical_schema() == {"k": pl.Int64, "v": pl.String}
    assert source.bytes_for(("k",)) == 3000 * 8


def test_a_file_that_is_not_arrow_is_named(mesh):
    with pytest.raises(SourceError, match="cannot read .*broken.arrow"):
        mesh.source(mesh.dataset("a.broken")).check()
    with pytest.raises(MeshError, match="broken"):
        mesh.sql("SELECT * FROM a.broken")
