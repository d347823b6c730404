"""QONNX import: the BNN-PYNQ zoo that ships in the brevitas wheel (seeded random weights,
random batch-norm statistics) and a Brevitas MLP trained on the digits, exported with
``export_qonnx`` here; the imported graph's reference equals qonnx's own executor on every
integer logit, and imported models are bit-exact in cocotb."""

import hashlib
import importlib.metadata
import inspect
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.export import export_qonnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

from hwgen import load_graph, reference
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import refold
from hwgen.boards import load_board
from hwgen.cli import main
from hwgen.core.files import cache_root
from hwgen.examples import bnn_pynq
from hwgen.examples.bnn_pynq import FINN_FOLDING, INPUT_DTYPE, ZOO, export, quiet_export
from hwgen.frontends import qonnx
from tests.helpers import simulate_graph

pytestmark = [pytest.mark.torch, pytest.mark.qonnx]  # brevitas exports from torch


def check_against_executor(onnx_path, graph, report, inputs) -> int:
    """Run qonnx's executor and the reference on the same inputs. Every quantized tensor
    the import mapped to an hwgen layer must equal that layer's output code for code
    (exact integers); the logits, which the executor sums in float32, must equal the
    reference's integers to float32 precision. Returns the number of tensors compared."""
    model = cleanup_model(ModelWrapper(str(onnx_path)))
    name_in = model.graph.input[0].name
    assumed = graph.meta["input"].get("assumed")  # the input is the codes themselves
    first = name_in if assumed else next(
        n.output[0] for n in model.graph.node if n.op_type in ("Quant", "BipolarQuant")
        and model.get_initializer(n.input[0]) is None)
    out = graph.meta["output"]
    compared = 0
    for x in inputs:
        ctx = execute_onnx(model, {name_in: x}, return_full_exec_context=True)
        codes = np.rint(ctx[first] / np.float32(graph.meta["input"]["scale"]))
        if codes.ndim == 4:
            codes = codes.transpose(0, 2, 3, 1)
        values = reference.values(graph, codes.astype(np.int64).reshape(1, *graph.input.shape))
        for tensor, (layer, scale) in report.codes.items():
            got = ctx[tensor] / np.asarray(scale, np.float32).reshape(
                (-1, 1, 1) if ctx[tensor].ndim == 4 and np.size(scale) > 1 else ())
            got = got.transpose(0, 2, 3, 1) if got.ndim == 4 else got
            assert np.array_equal(np.rint(got).reshape(values[layer].shape), values[layer]), \
                tensor
            compared += 1
        logits = (ctx[model.graph.output[0].name].reshape(-1) - np.array(out["offset"])) / \
            np.array(out["scale"])
        want = values[graph.layers[-1].name][0]
        assert np.all(np.abs(logits - want) <= 2**-20 * np.abs(want) + 1e-3), (logits, want)
    return compared


def exported(name: str) -> tuple[Path, tuple[int, ...]]:
    """Zoo model ``name`` as QONNX and its input shape, exported once per version of brevitas,
    torch and :mod:`hwgen.examples.bnn_pynq` into ``$HWGEN_CACHE/tests/zoo``: the export
    takes seconds, the import a tenth of one, and the mutation run imports thousands of
    times."""
    key = hashlib.sha256("|".join([
        importlib.metadata.version("brevitas"), torch.__version__,
        inspect.getsource(bnn_pynq)]).encode()).hexdigest()[:16]
    folder = cache_root() / "tests" / "zoo" / key / name
    if not folder.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}."))
        shape = export(name, scratch / f"{name}.onnx")
        (scratch / "shape.json").write_text(json.dumps(shape))
        try:
            scratch.rename(folder)
        except OSError:  # another worker's export got there first
            shutil.rmtree(scratch)
    return folder / f"{name}.onnx", tuple(json.loads((folder / "shape.json").read_text()))


@pytest.mark.parametrize("name", ZOO)
def test_zoo_reference_equals_the_qonnx_executor(name):
    onnx_path, shape = exported(name)
    graph, report = qonnx.load(onnx_path, input_dtype=INPUT_DTYPE.get(name))
    assert graph.input.dtype.name == ("uint8" if "resnet" in name else "int8" if "cnv" in name
                                      else "bin" if name.endswith("1a") else "tern")
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 256, (2, *shape)) if "resnet" in name else
         rng.random((3, *shape))).astype(np.float32)
    assert check_against_executor(onnx_path, graph, report, x) >= len(x)
    assert "smallest threshold margin" in report.table()


def test_tfc_is_bit_exact_in_cocotb_at_finns_folding(tmp_path):
    export("tfc_1w1a", tmp_path / "tfc.onnx")
    graph, _ = qonnx.load(tmp_path / "tfc.onnx")
    weighted = [layer.name for layer in graph.layers if layer.folds]
    graph = refold(graph, dict(zip(weighted, FINN_FOLDING["tfc_1w1a"], strict=True)))
    result = simulate_graph(graph, tmp_path, frames=6)
    assert result.cycles_per_frame == 64  # FINN's own estimate for TFC-w1a1


@pytest.mark.verilator
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
    graph, report = qonnx.load(tmp_path / "mlp.onnx")
    assert graph.input.dtype.name == "uint4"
    frames = (test_x[:60] / 16.0).astype(np.float32)[:, None, :]
    assert check_against_executor(tmp_path / "mlp.onnx", graph, report, frames) == 60
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


def test_multithreshold_and_relu_models_written_by_hand(tmp_path):
    """FINN's MultiThreshold after a MatMul, and a Relu + unsigned Quant, in a QONNX graph
    built with onnx.helper: the same executor check as the zoo."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    dom = "qonnx.custom_op.general"

    def const(name, value):
        return numpy_helper.from_array(np.asarray(value, np.float32), name)

    w1 = rng.integers(-2, 2, (6, 5)).astype(np.float32)  # MatMul weights (in, out)
    w2 = rng.integers(-2, 2, (5, 3)).astype(np.float32)
    t = np.sort(rng.uniform(-6, 6, (5, 3)), axis=1).astype(np.float32)
    nodes = [
        helper.make_node("Quant", ["x", "s1", "z", "b4"], ["xq"], domain=dom, signed=0,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w1", "s1", "z", "b2"], ["w1q"], domain=dom, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("MatMul", ["xq", "w1q"], ["a1"]),
        helper.make_node("MultiThreshold", ["a1", "t"], ["h1"], domain=dom, out_dtype="UINT2"),
        helper.make_node("Quant", ["w2", "s1", "z", "b2"], ["w2q"], domain=dom, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("MatMul", ["h1", "w2q"], ["a2"]),
        helper.make_node("Mul", ["a2", "half"], ["a3"]),
        helper.make_node("Relu", ["a3"], ["r"]),
        helper.make_node("Quant", ["r", "s1", "z", "b3"], ["y"], domain=dom, signed=0,
                         narrow=0, rounding_mode="ROUND"),
    ]
    graph = helper.make_graph(
        nodes, "hand", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [const("s1", 1.0), const("z", 0.0), const("b4", 4), const("b2", 2), const("b3", 3),
         const("w1", w1), const("w2", w2), const("t", t), const("half", 0.5)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "hand.onnx"
    path.write_bytes(model.SerializeToString())
    g, report = qonnx.load(path)
    assert [layer.activation.dtype.name for layer in g.layers] == ["uint2", "uint3"]
    frames = rng.uniform(0, 15, (20, 1, 6)).astype(np.float32)
    assert check_against_executor(path, g, report, frames) == 40


def _tiny(tmp_path, quantized: bool, tail: str) -> Path:
    """x -> [Quant] -> MatMul with [quantized] weights -> ``tail`` (an ONNX op or '')."""
    from onnx import TensorProto, helper, numpy_helper

    dom = "qonnx.custom_op.general"
    consts = {"s": 1.0, "z": 0.0, "b": 4, "w": np.ones((4, 3), np.float32)}
    nodes = [helper.make_node("MatMul", ["xq" if quantized else "x",
                                         "wq" if quantized else "w"], ["a"])]
    if quantized:
        nodes[:0] = [helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain=dom,
                                      signed=1, narrow=0, rounding_mode="ROUND"),
                     helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"], domain=dom,
                                      signed=1, narrow=0, rounding_mode="ROUND")]
    out = "a"
    if tail:
        nodes.append(helper.make_node(tail, ["a"], ["y"], **({"axis": 1} if "Softmax" in tail
                                                              else {})))
        out = "y"
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in consts.items()])
    path = tmp_path / f"tiny_{quantized}_{tail}.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path.write_bytes(model.SerializeToString())
    return path


def test_a_float_model_hears_first_that_it_needs_quantizers(tmp_path):
    with pytest.raises(qonnx.QonnxError, match=r"no quantizer .* it is a float model"):
        qonnx.load(_tiny(tmp_path, False, "Softmax"), input_dtype="uint8")


@pytest.mark.parametrize("tail", ["Softmax", "LogSoftmax", "Sigmoid"])
def test_a_trailing_softmax_is_refused_with_the_argmax_advice(tmp_path, tail):
    with pytest.raises(qonnx.QonnxError, match=rf"\({tail}\): not supported at the end of the "
                                               "model; .* the class is the argmax"):
        qonnx.load(_tiny(tmp_path, True, tail))
    g, _ = qonnx.load(_tiny(tmp_path, True, ""))  # without it, the logits import
    assert g.layers[-1].op == "dense"


def _avgpool_model(tmp_path, rng, **pool_attrs) -> Path:
    """x (1, 2, 4, 4) -> Quant uint4 (scale 1/2) -> AveragePool -> Flatten -> MatMul with
    int3 weights -> Mul -> Relu -> Quant uint3 -> MatMul: the logits."""
    from onnx import TensorProto, helper, numpy_helper

    dom = "qonnx.custom_op.general"
    features = 2 * 3 * 3 if pool_attrs.get("strides", [1, 1]) == [1, 1] else 2 * 2 * 2
    consts = {"s": 0.5, "one": 1.0, "z": 0.0, "b4": 4, "b3": 3,
              "w1": rng.integers(-4, 4, (features, 5)), "w2": rng.integers(-4, 4, (5, 3)),
              "m": rng.uniform(0.05, 0.3, 5)}
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b4"], ["xq"], domain=dom, signed=0,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("AveragePool", ["xq"], ["p"], **pool_attrs),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Quant", ["w1", "one", "z", "b3"], ["w1q"], domain=dom, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("MatMul", ["f", "w1q"], ["a1"]),
        helper.make_node("Mul", ["a1", "m"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["r"]),
        helper.make_node("Quant", ["r", "one", "z", "b3"], ["h"], domain=dom, signed=0,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w2", "one", "z", "b3"], ["w2q"], domain=dom, signed=1,
                         narrow=0, rounding_mode="ROUND"),
        helper.make_node("MatMul", ["h", "w2q"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "avg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in consts.items()])
    path = tmp_path / "avg.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
                     .SerializeToString())
    return path


@pytest.mark.parametrize("strides", [None, [2, 2]])
def test_an_average_pool_smaller_than_the_map_imports_to_avgpool2d(tmp_path, strides):
    """Kernel 2 on a 4x4 map (ONNX's default stride 1, and stride 2): an avgpool2d whose 1/4
    goes into the next layer's thresholds; the window sums and every quantized tensor equal
    the executor's on integer inputs, the logits to float32 precision."""
    rng = np.random.default_rng(5)
    path = _avgpool_model(tmp_path, rng, kernel_shape=[2, 2],
                          **({"strides": strides} if strides else {}))
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["avgpool2d", "dense", "dense"]
    assert g.layers[0].stride == ((1, 1) if strides is None else (2, 2))
    assert ("avg1", 0.125) in report.codes.values()  # the input's scale 1/2, over 4
    frames = rng.integers(0, 16, (30, 1, 2, 4, 4)).astype(np.float32) / 2  # the codes x 1/2
    assert check_against_executor(path, g, report, frames) == 30 * 2  # p and h, each frame


def test_a_padded_average_pool_is_refused_in_one_line(tmp_path):
    with pytest.raises(qonnx.QonnxError, match=r"\(AveragePool\): only an unpadded, "
                                               "undilated average pool is supported$"):
        qonnx.load(_avgpool_model(tmp_path, np.random.default_rng(0), kernel_shape=[2, 2],
                                  pads=[1, 1, 0, 0], strides=[2, 2]))


@pytest.mark.parametrize("margin,advised", [(0.0, True), (0.0009, True), (0.25, False)])
def test_a_close_threshold_margin_comes_with_what_to_do(margin, advised):
    """The import report's margin line: below 1e-3 accumulator units it says that float
    rounding decides the crossing and what to do about it; above, the figure alone."""
    from hwgen.frontends.qonnx.state import ImportReport

    report = ImportReport(margins={"fc1": 0.5, "fc2": margin})
    line = report.table().splitlines()[-1]
    assert line.startswith(f"smallest threshold margin: {margin:.3g} accumulator units "
                           "(layer fc2)")
    advice = ("float rounding decides it", "compare hwgen sim's outputs with the model's on "
              "your data, or retrain")
    assert all(a in line for a in advice) == advised
    assert any(a in line for a in advice) == advised
