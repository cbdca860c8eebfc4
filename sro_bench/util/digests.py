"""Content digests of what the harness caches and saves (judges, screeners, leaders), checked on load: an
artefact altered or cut short on disk must be refused or rebuilt, never used under its old name."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np


def arrays_digest(arrays: dict[str, np.ndarray], extra: bytes = b"") -> str:
    """sha256 of the arrays' names, dtypes, shapes and bytes (and ``extra``, e.g. the JSON saved beside them)."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    h.update(extra)
    return h.hexdigest()


def files_digest(directory: Path, skip: Iterable[str] = ()) -> str:
    """sha256 of every file under ``directory`` (relative paths and bytes, in order), less the names in ``skip``."""
    directory, skip = Path(directory), set(skip)
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name not in skip):
        h.update(path.relative_to(directory).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()
