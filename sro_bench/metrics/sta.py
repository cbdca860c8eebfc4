"""STA: style transfer accuracy, judged by an evaluation classifier that is not the training follower.

The training follower is a word 1-2-gram TF-IDF NB-LR trained on dirty.csv, ParaDetox-train,
cannot-rewrite and the Dale et al. non-toxic files. The judge here is a different model on
different toxic data: logistic regression over hashed TF-IDF *character* 2-6-grams, trained on
the Dale et al. toxic files (which the follower never sees) against the Dale et al. non-toxic
files (which it does see; ``info`` says so).

Why not a classifier on MiniLM sentence embeddings: embeddings encode meaning, and a faithful
detoxified rewrite keeps the meaning of its toxic input, so such a judge flags good rewrites
(it passed 0.73 of the dev references against 0.91 for this one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data import NORMAL_FILES, TOXIC_FILES, load_lines, normalise
from ..errors import UserError
from ..util.text import canonical
from . import store
from .devsplit import dev_keys, human_inputs, splits
from .human import HUMAN_FILE

STA_VERSION = 2  # 2: the human evaluation's inputs left out of training
N_FEATURES = 2 ** 20
NGRAMS = (2, 6)
C = 8.0
THRESHOLD = 0.5
HELDOUT = 0.05


def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    # stateless (murmurhash), so nothing but idf and weights needs storing
    return HashingVectorizer(analyzer="char_wb", ngram_range=NGRAMS, n_features=N_FEATURES,
                             alternate_sign=False, norm=None, dtype=np.float64)


def _tf(texts: Sequence[str]):
    m = _vectorizer().transform([canonical(t) for t in texts])
    m.data = 1.0 + np.log(m.data)  # sublinear tf
    return m


@dataclass
class StaModel:
    idf: np.ndarray  # [N_FEATURES], 0 for features seen in fewer than two training texts
    coef: np.ndarray  # [N_FEATURES]
    intercept: float
    threshold: float = THRESHOLD
    info: dict = field(default_factory=dict)

    def p_toxic(self, texts: Sequence[str]) -> np.ndarray:
        """P(toxic) per text, float64."""
        if len(texts) == 0:
            return np.zeros(0)
        from sklearn.preprocessing import normalize

        x = normalize(_tf(texts).multiply(self.idf).tocsr())
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        keep = np.flatnonzero(self.idf)  # store only the features the model can use
        return {"features": keep.astype(np.int64), "idf": self.idf[keep].astype(np.float64),
                "coef": self.coef[keep].astype(np.float64), "intercept": np.array([self.intercept]),
                "threshold": np.array([self.threshold])}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], info: dict) -> "StaModel":
        idf, coef = np.zeros(N_FEATURES), np.zeros(N_FEATURES)
        idf[arrays["features"]], coef[arrays["features"]] = arrays["idf"], arrays["coef"]
        return cls(idf, coef, float(arrays["intercept"][0]), float(arrays["threshold"][0]), info)


def _fit(tf, y: np.ndarray) -> StaModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    df = np.bincount(tf.indices, minlength=N_FEATURES)
    idf = np.where(df >= 2, np.log((1 + tf.shape[0]) / (1 + df)) + 1.0, 0.0)
    used = np.flatnonzero(idf)  # unused columns would get zero weight anyway; dropping them is faster
    x = normalize(tf.multiply(idf).tocsr())[:, used]
    clf = LogisticRegression(C=C, max_iter=3000).fit(x, y)
    coef = np.zeros(N_FEATURES)
    coef[used] = clf.coef_[0]
    return StaModel(idf, coef, float(clf.intercept_[0]))


def train_sta(toxic: Sequence[str], non_toxic: Sequence[str], *, seed: int = 0, info: dict | None = None) -> StaModel:
    """Fit the judge on ``toxic`` (label 1) vs ``non_toxic`` (label 0). A first fit without 5% of
    the texts measures held-out accuracy (for ``info``); the judge itself is fitted on all."""
    texts = list(toxic) + list(non_toxic)
    y = np.r_[np.ones(len(toxic)), np.zeros(len(non_toxic))]
    held = np.random.default_rng(seed).random(len(texts)) < HELDOUT
    tf = _tf(texts)
    accuracy = None
    if held.any() and len(set(y[~held])) == 2:
        probe = _fit(tf[~held], y[~held])
        verdict = probe.p_toxic([t for t, h in zip(texts, held) if h]) > THRESHOLD
        accuracy = round(float((verdict == y[held].astype(bool)).mean()), 4)
    model = _fit(tf, y)
    meta = dict(info or {})
    meta.update({
        "version": STA_VERSION,
        "model": f"logistic regression (C={C}) over TF-IDF character {NGRAMS[0]}-{NGRAMS[1]}-grams "
                 f"(char_wb, hashed to 2^20, sublinear tf, df >= 2) of lowercased, apostrophe-free text",
        "threshold": THRESHOLD, "sta": "1 where P(toxic) <= threshold; sta_soft = 1 - P(toxic)",
        "train_texts": len(texts), "toxic_texts": len(toxic), "non_toxic_texts": len(non_toxic),
        "heldout_accuracy": accuracy,
        "heldout": f"{HELDOUT:.0%} of the training texts, fitted without them once, to measure",
        "selection": "n-gram range and C chosen by balanced accuracy on 3,000 ParaDetox-train "
                     "references vs their toxic inputs; never on the dev split",
        "seed": seed,
    })
    model.info = meta
    return model


def training_files(data_dir: Path) -> tuple[list[Path], list[Path]]:
    toxic = [Path(data_dir) / f for f in TOXIC_FILES]
    clean = [Path(data_dir) / f for f in NORMAL_FILES]
    for f in toxic + clean:
        if not f.is_file():
            raise UserError(f"{f}: needed to train the STA judge (pass --data-dir)")
    return toxic, clean


def load_or_train_sta(data_dir: str | Path | None, cache_dir: str | Path | None, *, seed: int = 0) -> StaModel:
    """The STA judge for ``data_dir``, trained on first use and cached as safetensors."""
    from ..util.paths import resolve_data_dir

    return _load_or_train(Path(resolve_data_dir(data_dir)).resolve(), str(cache_dir) if cache_dir else None, seed)


@lru_cache(maxsize=8)
def _load_or_train(data_dir: Path, cache_dir: str | None, seed: int) -> StaModel:
    toxic_files, clean_files = training_files(data_dir)
    human = [data_dir / HUMAN_FILE] if (data_dir / HUMAN_FILE).is_file() else []  # its inputs are left out
    key = store.fingerprint(toxic_files + clean_files + human, {"version": STA_VERSION, "seed": seed})
    path = store.metrics_cache(cache_dir, "sta") / f"sta-{key}.safetensors"
    found = store.cached(path)
    if found is not None:
        model = StaModel.from_arrays(*found)
    else:
        # the dev split is never trained on, nor the inputs people labelled rewrites of (agreement is measured there)
        dev = dev_keys(data_dir) | human_inputs(data_dir)
        read = lambda files: [t for f in files for t in load_lines(f).inputs if normalise(t) not in dev]  # noqa: E731
        model = train_sta(read(toxic_files), read(clean_files), seed=seed, info={
            "training_data": {"toxic": [f.name for f in toxic_files], "non_toxic": [f.name for f in clean_files]},
            "shared_with_training_follower": "the non-toxic side (detox_emnlp2021 *_normal) is also part of "
                                             "the follower's clean data; the toxic side is not",
            "excluded": "sentences matching dev-split inputs or references, or inputs of the human evaluation",
        })
        store.save(path, model.to_arrays(), model.info)
    model.info["cache_file"] = str(path)
    model.info["judge_id"] = path.stem  # its version and a digest of its data and settings
    return model


def sta_check(data_dir: str | Path | None = None, cache_dir: str | Path | None = None, *, seed: int = 0) -> dict:
    """STA on the dev split's human references (target >= 0.9) and on its toxic inputs (<= 0.3)."""
    from ..util.paths import resolve_data_dir

    data_dir = Path(resolve_data_dir(data_dir)).resolve()
    model = load_or_train_sta(data_dir, cache_dir, seed=seed)
    _, dev = splits(data_dir)
    refs = [r for rs in dev.references for r in rs]
    sta = lambda texts: float((model.p_toxic(texts) <= model.threshold).mean())  # noqa: E731
    out = {
        "references": round(sta(refs), 4), "references_first_only": round(sta([rs[0] for rs in dev.references]), 4),
        "toxic_inputs": round(sta(dev.inputs), 4), "n_references": len(refs), "n_inputs": len(dev.inputs),
    }
    out["passes"] = bool(out["references"] >= 0.9 and out["toxic_inputs"] <= 0.3)
    out["targets"] = {"references": ">= 0.9", "toxic_inputs": "<= 0.3"}
    return out
