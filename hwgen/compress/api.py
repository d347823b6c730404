"""One call that compresses a graph or an example model by one method, with the accuracy on
held-out data before and after: what ``hwgen compress`` runs, as ``hwgen.compress(...)``."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwgen import reference
from hwgen.analysis.estimate import Estimate, estimate
from hwgen.boards import Board
from hwgen.compress import channels, codebook, distill, lowrank, prune
from hwgen.compress.base import (
    METHODS,
    finetune,
    module_index,
    prune_graph,
    recalibrate,
    weighted_layers,
)
from hwgen.core.errors import CompressError
from hwgen.examples import EXAMPLES, example_maker, is_graph_file
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph
from hwgen.ops.weighted import Sparsity

__all__ = ["CompressResult", "WeightStats", "compress"]

FINETUNE_EPOCHS = 20  # the fine-tuning after every method but distill, unless told


@dataclass(frozen=True)
class WeightStats:
    """What the weighted layers of a graph hold."""

    weights: int  # weights in all weighted layers
    zeros: int  # of them, zero
    bits: int  # bits as plain codes
    stored_bits: int  # bits as stored: less than ``bits`` where codebooks share weights

    @classmethod
    def of(cls, graph: Graph) -> WeightStats:
        layers = weighted_layers(graph)
        stored, plain = codebook.storage_bits(graph)
        return cls(sum(layer.weights.size for layer in layers),
                   sum(int((layer.weights == 0).sum()) for layer in layers), plain, stored)


@dataclass(frozen=True)
class CompressResult:
    """A compressed graph and the graph it came from. For an example the accuracies on its
    held-out test samples are measured (with :func:`hwgen.reference.run`, so on the integer
    graphs the hardware computes); for a graph alone, which is not fine-tuned, they are
    ``None``."""

    graph: Graph  # the compressed graph: ``graph.save(path)`` writes it, hwgen.build takes it
    original: Graph  # the graph before compression (the trained example's export)
    method: str
    test_samples: int | None  # held-out samples the accuracies are measured on
    accuracy_before: float | None
    accuracy_after: float | None

    @property
    def weights_before(self) -> WeightStats:
        return WeightStats.of(self.original)

    @property
    def weights_after(self) -> WeightStats:
        return WeightStats.of(self.graph)

    def estimate(self, board: Board | str) -> Estimate:
        """The compressed graph's estimate on ``board``, at its folding: its
        :meth:`~hwgen.analysis.estimate.Estimate.fit_summary` says whether it fits and which
        resource binds."""
        return estimate(self.graph, board)


def compress(source: Graph | str | os.PathLike, method: str, *,
             sparsity: float | None = None, pattern: str | Sparsity | None = None,
             bits: int | None = None,
             layer: str | None = None, keep: int = 16, rank: int | None = None,
             energy: float | None = None, teacher: str | None = None,
             temperature: float = 4.0, alpha: float = 0.7, weight_dtype: str | None = None,
             epochs: int | None = None, seed: int = 0,
             progress: Callable[[str], None] = print) -> CompressResult:
    """Compress ``source`` by ``method`` (one of :data:`METHODS`).

    ``source`` is an example name (trained with ``seed``, compressed, fine-tuned
    ``epochs``, 20 unless told; evaluated on its held-out samples) or a graph, or the path of
    one, which takes ``prune`` or ``codebook`` only and is not fine-tuned.

    - ``prune``: magnitude pruning to ``sparsity`` (0 to 1) of each layer's weights, or
      to an N:M ``pattern`` ("2:4" or a :class:`~hwgen.ops.Sparsity`) that the layers
      then carry, for the sparse matrix unit (every dense and conv layer it fits);
    - ``channels``: LASSO pruning of the channels ``layer`` reads, to ``keep``;
    - ``lowrank``: truncated SVD of the dense ``layer`` at ``rank`` or ``energy``;
    - ``codebook``: weights shared through ``2**bits`` k-means centroids per layer;
    - ``distill``: a fresh copy of the example trained from ``teacher``'s outputs
      softened by ``temperature``, weighted ``alpha`` against the labels.

    ``weight_dtype`` (bin, tern, intK) trains the example with these weights first.
    ``progress`` hears each step. Raises :class:`~hwgen.core.errors.CompressError` (an
    option missing or out of range) or :class:`~hwgen.core.errors.ExampleError`, each a
    :class:`~hwgen.core.errors.HwgenError`, with the message ``hwgen compress`` prints.
    """
    if method not in METHODS:
        raise CompressError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    if pattern is not None:
        if method != "prune" or sparsity is not None:
            raise CompressError("--pattern N:M goes with --method prune, without --sparsity")
        if not isinstance(pattern, Sparsity):
            try:
                pattern = Sparsity.parse(pattern)
            except ValueError as err:
                raise CompressError(f"--pattern: {err}") from None
    options = {"sparsity": sparsity if pattern is None else pattern, "bits": bits,
               "layer": layer, "teacher": teacher}
    needs = {"prune": ("sparsity", "--sparsity (0 to 1) or --pattern N:M"),
             "codebook": ("bits", "--bits (index bits, 1 to 8)"),
             "channels": ("layer", "--layer (the layer that reads the channels)"),
             "lowrank": ("layer", "--layer (the dense layer to split)"),
             "distill": ("teacher", f"--teacher (an example: {', '.join(EXAMPLES)})")}
    field, what = needs[method]
    if options[field] is None:
        raise CompressError(f"--method {method} needs {what}")
    target = sparsity if pattern is None else pattern
    if isinstance(source, Graph):
        return _compress_graph(source, method, target, bits, weight_dtype, progress)
    if is_graph_file(source):
        return _compress_graph(load_graph(source), method, target, bits, weight_dtype,
                               progress)
    if source not in EXAMPLES:
        raise CompressError(f"{source}: neither a graph file (NAME.json) nor an example "
                            f"(examples: {', '.join(EXAMPLES)})")
    return _compress_example(str(source), method, sparsity=target, bits=bits, layer=layer,
                             keep=keep, rank=rank, energy=energy, teacher=teacher,
                             temperature=temperature, alpha=alpha, weight_dtype=weight_dtype,
                             epochs=epochs, seed=seed, progress=progress)


def _compress_graph(graph: Graph, method: str, sparsity: float | Sparsity | None,
                    bits: int | None,
                    weight_dtype: str | None, progress: Callable[[str], None]
                    ) -> CompressResult:
    """Compress a graph alone: the methods that need no model to fine-tune."""
    if method not in ("prune", "codebook"):
        raise CompressError(f"--method {method} fine-tunes: it needs a model (an example: "
                            f"{', '.join(EXAMPLES)}); a graph alone takes prune or codebook")
    if weight_dtype is not None:
        raise CompressError("--weight-dtype trains an example; a graph keeps its own weights")
    try:
        if isinstance(sparsity, Sparsity):
            out = prune.prune_graph_pattern(graph, sparsity, progress)
            progress(f"pruned {graph.name} to {sparsity} by weight magnitude, without "
                     "fine-tuning: accuracy is not kept")
        elif method == "prune":
            out = prune_graph(graph, sparsity)
            progress(f"pruned {graph.name} to {sparsity:.0%} zero weights per layer (the "
                     "first left whole), without fine-tuning: accuracy is not kept")
        else:
            out = codebook.share_graph(graph, bits)
            progress(f"shared the weights of {graph.name} through {bits}-bit codebooks, "
                     "without fine-tuning: accuracy is not kept")
    except ValueError as err:
        raise CompressError(str(err)) from None
    return CompressResult(out, graph, method, None, None, None)


def _compress_example(name: str, method: str, *, sparsity, bits, layer, keep, rank, energy,
                      teacher, temperature, alpha, weight_dtype, epochs, seed,
                      progress: Callable[[str], None]) -> CompressResult:
    """Train the example ``name``, compress its model, fine-tune it (or distil into a fresh
    copy) and export it, measuring both graphs on the held-out samples."""
    from hwgen.frontends import quant

    make, make_options = example_maker(name, weight_dtype)
    ex = make(seed=seed, progress=progress, **make_options)
    shape = ex.graph.input.shape
    train_x, train_y, test_x, test_y = ex.train_x, ex.train_y, ex.test_x, ex.test_y
    if method == "distill":
        teacher_make, teacher_options = example_maker(teacher)
    try:
        if isinstance(sparsity, Sparsity):
            model = prune.prune_pattern(ex.model, sparsity, progress)
            progress(f"pruned {name} to {sparsity}: in every group of {sparsity.m} inputs "
                     f"of a row the {sparsity.n} largest weights kept")
        elif method == "prune":
            model = prune.prune_magnitude(ex.model, sparsity)
        elif method == "codebook":
            model = codebook.share_weights(ex.model, bits)
        elif method == "channels":
            index = module_index(ex.model, layer)
            model, kept = channels.prune_channels(ex.model, index, keep, train_x)
            recalibrate(model, train_x)
            progress(f"{layer} reads {len(kept)} channels now: {kept.tolist()}")
        elif method == "lowrank":
            index = module_index(ex.model, layer)
            model, got_rank = lowrank.factorize_dense(ex.model, index, rank=rank,
                                                      energy=energy)
            progress(f"{layer} split at rank {got_rank}")
        else:
            taught = teacher_make(seed=seed, progress=progress, **teacher_options)
            model = make(seed=seed, epochs=0, progress=lambda _: None, **make_options).model
            epochs = epochs or inspect.signature(make).parameters["epochs"].default
            progress(f"distilling {teacher} into a fresh {name}: {epochs} epochs, "
                     f"T={temperature}, alpha={alpha}")
            distill.distill(model, taught.model, train_x, train_y, epochs=epochs, seed=seed,
                            temperature=temperature, alpha=alpha,
                            teacher_x=train_x.reshape(-1, *taught.graph.input.shape),
                            progress=progress)
    except ValueError as err:
        raise CompressError(str(err)) from None
    if method != "distill":
        epochs = epochs or FINETUNE_EPOCHS
        progress(f"fine-tuning {epochs} epochs")
        finetune(model, train_x, train_y, epochs=epochs, seed=seed, progress=progress)
    graph = quant.export(model, name=f"{ex.graph.name}_{method}", input_shape=shape,
                         input_dtype=ex.graph.input.dtype.name)
    before, after = (float(np.mean(reference.run(g, test_x).reshape(-1) == test_y))
                     for g in (ex.graph, graph))
    return CompressResult(graph, ex.graph, method, len(test_y), before, after)
