"""The seed's screener model: TF-IDF word 1-2-grams, naive-Bayes log-count ratios, logistic regression.

:class:`NBLRModel` is the fitted model as plain arrays; it is saved as JSON (vocabulary, settings)
plus safetensors (idf, r, coef, intercept), never pickled. Scoring runs on its own vectorised
sparse pipeline (one regex pass over the batch and one dict lookup per token, the rest in numpy),
which agrees with scikit-learn's ``TfidfVectorizer`` + ``LogisticRegression`` to rounding (tests
check it). The follower built on it is :class:`sro_bench.followers.nblr.NBLRScreener`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError
from ..util.digests import arrays_digest
from .tokenize import FAST_PATTERN, SEED_PATTERN, SEPARATOR, analyse_batch, fast_tokenize

FORMAT = "sro-bench-nblr/1"
MODEL_FILE = "model.json"
WEIGHTS_FILE = "weights.safetensors"

# The seed notebook's vectorizer (judge_model/judgmodel.ipynb) and classifier.
VECTORIZER = {
    "ngram_range": [1, 2],
    "min_df": 3,
    "max_df": 0.9,
    "lowercase": True,
    "strip_accents": "unicode",
    "use_idf": True,
    "smooth_idf": True,
    "sublinear_tf": True,
    "norm": "l2",
    "token_pattern": FAST_PATTERN,
    "seed_tokenizer_pattern": SEED_PATTERN,
}
# The seed calls LogisticRegression(C=4, dual=False): lbfgs, whose default 100 iterations stopped
# short there; running it to convergence gives the optimum the seed was aiming at.
CLASSIFIER = {"C": 4.0, "solver": "lbfgs", "max_iter": 2000, "tol": 1e-4}
# How the NB ratio normalises the class sums: "seed" divides by (rows in the class + 1), as the
# seed's pr() does; "l1" divides by the class sum's L1 norm (Wang & Manning's NBSVM).
NB_NORMS = ("seed", "l1")

_CHUNK = 50_000  # texts scored per numpy pass: bounds memory, large enough to amortise overhead


@dataclass
class NBLRModel:
    """A fitted NB-LR model: column ``j`` is n-gram ``vocabulary[j]``."""

    vocabulary: list[str]
    idf: np.ndarray
    r: np.ndarray
    coef: np.ndarray
    intercept: float
    settings: dict = field(default_factory=lambda: dict(VECTORIZER))

    def __post_init__(self) -> None:
        self.idf, self.r, self.coef = (np.ascontiguousarray(a, dtype=np.float64) for a in (self.idf, self.r, self.coef))
        n = len(self.vocabulary)
        if not (self.idf.shape == self.r.shape == self.coef.shape == (n,)):
            raise ValueError(f"weights do not match a vocabulary of {n} n-grams")
        self.intercept = float(self.intercept)
        self._index()

    # --- scoring ---------------------------------------------------------------------------

    def _index(self) -> None:
        """Integer tables for scoring: tokens to ids, unigram and bigram ids to columns."""
        tokens: dict[str, int] = {}
        unigrams, bigrams = [], []
        for column, gram in enumerate(self.vocabulary):
            parts = gram.split(" ")
            for part in parts:
                tokens.setdefault(part, len(tokens))
            (unigrams if len(parts) == 1 else bigrams).append((parts, column))
        # Two ids past the real tokens: "unknown token" and the batch separator (never a token:
        # tokens hold no whitespace), so that every lookup is one dict.get with no branching.
        n = len(tokens)
        self._unknown, self._sep, self._width = n, n + 1, n + 2
        tokens[SEPARATOR] = self._sep
        self._tokens = tokens
        uni = np.full(n + 2, -1, dtype=np.int64)
        for (word,), column in unigrams:
            uni[tokens[word]] = column
        keys = np.array([tokens[a] * self._width + tokens[b] for (a, b), _ in bigrams], dtype=np.int64)
        columns = np.array([column for _, column in bigrams], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        self._uni, self._bi_keys, self._bi_cols = uni, keys[order], columns[order]
        self._w = self.coef * self.r  # the weight of one unit of normalised tf-idf, as the LR sees it

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """The logistic regression's logit per text."""
        texts = texts if isinstance(texts, list) else list(texts)
        out = np.empty(len(texts), dtype=np.float64)
        for start in range(0, len(texts), _CHUNK):
            out[start : start + _CHUNK] = self._decision(texts[start : start + _CHUNK])
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(toxic) per text, as ``LogisticRegression.predict_proba(...)[:, 1]``."""
        z = self.decision_function(texts)
        return 1.0 / (1.0 + np.exp(-z))

    def _decision(self, texts: list[str]) -> np.ndarray:
        n = len(texts)
        flat = analyse_batch(texts)
        ids = np.fromiter(map(self._tokens.get, flat, repeat(self._unknown)), dtype=np.int64, count=len(flat))
        sep = ids == self._sep
        doc = np.cumsum(sep) - sep  # separators seen before each token: the text it belongs to
        ids, doc = ids[~sep], doc[~sep]
        # Unigrams.
        uni_cols = self._uni[ids]
        keep = uni_cols >= 0
        cols, rows = [uni_cols[keep]], [doc[keep]]
        # Bigrams: adjacent known tokens of the same text.
        if len(ids) > 1 and len(self._bi_keys):
            left, right = ids[:-1], ids[1:]
            ok = (doc[:-1] == doc[1:]) & (left != self._unknown) & (right != self._unknown)
            keys = left[ok] * self._width + right[ok]
            pos = np.searchsorted(self._bi_keys, keys)
            pos[pos == len(self._bi_keys)] = 0
            hit = self._bi_keys[pos] == keys
            cols.append(self._bi_cols[pos[hit]])
            rows.append(doc[:-1][ok][hit])
        return tfidf_score(np.concatenate(rows), np.concatenate(cols), n, self.idf, self._w) + self.intercept

    # --- inspection ------------------------------------------------------------------------

    def unigram_weights(self) -> dict[str, float]:
        """Effective weight ``coef * r`` of every unigram column."""
        return {g: float(self._w[j]) for j, g in enumerate(self.vocabulary) if " " not in g}

    # --- saving ----------------------------------------------------------------------------

    def save(self, directory: Path, metadata: dict | None = None) -> None:
        """Write ``model.json`` and ``weights.safetensors`` into ``directory`` (no pickle)."""
        doc = {"format": FORMAT, "settings": self.settings, "vocabulary": self.vocabulary, "metadata": metadata or {}}
        weights = {"idf": self.idf, "r": self.r, "coef": self.coef, "intercept": np.array([self.intercept])}
        write_model_files(directory, doc, weights)

    @classmethod
    def load(cls, directory: Path) -> tuple[NBLRModel, dict]:
        """The model and its saved metadata; a damaged file is a DataError naming it."""
        directory = Path(directory)
        path = directory / MODEL_FILE
        doc, w = read_model_files(directory, FORMAT)
        if doc.get("settings", {}).get("token_pattern") != FAST_PATTERN:
            # Scores would come from today's tokenizer, not the one the weights were fitted with.
            raise DataError(path, "saved with a different tokenizer; retrain it")
        try:
            model = cls(doc["vocabulary"], w["idf"], w["r"], w["coef"], float(w["intercept"][0]), doc["settings"])
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise DataError(directory, f"inconsistent saved model ({exc})") from None
        return model, doc.get("metadata", {})


def write_model_files(directory: Path, doc: dict, weights: dict[str, np.ndarray]) -> None:
    """``doc`` (with its ``format``) as JSON and ``weights`` as safetensors: never a pickle."""
    from safetensors.numpy import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, ensure_ascii=False)
    (directory / MODEL_FILE).write_text(text, encoding="utf-8")
    save_file(weights, str(directory / WEIGHTS_FILE),
              metadata={"format": doc["format"], "digest": arrays_digest(weights, text.encode())})


def read_model_files(directory: Path, fmt: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON document and weights saved by :func:`write_model_files`; damage is a DataError naming the file."""
    from safetensors import safe_open

    directory = Path(directory)
    path = directory / MODEL_FILE
    try:
        raw = path.read_bytes()  # the bytes the digest covers
        doc = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise DataError(path, f"not a saved NB-LR model ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise DataError(path, f"not a saved NB-LR model (format {doc.get('format') if isinstance(doc, dict) else None!r}, expected {fmt!r})")
    wpath = directory / WEIGHTS_FILE
    try:
        with safe_open(str(wpath), framework="np") as f:
            w = {k: f.get_tensor(k) for k in f.keys()}
            digest = (f.metadata() or {}).get("digest")
    except FileNotFoundError:
        raise DataError(wpath, "file not found") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for damaged files
        raise DataError(wpath, f"cannot read weights ({exc})") from None
    # models saved before digests were kept are read as they are
    if digest is not None and digest != arrays_digest(w, raw):
        raise DataError(wpath, f"the weights and {MODEL_FILE} differ from the digest saved with them (altered or damaged)")
    return doc, w


def tfidf_score(rows: np.ndarray, cols: np.ndarray, n: int, idf: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per text, ``w`` dotted with its l2-normalised sublinear tf-idf row; one (row, col) per n-gram hit."""
    v = len(idf)
    # Term counts per (text, column), then sublinear tf * idf, l2 norm and the linear score.
    cell, counts = np.unique(rows * v + cols, return_counts=True)
    rows, cols = np.divmod(cell, v)
    value = (np.log(counts) + 1.0) * idf[cols]
    # bincount of nothing is int64: a batch of texts without one known n-gram must still divide.
    norm = np.sqrt(np.bincount(rows, weights=value * value, minlength=n).astype(np.float64))
    score = np.bincount(rows, weights=value * w[cols], minlength=n).astype(np.float64)
    # A text with no known n-gram is an all-zero row: only the intercept speaks.
    np.divide(score, norm, out=score, where=norm > 0)
    return score


# --- fitting -----------------------------------------------------------------------------------


def build_vectorizer():
    """The seed's ``TfidfVectorizer``, with the fast tokenizer (same tokens, checked by tests)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    s = VECTORIZER
    return TfidfVectorizer(
        ngram_range=tuple(s["ngram_range"]), tokenizer=fast_tokenize, token_pattern=None,
        min_df=s["min_df"], max_df=s["max_df"], lowercase=s["lowercase"], strip_accents=s["strip_accents"],
        use_idf=s["use_idf"], smooth_idf=s["smooth_idf"], sublinear_tf=s["sublinear_tf"], norm=s["norm"],
        dtype=np.float64,
    )


def nb_ratio(x, y: np.ndarray, norm: str = "seed") -> np.ndarray:
    """r = log(P(feature | toxic) / P(feature | clean)), each side smoothed with +1."""
    p = np.asarray(x[y == 1].sum(0)).ravel() + 1.0
    q = np.asarray(x[y == 0].sum(0)).ravel() + 1.0
    if norm == "seed":
        p, q = p / ((y == 1).sum() + 1), q / ((y == 0).sum() + 1)
    elif norm == "l1":
        p, q = p / p.sum(), q / q.sum()
    else:
        raise ValueError(f"unknown NB normalisation {norm!r} (known: {', '.join(NB_NORMS)})")
    return np.log(p / q)


def check_labels(texts: Sequence[str], labels: Sequence[int]) -> np.ndarray:
    y = np.asarray(labels, dtype=np.int64)
    if len(texts) != len(y) or not {0, 1} <= set(np.unique(y).tolist()):
        raise ValueError("need aligned texts and labels with both classes present")
    return y


def fit_nb_logreg(x, y: np.ndarray, nb_norm: str = "seed", classifier: dict | None = None):
    """NB ratios ``r`` of the feature matrix ``x``, then the logistic regression on ``x * r``.

    Returns ``(r, coef, intercept, classifier settings with the iterations run)``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    r = nb_ratio(x, y, nb_norm)
    c = {**CLASSIFIER, **(classifier or {})}
    lr = LogisticRegression(C=c["C"], solver=c["solver"], max_iter=c["max_iter"], tol=c["tol"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded in the settings instead
        lr.fit(x.multiply(r).tocsr(), y)
    n_iter = int(lr.n_iter_[0])
    fitted = {"iterations": n_iter, "converged": n_iter < c["max_iter"]}
    return r, lr.coef_[0], float(lr.intercept_[0]), {**c, **fitted}


def vocabulary_list(vec) -> list[str]:
    """A fitted vectorizer's n-grams in column order."""
    vocab = [None] * len(vec.vocabulary_)
    for gram, j in vec.vocabulary_.items():
        vocab[j] = gram
    return vocab


def fit_nblr(texts: Sequence[str], labels: Sequence[int], *, nb_norm: str = "seed", classifier: dict | None = None) -> NBLRModel:
    """Fit the seed's model on ``texts`` with labels 1 = toxic, 0 = clean."""
    y = check_labels(texts, labels)
    vec = build_vectorizer()
    x = vec.fit_transform(list(texts))
    r, coef, intercept, fitted = fit_nb_logreg(x, y, nb_norm, classifier)
    settings = {**VECTORIZER, "nb_norm": nb_norm, "classifier": fitted}
    return NBLRModel(vocabulary_list(vec), vec.idf_, r, coef, intercept, settings)
