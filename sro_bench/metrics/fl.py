"""FL's base model: an acceptability classifier trained on clean vs damaged text, offline.

No CoLA model ships offline, so fluency is learnt from clean text. A Kneser-Ney trigram LM is
counted on most of the clean text. On the rest (held out from the LM), a logistic regression
learns clean sentences (label 1) against damaged copies of them (label 0): scrambled (words
shuffled, half the adjacent pairs swapped) and, since suite version 2, locally damaged (a doubled
word, one adjacent swap, a dropped content word, a random word in place of a word, the last 40%
cut), the damage people notice in a rewrite. Its features are the LM's evidence (log-probability,
SLOR, the worst positions, how the sentence ends, unseen n-gram rates, length) and MiniLM's
mean-pooled middle layers (read from the suite's one encoder pass). Its P(fluent) is one signal of
the FL judge, which is calibrated on people (``calibration.py``): the local negatives pull clean
text's P(fluent) down (to about 0.6), which the calibration absorbs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data import NORMAL_FILES, PARADETOX, load_lines, normalise
from ..errors import UserError
from ..util.text import tokens as lm_tokens
from . import store
from .devsplit import dev_keys, splits
from .embed import PROBE_LAYERS, Encoder, encoder_version, get_encoder
from .ngram import TrigramLM

FL_VERSION = 2  # 2: local damage among the negatives; end_slor
LM_FEATURES = ("mean_logp", "mean_slor", "min_slor", "q25_slor", "negative_slor_rate", "sum_slor",
               "sum_negative_slor", "unseen_trigram_rate", "unseen_bigram_rate", "log_length", "end_slor")
C = 0.05
HELDOUT = 2000


def lm_features(lm: TrigramLM, tokens: Sequence[Sequence[str]]) -> np.ndarray:
    """``[N, len(LM_FEATURES)]``: the LM's evidence per token sequence."""
    s = lm.score_tokens(tokens)
    starts, n = s.offsets[:-1], np.diff(s.offsets)  # every sentence has >= 1 position (</s>)
    slor = s.logp - s.logp_unigram  # SLOR: LM log-probability above the word's own frequency
    total = lambda x: np.add.reduceat(x.astype(np.float64), starts)  # noqa: E731
    q25 = np.array([np.quantile(slor[a:b], 0.25) for a, b in zip(s.offsets[:-1], s.offsets[1:])])
    return np.column_stack([
        total(s.logp) / n, total(slor) / n, np.minimum.reduceat(slor, starts), q25,
        total(slor < 0) / n, total(slor), total(np.minimum(slor, 0.0)),
        1.0 - total(s.seen_trigram) / n, 1.0 - total(s.seen_bigram) / n, np.log(n),
        slor[s.offsets[1:] - 1],  # the end of sentence: a cut sentence ends where sentences do not
    ])


def shuffle_words(text: str, rng: np.random.Generator) -> str:
    words = text.split()
    if len(words) > 1:
        perm = rng.permutation(len(words))
        while np.all(perm == np.arange(len(words))):
            perm = rng.permutation(len(words))
        words = [words[i] for i in perm]
    return " ".join(words)


SCRAMBLES = ("shuffle", "swap")
LOCAL_DAMAGE = ("doubled", "swapped", "dropped", "replaced", "cut")


def scramble(text: str, rng: np.random.Generator, kind: str, vocabulary: Sequence[str] = ()) -> str:
    """A disfluent copy of ``text``: ``shuffle`` (all words), ``swap`` (len // 2 adjacent swaps), or one of
    :data:`LOCAL_DAMAGE` (see ``damage.py``); a text too short for the damage is repeated instead."""
    from . import damage

    words = text.split()
    if len(words) < 3:
        return " ".join(words + words)  # a repeated fragment is the only damage a short text allows
    if kind == "shuffle":
        return shuffle_words(text, rng)
    if kind == "swap":
        for _ in range(len(words) // 2):
            i = int(rng.integers(len(words) - 1))
            words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    local = {"doubled": damage.double_word, "swapped": damage.swap_adjacent, "dropped": damage.drop_content_word,
             "replaced": lambda t, r: damage.replace_word(t, r, vocabulary), "cut": damage.cut_tail}
    return local[kind](text, rng) or " ".join(words + words)


@dataclass
class FluencyModel:
    lm: TrigramLM
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    info: dict = field(default_factory=dict)

    def features(self, texts: Sequence[str], views: np.ndarray | None = None,
                 encoder: Encoder | None = None) -> np.ndarray:
        """LM features and the MiniLM probe layers; ``views`` is ``Encoder.encode_views(texts)``."""
        if views is None:
            views = (encoder or get_encoder()).encode_views(texts)
        lm = lm_features(self.lm, [lm_tokens(t) for t in texts])
        return np.hstack([lm, views[:, 1:].reshape(len(texts), -1)])

    def score(self, texts: Sequence[str], views: np.ndarray | None = None,
              encoder: Encoder | None = None) -> np.ndarray:
        """P(fluent) per text, float64 in [0, 1]; a text with no word at all scores 0."""
        texts = list(texts)
        if not texts:
            return np.zeros(0)
        z = (self.features(texts, views, encoder) - self.mean) / self.scale
        p = 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))
        has_word = np.array([any(tok[0].isalnum() for tok in lm_tokens(t)) for t in texts])
        return np.where(has_word, p, 0.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {**self.lm.to_arrays(), "clf.mean": self.mean, "clf.scale": self.scale,
                "clf.coef": self.coef, "clf.intercept": np.array([self.intercept])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], info: dict) -> "FluencyModel":
        return cls(TrigramLM.from_arrays(arrays), arrays["clf.mean"], arrays["clf.scale"],
                   arrays["clf.coef"], float(arrays["clf.intercept"][0]), info)


def training_files(data_dir: Path) -> list[Path]:
    files = [Path(data_dir) / f for f in NORMAL_FILES] + [Path(data_dir) / PARADETOX]
    for f in files:
        if not f.is_file():
            raise UserError(f"{f}: needed to train the FL model (pass --data-dir)")
    return files


def training_text(data_dir: Path) -> list[str]:
    """Clean sentences for FL: the Dale et al. 2021 non-toxic files plus the ParaDetox *train*
    split's human rewrites, minus anything matching the dev split."""
    data_dir = Path(data_dir)
    training_files(data_dir)
    texts = [t for f in NORMAL_FILES for t in load_lines(data_dir / f).inputs]
    train, _ = splits(data_dir)
    texts += [r for refs in train.references for r in refs]
    dev = dev_keys(data_dir)
    return [t for t in dict.fromkeys(texts) if normalise(t) not in dev]


def train_fl(texts: Sequence[str], *, encoder: Encoder | None = None, heldout: int = HELDOUT,
             seed: int = 0, info: dict | None = None) -> FluencyModel:
    """Count the LM on all but ``heldout`` of ``texts``; fit the classifier on those held out."""
    from sklearn.linear_model import LogisticRegression

    encoder = encoder or get_encoder()
    rng = np.random.default_rng(seed)
    texts = [t for t in texts if lm_tokens(t)]
    order = rng.permutation(len(texts))
    heldout = min(heldout, len(texts) // 4)
    held = [texts[i] for i in order[:heldout]]
    lm = TrigramLM.train([lm_tokens(texts[i]) for i in order[heldout:]])
    vocabulary = sorted({w for t in texts[:20000] for w in t.split() if w.isalpha()})
    negatives = [scramble(t, rng, kind, vocabulary) for kind in SCRAMBLES + LOCAL_DAMAGE for t in held]
    sample = held + negatives
    probe = FluencyModel(lm, np.zeros(1), np.ones(1), np.zeros(1), 0.0)
    x = probe.features(sample, encoder.encode_views(sample, cache=False))
    y = np.r_[np.ones(len(held)), np.zeros(len(negatives))]
    mean, scale = x.mean(0), x.std(0) + 1e-6
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit((x - mean) / scale, y)
    meta = dict(info or {})
    meta.update({
        "version": FL_VERSION,
        "model": f"logistic regression (C={C}, balanced classes) over {len(LM_FEATURES)} features of a "
                 f"Kneser-Ney trigram LM and MiniLM layers {list(PROBE_LAYERS)} mean-pooled",
        "lm_features": list(LM_FEATURES), "lm_sentences": len(texts) - heldout, "lm_vocabulary": lm.V,
        "classifier_sentences": heldout,
        "negatives": "per held-out sentence: one copy with words shuffled, one with len//2 adjacent swaps, and one "
                     "each with a doubled word, one adjacent swap, a dropped content word, a random word in place "
                     "of a word, the last 40% cut",
        "classifier_train_accuracy": round(float(clf.score((x - mean) / scale, y)), 4),
        "encoder": encoder.describe(), "seed": seed,
    })
    return FluencyModel(lm, mean, scale, clf.coef_[0].astype(np.float64), float(clf.intercept_[0]), meta)


def load_or_train_fl(data_dir: str | Path | None, cache_dir: str | Path | None, *, seed: int = 0) -> FluencyModel:
    """The FL model for ``data_dir``, trained on first use and cached as safetensors."""
    from ..util.paths import resolve_data_dir

    return _load_or_train(Path(resolve_data_dir(data_dir)).resolve(), str(cache_dir) if cache_dir else None, seed)


@lru_cache(maxsize=8)
def _load_or_train(data_dir: Path, cache_dir: str | None, seed: int) -> FluencyModel:
    files = training_files(data_dir)
    key = store.fingerprint(files, {"version": FL_VERSION, "seed": seed, "layers": list(PROBE_LAYERS),
                                    "encoder": encoder_version()})
    path = store.metrics_cache(cache_dir, "fl") / f"fl-{key}.safetensors"
    found = store.cached(path)
    if found is not None:
        model = FluencyModel.from_arrays(*found)
    else:
        sources = [f.name for f in files[:-1]] + [f"{PARADETOX} (train-split human rewrites only)"]
        model = train_fl(training_text(data_dir), seed=seed, info={
            "training_data": sources, "excluded": "sentences matching dev-split inputs or references"})
        store.save(path, model.to_arrays(), model.info)
    model.info["cache_file"] = str(path)
    model.info["judge_id"] = path.stem  # its version and a digest of its data and settings
    return model
