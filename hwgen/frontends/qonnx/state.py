"""What the importer knows while it walks: each ONNX tensor as hwgen sees it, the layers
built so far, the report; and the small helpers every handler uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError, QonnxError
from hwgen.ir.graph import INPUT
from hwgen.ir.layer import Layer, Tensor
from hwgen.ops.weighted import Weighted

__all__ = ["MARGIN_WARN", "PRE", "Acc", "Codes", "Handler", "ImportReport", "ImportState",
           "Weights", "attrs", "channels", "jsonable", "per_channel", "short", "uniform"]

MARGIN_WARN = 1e-3  # accumulator units: a threshold crossing closer than this is reported
PRE = "pre"  # the value of a tensor computed from the model input before its quantizer


@dataclass
class Codes:
    """An hwgen tensor: real value = code value x scale (per channel or one number)."""

    src: str
    tensor: Tensor
    scale: np.ndarray
    layout: str  # "nchw" (4-D ONNX), "nhwc" (4-D, transposed), "flat" (hwgen order), "chw"


@dataclass
class Acc:
    """An hwgen layer's integer accumulator followed by float ops (per channel)."""

    layer: Layer
    xs: list[Tensor]
    tail: list[Callable[[np.ndarray], np.ndarray]] = field(default_factory=list)
    four_d: bool = False

    def value(self, acc: np.ndarray) -> np.ndarray:
        v = acc.astype(np.float32)
        for op in self.tail:
            v = op(v)
        return v


@dataclass
class Weights:
    """A quantized constant (weights or a bias): integer codes, their scale (which
    broadcasts over the codes as in ONNX, aligned on the last axis) and dtype."""

    codes: np.ndarray
    scale: np.ndarray
    dtype: DType

    def per_output(self, axis: int, where: str) -> np.ndarray:
        """The scale of each output channel (``axis`` of the codes): one number, or one per
        channel; refused when it varies along another axis."""
        s = np.asarray(self.scale, np.float32)
        if s.size == 1:
            return s.reshape(())
        full = np.broadcast_to(s, self.codes.shape)
        along = np.moveaxis(full, axis, 0).reshape(full.shape[axis], -1)
        if not np.all(along == along[:, :1]):
            raise QonnxError(f"{where}: a weight scale of shape {list(s.shape)} varies along "
                             f"the inputs of weights {list(self.codes.shape)}; hwgen needs "
                             "one scale per output channel")
        return along[:, 0]


@dataclass
class ImportReport:
    """A row per ONNX node: what it became; and the smallest threshold margin."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    margins: dict[str, float] = field(default_factory=dict)  # layer -> accumulator units
    codes: dict[str, tuple[str, object]] = field(default_factory=dict)  # ONNX tensor ->
    # (the hwgen layer whose output it is, its scale): real value = code value x scale
    preprocessing: list[str] = field(default_factory=list)

    def table(self) -> str:
        width = max((len(r[0]) for r in self.rows), default=4)
        lines = [f"{'node':<{width}}  op                  became"]
        lines += [f"{n:<{width}}  {op:<18}  {what}" for n, op, what in self.rows]
        if self.margins:
            layer, m = min(self.margins.items(), key=lambda kv: kv[1])
            lines.append(f"smallest threshold margin: {m:.3g} accumulator units (layer {layer})"
                         + (" -- closer than 1e-3: float rounding decides it, and the graph "
                            "follows the exporter's float32 there; compare hwgen sim's "
                            "outputs with the model's on your data, or retrain (a margin of "
                            "0.5 is the most there is)" if m < MARGIN_WARN
                            else ""))
        if self.preprocessing:
            lines.append("before the input quantizer (the host applies these to pixels): "
                         + ", ".join(self.preprocessing))
        return "\n".join(lines)


class ImportState:
    """The model being imported and what is known of each of its tensors (``values``:
    :data:`PRE`, :class:`Codes`, :class:`Acc` or :class:`Weights`), the layers built so
    far and the report."""

    def __init__(self, model, name: str, input_dtype: DType | None = None):
        self.model = model
        self.name = name
        self.input_dtype = input_dtype
        self.layers: list[Layer] = []
        self.values: dict[str, object] = {}
        self.report = ImportReport()
        self.meta: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.graph_input: Tensor | None = None
        self.outputs: dict[str, Tensor] = {}  # every layer's output tensor, as last inferred

    def init(self, name: str) -> np.ndarray | None:
        """The initializer (constant) named ``name``, or None."""
        return self.model.get_initializer(name)

    def shape(self, name: str) -> list[int]:
        return list(self.model.get_tensor_shape(name))

    def fresh(self, kind: str) -> str:
        """A new layer name: ``kind`` and its count so far (fc1, conv2...)."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}{self.counts[kind]}"

    def add_layer(self, layer: Layer, inputs: list[str]) -> None:
        layer.inputs = inputs
        self.layers.append(layer)

    def infer(self, layer: Layer, xs: list[Tensor]) -> Tensor:
        """The layer's output tensor (and its bounds), its errors as :class:`QonnxError`."""
        try:
            y = self.outputs[layer.name] = layer.infer(xs)
        except GraphError as err:
            raise QonnxError(str(err)) from None
        return y

    def input_of(self, layer: Layer) -> Tensor:
        """The tensor a layer of the graph being built reads (its first input)."""
        src = layer.inputs[0]
        return self.graph_input if src == INPUT else self.outputs[src]

    def emit(self, name: str, codes: Codes) -> None:
        """ONNX tensor ``name`` is the output of hwgen layer ``codes.src`` (quantized)."""
        self.values[name] = codes
        self.report.codes[name] = (codes.src, jsonable(codes.scale))

    def get(self, name: str, where: str, kinds: tuple = (Codes,)):
        """What tensor ``name`` is, which must be one of ``kinds`` (the model input before
        its quantizer counts as codes when an input dtype is given)."""
        v = self.values.get(name)
        if v == PRE and Codes in kinds:
            v = self.values[name] = self._assumed_input(name, where)
        if not isinstance(v, kinds):
            have = ("the model input before its quantizer" if v == PRE else
                    "an accumulator not yet quantized" if isinstance(v, Acc) else
                    "quantized codes" if isinstance(v, Codes) else "a float tensor")
            raise QonnxError(f"{where}: its input {name!r} is {have}; hwgen needs "
                             + " or ".join({Codes: "quantized codes",
                                            Acc: "an accumulator"}[k] for k in kinds))
        return v

    def _assumed_input(self, name: str, where: str) -> Codes:
        """A model whose input feeds a layer unquantized (BNN-PYNQ's ResNet18 assumes 8-bit
        RGB): its integer format must be given, and the input is taken as those values."""
        if self.input_dtype is None:
            raise QonnxError(f"{where}: the model input reaches it with no quantizer; give its "
                             "integer format (input_dtype, --input-dtype; uint8 for 8-bit RGB)")
        if self.graph_input is not None or self.report.preprocessing:
            raise QonnxError(f"{where}: an unquantized input after preprocessing")
        shape = self.shape(name)[1:]
        layout = "nchw" if len(shape) == 3 else "flat"
        if layout == "nchw":
            shape = [shape[1], shape[2], shape[0]]
        self.graph_input = Tensor(tuple(shape), self.input_dtype)
        self.meta["input"] = {"scale": 1.0, "zero_point": 0, "assumed": True,
                              "layout": "NCHW as channels-last" if layout == "nchw" else "flat"}
        return Codes(INPUT, self.graph_input, np.float32(1.0).reshape(()), layout)


# A handler imports one ONNX node: it reads its inputs from the state, records its output
# there and returns what the node became (a row of the report).
Handler = Callable[[ImportState, object, str], str]


def attrs(node) -> dict:
    """The node's attributes by name; string ones (onnx gives bytes) as text."""
    import onnx

    values = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in values.items()}


def per_channel(value: np.ndarray, count: int, four_d: bool, where: str) -> np.ndarray:
    """A constant that broadcasts over an (N, C) or (N, C, H, W) tensor, as (C,) or ().
    ONNX aligns shapes on the last axis: per channel is (C,) or (1, C) on (N, C), and
    (C, 1, 1) or (1, C, 1, 1) on (N, C, H, W), where a (C,) runs along W."""
    v = np.asarray(value, np.float32)
    if v.size == 1:
        return v.reshape(())
    squeezed = v.reshape(-1)
    if squeezed.size == count and (v.shape[-3:] == (count, 1, 1) if four_d
                                   else v.shape[-1] == count):
        return squeezed
    raise QonnxError(f"{where}: a constant of shape {list(v.shape)} is not per channel")


def channels(acc: Acc) -> int:
    """Channels of an accumulator: a weighted layer's rows, or an add's input channels."""
    return acc.layer.channels if isinstance(acc.layer, Weighted) else acc.xs[0].shape[-1]


def short(v) -> str:
    """A constant for a message: its value, or that it is per channel."""
    v = np.asarray(v).ravel()
    return f"{v[0]:.4g}" if v.size == 1 or np.all(v == v[0]) else f"per channel ({v.size})"


def jsonable(v) -> float | list[float]:
    v = np.asarray(v, np.float64).ravel()
    return float(v[0]) if v.size == 1 or np.all(v == v[0]) else [float(x) for x in v]


def uniform(s: np.ndarray) -> np.ndarray:
    """A scale as one number when every channel has the same."""
    s = np.asarray(s, np.float32).ravel()
    return s[:1].reshape(()) if s.size and np.all(s == s[0]) else s
