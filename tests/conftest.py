"""Shared fixtures: the data directory (tests that need it skip where it is absent) and quiet offline runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

from sro_bench.util.paths import resolve_data_dir  # noqa: E402

# Test models are tiny: one thread is faster than two, and immune to a busy machine's oversubscription.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    try:
        return resolve_data_dir(None)
    except Exception as exc:  # noqa: BLE001 - any reason the data is unavailable
        pytest.skip(f"../shared/data is not available ({exc}); set SRO_BENCH_DATA to run data tests")


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
