"""Compression that the generated hardware cashes in (issue 13): channel selection by LASSO
and least squares (:mod:`.channels`), low-rank factorization of dense layers
(:mod:`.lowrank`), magnitude pruning (:mod:`.prune`), weight sharing (:mod:`.codebook`),
distillation (:mod:`.distill`), and fine-tuning of a compressed model (:mod:`.base`).

:func:`compress` (:mod:`.api`) runs one method on an example or a graph, as ``hwgen
compress`` does. The package itself can be called as that function: ``hwgen.compress(
"digits-mlp", "prune", sparsity=0.5)`` is ``hwgen.compress.compress(...)``, and
``hwgen.compress.codebook`` and the rest stay reachable as modules."""

from __future__ import annotations

import sys
import types

from hwgen.compress.api import CompressResult, WeightStats, compress
from hwgen.compress.base import (
    METHODS,
    accuracy,
    finetune,
    legal_fold,
    module_index,
    prune_graph,
    recalibrate,
    weighted_layers,
)

__all__ = ["METHODS", "CompressResult", "WeightStats", "accuracy", "compress", "finetune",
           "legal_fold", "module_index", "prune_graph", "recalibrate", "weighted_layers"]


class _CallablePackage(types.ModuleType):
    """This package, callable as :func:`compress`: ``hwgen.compress`` is both the package
    (whose modules a ``from hwgen import compress`` still reaches) and the function the
    Python API names."""

    def __call__(self, *args, **kwargs) -> CompressResult:
        return compress(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
