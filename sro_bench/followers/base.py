"""The follower (screener) interface: texts to P(toxic); a verdict is P(toxic) > threshold."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..context import Context
from ..errors import UserError


@dataclass(frozen=True)
class FollowerContext(Context):
    """What a follower factory may need to build (or train) itself: the run's
    :class:`~sro_bench.context.Context`, the sentences never to train on, and follower-specific options."""

    exclude: frozenset[str] = frozenset()  # normalised sentences never to train on (the --exclude list)
    options: dict = field(default_factory=dict)  # follower-specific options


class Follower(abc.ABC):
    """Maps texts to P(toxic). ``verdicts`` gives 1 where a text fails (toxic), 0 where it passes."""

    name: str = "follower"
    threshold: float = 0.5
    #: whether the factory honours ``context.options["label_noise"]`` (the flip-train perturbations)
    retrains_with_label_noise: bool = False

    @abc.abstractmethod
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(toxic) per text, float64, shape ``[N]``."""

    def verdicts(self, texts: Sequence[str]) -> np.ndarray:
        """1 = fails (toxic), 0 = passes; int8, shape ``[N]``."""
        return (checked_probabilities(self, self.predict_proba(texts), len(texts)) > self.threshold).astype(np.int8)

    def reseed(self, seed: int) -> None:
        """Re-derive any random streams from ``seed`` (the game calls it every step); nothing by default."""

    def toxic_vocabulary(self, top: int | None = None, threshold: float | None = None) -> set[str] | None:
        """The words the model itself marks toxic (the ``delete`` rewriter's list), or None where it has none."""
        return None

    def describe(self) -> dict:
        """Metadata for run records (model, training data, held-out figures, perturbations)."""
        return {"name": self.name, "threshold": self.threshold}


def checked_probabilities(follower: Follower, p, n: int) -> np.ndarray:
    """``p`` as P(toxic) of ``n`` texts, or a one-line error naming the follower: a NaN would pass every
    sample (NaN > threshold is False), so the game would teach nothing and say nothing."""
    p = np.asarray(p, dtype=np.float64)
    where = f"follower {follower.name!r} ({type(follower).__module__})"
    if p.shape != (n,):
        raise UserError(f"{where} gave P(toxic) of shape {p.shape} for {n} texts")
    bad = ~(np.isfinite(p) & (p >= 0) & (p <= 1))
    if bad.any():
        i = int(np.argmax(bad))
        raise UserError(f"{where} gave P(toxic) {p[i]} for text {i + 1} of {n} (must be a number in [0, 1])")
    return p

