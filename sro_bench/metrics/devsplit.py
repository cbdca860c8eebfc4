"""Text the metrics' models must never be trained on: the dev split, and the human evaluation's inputs."""

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


def human_inputs(data_dir: Path) -> frozenset[str]:
    """Normalised inputs of the shared human evaluation (empty when the file is absent)."""
    from .human import HUMAN_FILE, read_human

    path = Path(data_dir) / HUMAN_FILE
    return frozenset(normalise(x) for x in read_human(path).inputs) if path.is_file() else frozenset()
