"""The one error root: every error hwgen raises on purpose is a :class:`HwgenError`, with a
subclass per area, so the command line (and a script) catches one class. Each message is
one line that names the layer, parameter or file and what is allowed.

The area classes keep the builtin base their callers knew (``ValueError`` for bad input,
``RuntimeError`` for a tool or run that failed)."""

from __future__ import annotations

__all__ = [
    "BitstreamError",
    "BoardError",
    "BuildError",
    "ClusterError",
    "CompressError",
    "DatasetError",
    "ExampleError",
    "FoldError",
    "GraphError",
    "HwgenError",
    "LinkError",
    "NoFit",
    "QonnxError",
    "SimError",
    "SynthError",
    "SynthTimeout",
]


class HwgenError(Exception):
    """Anything hwgen refuses or cannot do: the message is one line saying why."""


class GraphError(HwgenError, ValueError):
    """A malformed graph: the message names the layer or field and what is allowed."""


class QonnxError(GraphError):
    """A model hwgen cannot import exactly; the message names the node."""


class BoardError(HwgenError, ValueError):
    """Unknown board or malformed board file."""


class FoldError(HwgenError, ValueError):
    """No folding reaches the target, or nothing fits the board."""


class ExampleError(HwgenError, ValueError):
    """An unknown example, or an option the example does not take."""


class CompressError(HwgenError, ValueError):
    """A compression method without the option it needs, or with one out of its range."""


class DatasetError(HwgenError, RuntimeError):
    """A data set's package is not installed (the message says how to install it), or its
    files are not what it ships."""


class BuildError(HwgenError, RuntimeError):
    """The output folder cannot be written as asked, or a build folder is not usable."""


class ClusterError(HwgenError, RuntimeError):
    """Dask is not installed, or its scheduler cannot be reached."""


class SimError(HwgenError, RuntimeError):
    """The simulation could not run (tool missing, build failure, timeout)."""


class SynthError(HwgenError, RuntimeError):
    """A YoWASP tool is missing or failed."""


class SynthTimeout(SynthError):
    """A YoWASP tool ran out of its time."""


class BitstreamError(HwgenError, RuntimeError):
    """The board has no open toolchain, the design does not fit, or it misses timing."""


class NoFit(BitstreamError):
    """nextpnr cannot place the design on the board."""


class LinkError(HwgenError, RuntimeError):
    """The board answered with an error, answered nonsense, or did not answer."""
