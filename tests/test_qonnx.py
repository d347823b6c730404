"""QONNX import: the BNN-PYNQ zoo that ships in the brevitas wheel (seeded random weights,
random batch-norm statistics) and a Brevitas MLP trained on the digits, exported with
``export_qonnx`` here; the imported graph's reference equals qonnx's own executor on every
integer logit, and imported models are bit-exact in cocotb."""

import numpy as np
import pytest
import torch
from brevitas.export import export_qonnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

from hwgen import load_graph, qonnx, reference
from hwgen.boards import load_board
from hwgen.cli import main
from hwgen.estimate import estimate
from hwgen.examples.bnn_pynq import FINN_FOLDING, ZOO, export, quiet_export
from hwgen.fold import refold

from .conftest import simulate_graph


def integer_logits(onnx_path, graph, inputs) -> tuple[np.ndarray, np.ndarray]:
    """(qonnx's executor's logits divided back to integers, the reference's) per input."""
    model = cleanup_model(ModelWrapper(str(onnx_path)))
    first = next(n for n in model.graph.node if n.op_type in ("Quant", "BipolarQuant")
                 and model.get_initializer(n.input[0]) is None)
    scale, out = graph.meta["input"]["scale"], graph.meta["output"]
    got, want = [], []
    for x in inputs:
        ctx = execute_onnx(model, {model.graph.input[0].name: x}, return_full_exec_context=True)
        codes = np.rint(ctx[first.output[0]] / np.float32(scale)).astype(np.int64)
        if codes.ndim == 4:
            codes = codes.transpose(0, 2, 3, 1)
        want.append(reference.run(graph, codes.reshape(1, *graph.input.shape))[0])
        logits = (ctx[model.graph.output[0].name].reshape(-1) - np.array(out["offset"])) / \
            np.array(out["scale"])
        assert np.max(np.abs(logits - np.rint(logits))) < 1e-3, logits
        got.append(np.rint(logits).astype(np.int64))
    return np.array(got), np.array(want)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_reference_equals_the_qonnx_executor(tmp_path, name):
    shape = export(name, tmp_path / f"{name}.onnx")
    graph, report = qonnx.load(tmp_path / f"{name}.onnx")
    assert graph.input.dtype.name == ("int8" if "cnv" in name else
                                      "bin" if name.endswith("1a") else "tern")
    rng = np.random.default_rng(1)
    got, want = integer_logits(tmp_path / f"{name}.onnx", graph,
                               rng.random((3, *shape)).astype(np.float32))
    assert np.array_equal(got, want)
    assert "smallest threshold margin" in report.table()


def test_tfc_is_bit_exact_in_cocotb_at_finns_folding(tmp_path):
    export("tfc_1w1a", tmp_path / "tfc.onnx")
    graph, _ = qonnx.load(tmp_path / "tfc.onnx")
    weighted = [layer.name for layer in graph.layers if layer.folds]
    graph = refold(graph, dict(zip(weighted, FINN_FOLDING["tfc_1w1a"], strict=True)))
    result = simulate_graph(graph, tmp_path, frames=6)
    assert result.cycles_per_frame == 64  # FINN's own estimate for TFC-w1a1


@pytest.mark.slow
def test_cnv_is_bit_exact_on_verilator_at_finns_folding(tmp_path):
    export("cnv_1w1a", tmp_path / "cnv.onnx")
    graph, _ = qonnx.load(tmp_path / "cnv.onnx")
    weighted = [layer.name for layer in graph.layers if layer.folds]
    graph = refold(graph, dict(zip(weighted, FINN_FOLDING["cnv_1w1a"], strict=True)))
    result = simulate_graph(graph, tmp_path, frames=2, simulator="verilator")
    assert result.cycles_per_frame == 32_768


def test_a_brevitas_mlp_trained_on_the_digits(tmp_path):
    """Unsigned 4-bit input with a learned scale, 2-bit weights, BN, 2-bit ReLU, bias-free
    dense: trained briefly, imported; every logit equals the executor's on the test split,
    and the RTL in cocotb equals the reference."""
    import brevitas.nn as qnn
    from brevitas.quant import Uint8ActPerTensorFloat

    from hwgen.examples.digits import load

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        qnn.QuantIdentity(act_quant=Uint8ActPerTensorFloat, bit_width=4),
        qnn.QuantLinear(64, 32, bias=False, weight_bit_width=2),
        torch.nn.BatchNorm1d(32),
        qnn.QuantReLU(bit_width=2),
        qnn.QuantLinear(32, 10, bias=False, weight_bit_width=3))
    train_x, train_y, test_x, _ = load(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.tensor(train_x / 16.0, dtype=torch.float32), torch.tensor(train_y)
    for _ in range(3):
        for k in range(0, len(xt), 64):
            loss = torch.nn.functional.cross_entropy(model(xt[k:k + 64]), yt[k:k + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    quiet_export(export_qonnx, model, torch.rand(1, 64), tmp_path / "mlp.onnx")
    graph, _ = qonnx.load(tmp_path / "mlp.onnx")
    assert graph.input.dtype.name == "uint4"
    frames = (test_x[:60] / 16.0).astype(np.float32)[:, None, :]
    got, want = integer_logits(tmp_path / "mlp.onnx", graph, frames)
    assert np.array_equal(got, want)
    simulate_graph(refold(graph, {"fc1": (4, 8), "fc2": (2, 8)}), tmp_path, frames=4)


def test_import_command_writes_a_folded_graph_or_one_line(tmp_path, capsys):
    export("tfc_1w1a", tmp_path / "tfc.onnx")
    assert main(["import", str(tmp_path / "tfc.onnx"), "--out", str(tmp_path / "tfc.json"),
                 "--target-fps", "1e6", "--board", "pynq-z2"]) == 0
    out = capsys.readouterr().out
    assert "graph input bin [784]" in out and "folded for pynq-z2" in out

    g = load_graph(tmp_path / "tfc.json")
    assert estimate(g, load_board("pynq-z2")).fps >= 1e6
    assert g.meta["output"]["offset"] == 0.0
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    assert main(["import", str(tmp_path / "bad.onnx"), "--out", str(tmp_path / "b.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a readable ONNX model" in err
    assert not (tmp_path / "b.json").exists()
