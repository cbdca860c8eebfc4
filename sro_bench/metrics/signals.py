"""The evidence the judges weigh: cheap, offline, per-(input, rewrite) numbers, none of them learnt from people.

Each judge (STA, SIM, FL) is a calibration over a few of these (``calibration.py``); a signal is named,
documented here, and computed only when a judge asks for it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from ..util.text import tokens
from .embed import Encoder
from .fl import LM_FEATURES, FluencyModel, lm_features
from .sta import StaModel

# words that turn a statement round; "not" put in for a toxic word is Mask&Infill's commonest fill
NEGATIONS = frozenset("not no never nt dont doesnt didnt isnt arent wasnt werent cant wont nothing nobody none".split())

# name -> (what it is, the sign its weight may take: +1 more is better, -1 more is worse, 0 either). The signs
# are the judges' priors: no calibration may learn that repeated words read better or praise keeps meaning.
SIGNALS = {
    "p_toxic": ("the char-n-gram STA model's P(toxic) of the rewrite", -1),
    "p_toxic_input": ("the same model's P(toxic) of the input (how much there was to remove)", 0),
    "sentiment": ("VADER compound sentiment of the rewrite, in [-1, 1]", +1),
    "cosine": ("cosine of the input's and the rewrite's MiniLM sentence embeddings", +1),
    "positive_insertions": ("summed VADER valence of the positive words the rewrite adds (an insult turned into "
                            "praise loses the meaning)", -1),
    "negation_change": ("how many negations were added or removed (a flipped statement loses the meaning)", -1),
    "fl_base": ("the clean-vs-scrambled FL classifier's P(fluent) of the rewrite", +1),
    "mean_slor": ("the trigram LM's mean SLOR over the rewrite's words", +1),
    "min_slor": ("the trigram LM's lowest SLOR in the rewrite (its worst spot)", +1),
    "end_slor": ("the trigram LM's SLOR of the rewrite's end (a cut sentence ends where sentences do not)", +1),
    "sum_negative_slor": ("the rewrite's summed negative SLOR (every improbable spot counts)", +1),
    "mean_slor_change": ("mean SLOR of the rewrite minus the input's (fluency lost or gained by the edit)", +1),
    "unseen_bigram_change": ("unseen-bigram rate of the rewrite minus the input's", -1),
    "repeats": ("adjacent repeated words in the rewrite (\"compelling compelling\")", -1),
}


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


class Signals:
    """Computes named signals for aligned inputs and rewrites from the suite's base models."""

    def __init__(self, sta: StaModel, fluency: FluencyModel, encoder: Encoder):
        self.sta, self.fluency, self.encoder = sta, fluency, encoder
        self._compute: dict[str, Callable] = {
            "p_toxic": lambda x, y: self.sta.p_toxic(y),
            "p_toxic_input": lambda x, y: self.sta.p_toxic(x),
            "sentiment": lambda x, y: np.array([_vader().polarity_scores(t)["compound"] for t in y]),
            "cosine": self._cosine,
            "positive_insertions": self._positive_insertions,
            "negation_change": self._negation_change,
            "fl_base": lambda x, y: self.fluency.score(y, None, self.encoder),
            "repeats": lambda x, y: np.array([sum(a == b for a, b in zip(t, t[1:])) for t in map(tokens, y)], float),
        }

    def compute(self, names: Sequence[str], inputs: Sequence[str], rewrites: Sequence[str]) -> np.ndarray:
        """``[N, len(names)]`` float64, columns in the order of ``names``."""
        inputs, rewrites = list(inputs), list(rewrites)
        lm = None
        columns = []
        for name in names:
            if name in self._compute:
                columns.append(np.asarray(self._compute[name](inputs, rewrites), dtype=np.float64))
                continue
            if name not in SIGNALS:
                raise KeyError(f"unknown signal {name!r}")
            lm = lm or self._lm(inputs, rewrites)
            columns.append(lm[name])
        return np.column_stack(columns) if columns else np.zeros((len(rewrites), 0))

    def _cosine(self, inputs, rewrites):
        a, b = self.encoder.encode(inputs), self.encoder.encode(rewrites)
        return np.einsum("ij,ij->i", a, b).astype(np.float64)

    def _lm(self, inputs, rewrites) -> dict[str, np.ndarray]:
        at = {name: i for i, name in enumerate(LM_FEATURES)}
        y = lm_features(self.fluency.lm, [tokens(t) for t in rewrites])
        x = lm_features(self.fluency.lm, [tokens(t) for t in inputs])
        return {
            "mean_slor": y[:, at["mean_slor"]], "min_slor": y[:, at["min_slor"]], "end_slor": y[:, at["end_slor"]],
            "sum_negative_slor": y[:, at["sum_negative_slor"]],
            "mean_slor_change": y[:, at["mean_slor"]] - x[:, at["mean_slor"]],
            "unseen_bigram_change": y[:, at["unseen_bigram_rate"]] - x[:, at["unseen_bigram_rate"]],
        }

    @staticmethod
    def _positive_insertions(inputs, rewrites):
        lexicon = _vader().lexicon
        out = []
        for x, y in zip(inputs, rewrites):
            kept = set(tokens(x))
            out.append(sum(max(0.0, lexicon.get(w, 0.0)) for w in tokens(y) if w not in kept))
        return np.array(out, dtype=np.float64)

    @staticmethod
    def _negation_change(inputs, rewrites):
        count = lambda t: sum(w in NEGATIONS for w in tokens(t))  # noqa: E731
        return np.array([abs(count(y) - count(x)) for x, y in zip(inputs, rewrites)], dtype=np.float64)
