"""The metrics' on-disk cache: safetensors arrays plus JSON metadata, written atomically, never pickled."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np

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

    data = save({k: np.ascontiguousarray(v) for k, v in arrays.items()}, metadata={"info": json.dumps(info, sort_keys=True)})
    atomic_write_bytes(path, data)


def load(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and info written by :func:`save`."""
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        arrays = {k: f.get_tensor(k) for k in f.keys()}
        info = json.loads((f.metadata() or {}).get("info", "{}"))
    return arrays, info
