"""Output files and folders get the modes any other tool's output gets: the umask decides,
not the private modes of the temporary files they are written as."""

import os
import stat

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.flows.build import build


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_build_folder_and_graph_files_follow_the_umask(tmp_path, umask_022):
    g = ir.Graph("net", ir.Tensor((4,), DType.parse("int4")), [
        ops.Dense("fc", weight_dtype="int2", weights=np.ones((2, 4), int), pe=1, simd=4)])
    saved = g.save(tmp_path / "g" / "net")
    assert _mode(saved) == 0o644 and _mode(saved.with_suffix(".npz")) == 0o644
    out = build(g, tmp_path / "b").out_dir
    assert _mode(out) == 0o755
    for f in out.iterdir():
        assert _mode(f) == 0o644, f
    os.umask(0o077)
    assert _mode(build(g, tmp_path / "p").out_dir) == 0o700
