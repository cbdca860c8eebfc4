"""The screener commands' settings: no numpy, so that the CLI's help stays fast."""

from __future__ import annotations

from dataclasses import dataclass

from ..util.paths import DataPaths
from ..util.settings import setting


@dataclass
class ScreenerConfig(DataPaths):
    """`sro-bench screener train` and `eval`: the NB-LR screener for these data and cache directories."""

    seed: int = setting(0, "the run seed the screener is trained for (only label-noise perturbations use it)")
    force: bool = setting(False, "retrain even if a cached screener exists")
