"""Data: loaders for ../shared/data, the dev split and the exclusion rule."""

from __future__ import annotations

from pathlib import Path

from .datasets import (
    CANNOT_REWRITE,
    DEV_SEED,
    DEV_SIZE,
    DIRTY,
    NORMAL_FILES,
    PARADETOX,
    TOXIC_FILES,
    Dataset,
    exclude,
    load_cannot_rewrite,
    load_dirty,
    load_eval_file,
    load_hub_paradetox,
    load_lines,
    load_paradetox,
    read_exclusion_list,
    split_dev,
)
from .readers import normalise, read_lines, read_text, split_lines  # noqa: F401


def load_dataset(name: str, data_dir: Path) -> Dataset:
    """A registered dataset by name (``sro-bench list`` shows them)."""
    from ..plugins import registry

    return registry().get("dataset", name).factory(Path(data_dir))
