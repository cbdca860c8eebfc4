"""The dev split as the metrics see it: text their models must never be trained on."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..data import PARADETOX, Dataset, load_paradetox, normalise, split_dev


@lru_cache(maxsize=4)
def splits(data_dir: Path) -> tuple[Dataset, Dataset]:
    """(paradetox-train, paradetox-dev), as :func:`sro_bench.data.split_dev` makes them."""
    return split_dev(load_paradetox(Path(data_dir) / PARADETOX))


def dev_keys(data_dir: Path) -> frozenset[str]:
    """Normalised dev-split inputs and references."""
    _, dev = splits(Path(data_dir))
    return frozenset(normalise(t) for t in dev.inputs) | frozenset(
        normalise(r) for refs in dev.references for r in refs)
