"""Built-in datasets, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from pathlib import Path

from ..hookspecs import hookimpl
from . import datasets as d


def _paradetox_split(part: int):
    def load(data_dir: Path) -> d.Dataset:
        return d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))[part]

    return load


def _lines(filename: str, name: str):
    return lambda data_dir: d.load_lines(data_dir / filename, name=name)


@hookimpl
def register_datasets(register):
    register("paradetox", lambda data_dir: d.load_paradetox(data_dir / d.PARADETOX),
             "ParaDetox: 11,927 toxic sentences with 1-3 human rewrites each")
    register("paradetox-train", _paradetox_split(0), "ParaDetox minus the dev split (training pairs)")
    register("paradetox-dev", _paradetox_split(1), "Fixed, seeded 671-row ParaDetox dev split: the default evaluation set")
    register("dirty", lambda data_dir: d.load_dirty(data_dir / d.DIRTY),
             "14,869 toxic Jigsaw comments (dirty.csv): SRO's non-parallel training inputs")
    register("cannot-rewrite", lambda data_dir: d.load_cannot_rewrite(data_dir / d.CANNOT_REWRITE),
             "ParaDetox sentences workers would not rewrite because they are toxic")
    register("emnlp-dev-toxic", _lines(d.TOXIC_FILES[0], "emnlp-dev-toxic"), "Dale et al. 2021 dev toxic sentences")
    register("emnlp-test-toxic", _lines(d.TOXIC_FILES[1], "emnlp-test-toxic"), "Dale et al. 2021 test-10k toxic sentences")
    register("emnlp-dev-normal", _lines(d.NORMAL_FILES[0], "emnlp-dev-normal"), "Dale et al. 2021 dev non-toxic sentences")
    register("emnlp-test-normal", _lines(d.NORMAL_FILES[1], "emnlp-test-normal"), "Dale et al. 2021 test-10k non-toxic sentences")
    register("paradetox-hub", lambda data_dir: d.load_hub_paradetox(),
             "ParaDetox from the Hugging Face hub (s-nlp/paradetox); needs network and `datasets`")
