"""The built-in follower ``nblr-char``: NB-LR over word 1-2-grams *and* character n-grams.

``nblr`` gives an unknown word no feature at all, so a leader can hide "idiot" as "idiotation".
Here TF-IDF ``char_wb`` 2-5-grams sit beside ``nblr``'s word features (each block l2-normalised on
its own, one NB ratio and one logistic regression over both), so a garbled word still shares most
of its character n-grams with the word it hides. Corpus, held-out split, options and cache are
``nblr``'s (:mod:`~sro_bench.followers.recipe`, :func:`~sro_bench.followers.nblr.cached_screener`),
under ``<cache>/followers/nblr-char-<key>/`` as JSON + safetensors.

Scoring is vectorised like :class:`~sro_bench.followers.model.NBLRModel` (whose scorer is the word
block here): the batch becomes one array of character ids, every n-gram one int64 key (the ids of
its characters side by side), found in the vocabulary by binary search. Tests check it against
scikit-learn.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError
from .base import Follower, FollowerContext
from .model import (
    FAST_PATTERN,
    MODEL_FILE,
    VECTORIZER,
    NBLRModel,
    build_vectorizer,
    check_labels,
    fit_nb_logreg,
    read_model_files,
    tfidf_score,
    vocabulary_list,
    write_model_files,
)
from .nblr import cached_screener, describe_screener
from .recipe import recipe_options
from .tokenize import SEPARATOR, preprocess_batch

NAME = "nblr-char"
FORMAT = "sro-bench-nblr-char/1"
# 2-5 over 3-5: held-out accuracy 0.9582 vs 0.9578 and clean-reference pass rate 0.974 vs 0.969 on
# ../shared/data, garbled words caught alike; both train in about the same time.
CHAR_VECTORIZER = {  # the word block's settings (VECTORIZER) over character 2-5-grams within words
    **{k: v for k, v in VECTORIZER.items() if k not in ("token_pattern", "seed_tokenizer_pattern")},
    "analyzer": "char_wb", "ngram_range": [2, 5],
}
_CHUNK = 10_000  # texts per numpy pass: a char array is ~4x the text, and dirty.csv's comments are long
_SPACES = re.compile(r"[^\S\n]+")  # whitespace runs other than the text separator


class CharNBLRModel:
    """Word block (an :class:`NBLRModel` with intercept 0) + char block + one intercept."""

    def __init__(self, words: NBLRModel, chars: list[str], idf, r, coef, intercept: float, settings: dict):
        self.words, self.chars, self.settings = words, list(chars), settings
        self.idf, self.r, self.coef = (np.ascontiguousarray(a, dtype=np.float64) for a in (idf, r, coef))
        if not (self.idf.shape == self.r.shape == self.coef.shape == (len(self.chars),)):
            raise ValueError(f"char weights do not match a vocabulary of {len(self.chars)} n-grams")
        if words.intercept != 0.0:
            raise ValueError("the word block must have intercept 0 (the model has one intercept)")
        self.intercept = float(intercept)
        self._index()

    def _index(self) -> None:
        lo, hi = settings_range(self.settings)
        if lo > 3:  # char_wb keeps a whole padded word shorter than min_n: not reproduced here
            raise ValueError(f"char n-grams from {lo} are not supported (at most 3)")
        alphabet = sorted({c for g in self.chars for c in g})
        self._bits = max(1, len(alphabet).bit_length())  # ids 1..K; 0 = unknown or separator
        if hi * self._bits > 63:
            raise ValueError(f"{len(alphabet)} distinct characters do not fit {hi}-gram keys in 63 bits")
        ids = {c: i + 1 for i, c in enumerate(alphabet)}
        codes = np.array([ord(c) for c in alphabet], dtype=np.int64)
        # Code point -> id; any code point past the last known one is clipped onto the final 0.
        self._table = np.zeros(int(codes.max(initial=0)) + 2, dtype=np.int64)
        self._table[codes] = np.arange(1, len(alphabet) + 1)
        keys = np.array([_key(g, ids, self._bits) for g in self.chars], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._keys, self._cols = keys[order], order.astype(np.int64)
        if len(keys) and (np.diff(self._keys) == 0).any():
            raise ValueError("duplicate char n-grams in the vocabulary")
        self._lo, self._hi = lo, hi
        self._w = self.coef * self.r

    # --- scoring ---------------------------------------------------------------------------

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """The logistic regression's logit per text."""
        texts = texts if isinstance(texts, list) else list(texts)
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            out[start : start + _CHUNK] = self.words.decision_function(chunk) + self.char_scores(chunk) + self.intercept
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(toxic) per text."""
        return 1.0 / (1.0 + np.exp(-self.decision_function(texts)))

    def char_scores(self, texts: list[str]) -> np.ndarray:
        """The char block's share of each text's logit."""
        n = len(texts)
        if not n:
            return np.zeros(0)
        # As char_wb: words are maximal non-whitespace runs, each padded by one space; here padding
        # spaces are shared between neighbours, and a key with a space inside matches no n-gram.
        s = _SPACES.sub(" ", " " + preprocess_batch(texts).replace(SEPARATOR, f" {SEPARATOR} ") + " ")
        codes = np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        ids = self._table[np.minimum(codes, len(self._table) - 1)]
        doc = np.cumsum(codes == ord(SEPARATOR))
        # An id 0 (unknown, separator) inside a key matches nothing, but in front it would read as
        # a shorter n-gram: such starts are dropped.
        start = ids != 0
        key, rows, cols = ids, [], []
        for size in range(2, self._hi + 1):
            key = (key[:-1] << self._bits) | ids[size - 1 :]
            if size < self._lo:
                continue
            ok = start[: len(key)]
            k = key[ok]
            pos = np.searchsorted(self._keys, k)
            pos[pos == len(self._keys)] = 0
            hit = self._keys[pos] == k
            cols.append(self._cols[pos[hit]])
            rows.append(doc[: len(key)][ok][hit])
        if not cols:
            return np.zeros(n)
        return tfidf_score(np.concatenate(rows), np.concatenate(cols), n, self.idf, self._w)

    # --- saving ----------------------------------------------------------------------------

    def save(self, directory: Path, metadata: dict | None = None) -> None:
        """``model.json`` (settings, both vocabularies) and ``weights.safetensors``; no pickle."""
        w = self.words
        doc = {"format": FORMAT, "settings": self.settings, "word_vocabulary": w.vocabulary,
               "char_vocabulary": self.chars, "metadata": metadata or {}}
        weights = {"word_idf": w.idf, "word_r": w.r, "word_coef": w.coef, "char_idf": self.idf, "char_r": self.r,
                   "char_coef": self.coef, "intercept": np.array([self.intercept])}
        write_model_files(directory, doc, weights)

    @classmethod
    def load(cls, directory: Path) -> tuple[CharNBLRModel, dict]:
        """The model and its saved metadata; a damaged file is a DataError naming it."""
        directory = Path(directory)
        doc, w = read_model_files(directory, FORMAT)
        settings = doc.get("settings", {})
        if settings.get("vectorizer", {}).get("token_pattern") != FAST_PATTERN:
            raise DataError(directory / MODEL_FILE, "saved with a different tokenizer; retrain it")
        try:
            words = NBLRModel(doc["word_vocabulary"], w["word_idf"], w["word_r"], w["word_coef"], 0.0,
                              settings["vectorizer"])
            model = cls(words, doc["char_vocabulary"], w["char_idf"], w["char_r"], w["char_coef"],
                        float(w["intercept"][0]), settings)
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise DataError(directory, f"inconsistent saved model ({exc})") from None
        return model, doc.get("metadata", {})


def _key(gram: str, ids: dict[str, int], bits: int) -> int:
    k = 0
    for c in gram:
        k = (k << bits) | ids[c]
    return k


def settings_range(settings: dict) -> tuple[int, int]:
    lo, hi = settings["char_vectorizer"]["ngram_range"]
    return int(lo), int(hi)


# --- fitting -----------------------------------------------------------------------------------


def build_char_vectorizer():
    """scikit-learn's ``TfidfVectorizer`` for the char block (:data:`CHAR_VECTORIZER`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    s = CHAR_VECTORIZER
    return TfidfVectorizer(
        analyzer=s["analyzer"], ngram_range=tuple(s["ngram_range"]), min_df=s["min_df"], max_df=s["max_df"],
        lowercase=s["lowercase"], strip_accents=s["strip_accents"], use_idf=s["use_idf"],
        smooth_idf=s["smooth_idf"], sublinear_tf=s["sublinear_tf"], norm=s["norm"], dtype=np.float64,
    )


def fit_nblr_char(texts: Sequence[str], labels: Sequence[int], *, nb_norm: str = "seed",
                  classifier: dict | None = None) -> CharNBLRModel:
    """Fit on ``texts`` (1 = toxic): [word tf-idf | char tf-idf], NB ratios, logistic regression."""
    import scipy.sparse as sp

    y = check_labels(texts, labels)
    texts = list(texts)
    wv, cv = build_vectorizer(), build_char_vectorizer()
    xw, xc = wv.fit_transform(texts), cv.fit_transform(texts)
    r, coef, intercept, fitted = fit_nb_logreg(sp.hstack([xw, xc], format="csr"), y, nb_norm, classifier)
    nw = xw.shape[1]
    words = NBLRModel(vocabulary_list(wv), wv.idf_, r[:nw], coef[:nw], 0.0, dict(VECTORIZER))
    settings = {"vectorizer": VECTORIZER, "char_vectorizer": CHAR_VECTORIZER, "nb_norm": nb_norm, "classifier": fitted}
    return CharNBLRModel(words, vocabulary_list(cv), cv.idf_, r[nw:], coef[nw:], intercept, settings)


# --- the follower ------------------------------------------------------------------------------


class CharNBLRScreener(Follower):
    """P(toxic) from a fitted :class:`CharNBLRModel`; fails above 0.5."""

    name = NAME
    retrains_with_label_noise = True  # its factory honours the label_noise option

    def __init__(self, model: CharNBLRModel, metadata: dict | None = None, threshold: float = 0.5):
        self.model = model
        self.metadata = metadata or {}
        self.threshold = threshold
        self._alone: dict[str, float] | None = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(texts)

    def toxic_vocabulary(self, top: int | None = None, threshold: float | None = None) -> set[str]:
        """Words of the word vocabulary this screener fails on their own; the ``top`` most toxic if given."""
        t = self.threshold if threshold is None else threshold
        if not 0.0 < t < 1.0:
            return set()
        if self._alone is None:  # no closed form with char features: score each word once
            words = [g for g in self.model.words.vocabulary if " " not in g and any(ch.isalpha() for ch in g)]
            self._alone = dict(zip(words, self.model.predict_proba(words).tolist()))
        ranked = sorted(((p, g) for g, p in self._alone.items() if p > t), reverse=True)
        return {g for _, g in (ranked if top is None else ranked[:top])}

    def describe(self) -> dict:
        m = self.model
        return describe_screener(self, {
            "kind": "tfidf-word-char-nb-logreg",
            "features": len(m.words.vocabulary) + len(m.chars),
            "word_features": len(m.words.vocabulary),
            "char_features": len(m.chars),
            "char_ngrams": m.settings["char_vectorizer"]["analyzer"] + " " + "-".join(map(str, settings_range(m.settings))),
        })


def char_recipe(context: FollowerContext) -> dict:
    """``nblr``'s recipe and options, plus the char block: the cache key differs from ``nblr``'s."""
    return {**recipe_options(context, NAME), "follower": NAME, "char_vectorizer": CHAR_VECTORIZER}


def train_char_screener(context: FollowerContext, *, force: bool = False, progress: bool = True) -> CharNBLRScreener:
    """The ``nblr-char`` screener for ``context``: loaded from the cache, else trained and cached."""

    def fit(texts, labels, recipe):
        return fit_nblr_char(texts, labels, nb_norm=recipe["nb_norm"])

    return cached_screener(context, NAME, char_recipe(context), fit, load_char_screener, CharNBLRScreener,
                           force=force, progress=progress,
                           fitting="TF-IDF word 1-2-grams + char_wb n-grams + NB + logistic regression")


def load_char_screener(directory: str | os.PathLike) -> CharNBLRScreener:
    """A screener saved by :func:`train_char_screener` (or :meth:`CharNBLRModel.save`)."""
    model, meta = CharNBLRModel.load(Path(directory))
    return CharNBLRScreener(model, meta)

