"""Runnable example models, by name (``hwgen build digits-mlp``, ``hwgen demo``), and the
demo that trains, exports, builds and simulates one (:mod:`.demo`)."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from hwgen.core.dtypes import DType
from hwgen.core.errors import ExampleError
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph

__all__ = ["EXAMPLES", "example_maker", "get_example", "graph_or_example", "is_graph_file"]

# name -> its module, and the variant its make takes first ("module:variant")
EXAMPLES: dict[str, str] = {
    "digits-mlp": "digits_mlp", "digits-cnn": "digits_cnn", "digits-resnet": "digits_resnet",
    **{f"mnist-{v}".removesuffix("-w1a1"): f"mnist:{v}"
       for t in ("tfc", "sfc", "lfc") for v in (f"{t}-w1a1", f"{t}-w1a2", f"{t}-w2a2")},
}


def get_example(name: str) -> Callable:
    """The ``make(seed=, progress=, ...)`` of an example; torch is imported only now."""
    module, _, variant = EXAMPLES[name].partition(":")
    make = import_module(f".{module}", __name__).make
    return functools.partial(make, variant) if variant else make


def is_graph_file(source: str | os.PathLike) -> bool:
    """Whether ``source`` names a graph file (NAME.json, NAME.npz, or NAME with NAME.json
    beside it) rather than an example."""
    path = Path(source)
    return path.suffix in (".json", ".npz") or path.with_suffix(".json").exists()


def graph_or_example(source: str | os.PathLike, seed: int = 0,
                     progress: Callable[[str], None] = print) -> Graph:
    """The graph in the file ``source`` names, or the example of that name, trained with
    ``seed``."""
    if is_graph_file(source):
        return load_graph(source)
    if source in EXAMPLES:
        return get_example(source)(seed=seed, progress=progress).graph
    raise ExampleError(f"{source}: neither a graph file (NAME.json) nor an example "
                       f"(examples: {', '.join(EXAMPLES)})")


def example_maker(name: str, weight_dtype: str | None = None) -> tuple[Callable, dict]:
    """An example's ``make`` and the options to pass it: ``weight_dtype`` (bin, tern, intK),
    for the examples that take one."""
    if name not in EXAMPLES:
        raise ExampleError(f"{name}: not an example (examples: {', '.join(EXAMPLES)})")
    make = get_example(name)
    if weight_dtype is None:
        return make, {}
    if "weight_dtype" not in inspect.signature(make).parameters:
        raise ExampleError(f"--weight-dtype: {name} has fixed weight dtypes; allowed with "
                           "digits-mlp and digits-cnn")
    try:
        dtype = DType.parse(weight_dtype)
    except ValueError as err:
        raise ExampleError(f"--weight-dtype: {err}") from None
    if dtype.kind == "uint":
        raise ExampleError(f"--weight-dtype {weight_dtype}: weights are bin, tern or intK")
    return make, {"weight_dtype": dtype.name}
