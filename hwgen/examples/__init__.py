"""Runnable example models, by name (``hwgen build digits-mlp``, ``hwgen demo``)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

__all__ = ["EXAMPLES", "get_example"]

EXAMPLES: dict[str, str] = {"digits-mlp": "digits_mlp", "digits-cnn": "digits_cnn",
                            "digits-resnet": "digits_resnet"}


def get_example(name: str) -> Callable:
    """The ``make(seed=, progress=, ...)`` of an example; torch is imported only now."""
    return import_module(f".{EXAMPLES[name]}", __name__).make
