"""The metric interface: each metric scores rewrites against inputs and (optionally) references."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..context import Context


# The suite's trained judges (STA, FL) are one fixed artefact per suite version and data: a run's seed
# never changes them, so every run is scored by the same judges.
JUDGE_SEED = 0
# Changes whenever what a judge measures changes; records carry it and their judges' ids, so scores of two
# versions never share a table. 2: STA, SIM and FL calibrated on people's labels (calibration.py).
SUITE_VERSION = 2


@dataclass(frozen=True)
class MetricContext(Context):
    """What a metric factory gets: the run's :class:`~sro_bench.context.Context`. Its seed is for metrics that
    sample; the built-in judges ignore it (``JUDGE_SEED``), so a run's seed never moves its scores. ``models``
    holds (role, local copy) pairs for a judge set's published models (``--sta-model`` and the like)."""

    models: tuple[tuple[str, str], ...] = ()


@dataclass
class MetricResult:
    sentence: dict[str, np.ndarray] = field(default_factory=dict)  # per-sentence scores, shape [N]
    corpus: dict[str, float] = field(default_factory=dict)  # corpus-level scores (BLEU, chrF, means)
    info: dict = field(default_factory=dict)  # which model, trained on what


class Metric(abc.ABC):
    name: str = "metric"
    needs_references: bool = False
    #: how a corpus figure (by key) is shown in tables, e.g. ``{"bleu": {"format": ".1f"}}``; ".3f" otherwise
    figures: dict[str, dict] = {}

    @abc.abstractmethod
    def score(
        self,
        inputs: Sequence[str],
        rewrites: Sequence[str],
        references: Sequence[Sequence[str]] | None = None,
    ) -> MetricResult:
        """Score rewrites (aligned with inputs; references are 1+ per input, or None)."""
