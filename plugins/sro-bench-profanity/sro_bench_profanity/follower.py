"""The ``profanity`` follower: P(toxic) is alt-profanity-check's ``predict_prob``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Sequence

import numpy as np

from sro_bench import Follower, FollowerContext, UserError


class ProfanityFollower(Follower):
    """A linear SVM (calibrated) trained on profanity, from the alt-profanity-check package.

    It knows nothing of sro-bench's data: it is an independent second opinion, useful for
    ``swap:profanity`` robustness runs. Its model files are loaded by alt-profanity-check itself.
    """

    name = "profanity"

    def __init__(self, threshold: float = 0.5):
        try:
            from profanity_check import predict_prob
        except ImportError as exc:
            raise UserError(f"follower 'profanity' needs alt-profanity-check (pip install alt-profanity-check): {exc}") from None
        self._predict_prob = predict_prob
        self.threshold = threshold

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self._predict_prob(texts), dtype=np.float64).reshape(-1)

    def describe(self) -> dict:
        try:
            package = version("alt-profanity-check")
        except PackageNotFoundError:
            package = None
        return {
            "name": self.name,
            "threshold": self.threshold,
            "model": {"kind": "alt-profanity-check", "version": package},
        }


def build(context: FollowerContext) -> ProfanityFollower:
    """Factory: the context's ``options['threshold']`` may set the threshold (default 0.5)."""
    return ProfanityFollower(threshold=float((context.options or {}).get("threshold", 0.5)))
