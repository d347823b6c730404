"""Writing files so that a reader never sees half of one, with the modes any other tool's
output has (the temporary files and folders they start as are private), and the folder
caches live in."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["cache_root", "follow_umask", "umask", "write_atomic"]


def cache_root() -> Path:
    """Where hwgen caches what is slow to make again (compiled benches, parsed data sets):
    ``$HWGEN_CACHE``, by default ``~/.cache/hwgen``. Each cache is a folder below it
    (``verilator/``, ``datasets/``)."""
    return Path(os.environ.get("HWGEN_CACHE") or Path.home() / ".cache" / "hwgen")


def umask() -> int:
    """The process's file mode creation mask (read by setting it and back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def follow_umask(path: Path, directory: bool = False) -> None:
    """Give ``path`` (made private by :mod:`tempfile`) the mode a plain ``open`` or
    ``mkdir`` would have given it: 0666 or 0777 less the umask."""
    os.chmod(path, (0o777 if directory else 0o666) & ~umask())


def write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Run ``write`` on a temporary file beside ``path``, then move it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        follow_umask(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
