"""What kind of edit each rewrite is: a copy, a pure deletion, or one that adds a word.

J cannot tell a rewriter from a word filter: deleting the toxic words scores well on STA and SIM. Human
references mostly rewrite (on ParaDetox most add a word the input lacks), so these shares, printed beside
the reference row, show which kind of system a row is. Word-level, over ``sro_bench.training.meter.words``.
"""

from __future__ import annotations

import numpy as np

from ..util.text import edit_flags
from .base import Metric, MetricContext, MetricResult

KEYS = ("identical", "deletion", "addition")


class EditsMetric(Metric):
    name = "edits"
    # Neither more nor less is better in itself: the reference row is the yardstick.
    figures = {key: {"format": ".3f", "higher_is_better": None} for key in KEYS}

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        flags = np.array([edit_flags(x, y) for x, y in zip(inputs, rewrites)], dtype=np.float64).reshape(-1, 3)
        sentence = dict(zip(KEYS, flags.T))
        return MetricResult(sentence, {k: float(v.mean()) for k, v in sentence.items()}, {
            "identical": "the rewrite has the input's words, in order",
            "deletion": "the rewrite is the input with at least one word left out and none added",
            "addition": "the rewrite has a word that the input does not",
            "words": "lowercased whitespace tokens, surrounding punctuation stripped, tokens without a letter dropped",
        })


def edits_factory(context: MetricContext) -> EditsMetric:
    return EditsMetric()
