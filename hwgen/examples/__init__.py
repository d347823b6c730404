"""Runnable example models, by name (``hwgen build digits-mlp``, ``hwgen demo``)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["EXAMPLES", "get_example"]


def _digits_mlp(**kwargs):
    from .digits_mlp import make

    return make(**kwargs)


def _digits_cnn(**kwargs):
    from .digits_cnn import make

    return make(**kwargs)


EXAMPLES: dict[str, Callable] = {"digits-mlp": _digits_mlp, "digits-cnn": _digits_cnn}


def get_example(name: str) -> Callable:
    if name not in EXAMPLES:
        raise KeyError(name)
    return EXAMPLES[name]
