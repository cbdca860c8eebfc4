"""The metrics' on-disk cache: safetensors arrays plus JSON metadata, written atomically, never pickled, with a
digest of the arrays checked on load (a judge altered or cut short on disk must not score under its old id)."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np

from ..util.digests import arrays_digest
from ..util.files import atomic_write_bytes
from ..util.paths import resolve_cache_dir


def metrics_cache(cache_dir: str | os.PathLike | None, kind: str) -> Path:
    """``<cache_dir>/metrics/<kind>/`` (created), the sro-bench cache when ``cache_dir`` is None."""
    path = resolve_cache_dir(cache_dir) / "metrics" / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def fingerprint(files: Iterable[Path], settings: dict) -> str:
    """A short key that changes when any training file's bytes or any training setting changes."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in files:
        digest.update(Path(path).name.encode())
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()[:16]


def save(path: Path, arrays: dict[str, np.ndarray], info: dict) -> None:
    """Write ``arrays`` and ``info`` to ``path`` via a temporary file and an atomic rename, so that
    a reader (or a second process training the same model) never sees half a file."""
    from safetensors.numpy import save

    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    data = save(arrays, metadata={"info": json.dumps(info, sort_keys=True), "digest": arrays_digest(arrays)})
    atomic_write_bytes(path, data)


class CorruptCache(Exception):
    """A cached file that cannot be read, or whose arrays no longer match the digest written with them."""


def load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and info written by :func:`save`; :class:`CorruptCache` where the file is damaged or altered.
    Files written before digests were kept are read as they are."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            arrays = {k: f.get_tensor(k) for k in f.keys()}
            metadata = f.metadata() or {}
        info = json.loads(metadata.get("info", "{}"))
    except Exception as exc:  # safetensors reports truncation as several error types
        raise CorruptCache(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    if "digest" in metadata and arrays_digest(arrays) != metadata["digest"]:
        raise CorruptCache(f"{path}: its weights differ from the digest written with them (altered or damaged)")
    return arrays, info


def cached(path: Path) -> tuple[dict[str, np.ndarray], dict] | None:
    """What :func:`load` reads from ``path``; None where there is nothing, or a damaged file (removed, with a
    warning, so that the caller builds it again)."""
    if not Path(path).is_file():
        return None
    try:
        return load(path)
    except CorruptCache as exc:
        warnings.warn(f"{exc}; building it again", stacklevel=2)
        Path(path).unlink(missing_ok=True)
        return None
