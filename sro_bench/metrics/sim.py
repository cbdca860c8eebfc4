"""SIM: cosine similarity of input and rewrite MiniLM embeddings, clipped to [0, 1]."""

from __future__ import annotations

import numpy as np

from .base import Metric, MetricContext, MetricResult
from .embed import Encoder, get_encoder


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of unit vectors, clipped to [0, 1] (anti-similarity is no similarity)."""
    return np.clip(np.einsum("ij,ij->i", a, b).astype(np.float64), 0.0, 1.0)


class SimMetric(Metric):
    name = "sim"

    def __init__(self, encoder: Encoder):
        self.encoder = encoder

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        # both calls go through the text-keyed cache: inputs repeat across runs, and the
        # rewrites' pass is shared with FL
        sim = cosine(self.encoder.encode(list(inputs)), self.encoder.encode(list(rewrites)))
        return MetricResult({"sim": sim}, {"sim": float(sim.mean()) if len(sim) else float("nan")},
                            {**self.encoder.describe(), "score": "cosine(input, rewrite) clipped to [0, 1]"})


def sim_factory(context: MetricContext) -> SimMetric:
    return SimMetric(get_encoder(context.device))
