"""The built-in follower ``nblr`` (the default): the seed's NB-LR screener, trained offline and cached.

:func:`train_screener` loads it from ``<cache>/followers/nblr-<key>/`` or trains it there (recipe in
:mod:`~sro_bench.followers.recipe`, model in :mod:`~sro_bench.followers.model`). The key hashes the
recipe, the data files' sha256 and size, the exclusion keys that actually remove a training text,
and any label noise. Entries are
written into a temporary directory and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError, UserError
from ..util.files import building
from ..util.paths import resolve_cache_dir, resolve_data_dir
from ..util.progress import stages
from .base import Follower, FollowerContext
from .model import NBLRModel, fit_nblr
from .recipe import (
    build_corpora,
    cache_key,
    effective_exclusions,
    evaluate,
    exclude_digest,
    file_digests,
    flip_labels,
    recipe_options,
)


class NBLRScreener(Follower):
    """P(toxic) from a fitted :class:`~sro_bench.followers.model.NBLRModel`; fails above 0.5."""

    name = "nblr"
    retrains_with_label_noise = True  # its factory honours the label_noise option

    def __init__(self, model: NBLRModel, metadata: dict | None = None, threshold: float = 0.5):
        self.model = model
        self.metadata = metadata or {}
        self.threshold = threshold

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(texts)

    def toxic_vocabulary(self, top: int | None = None, threshold: float | None = None) -> set[str]:
        """Words this screener fails on their own; the ``top`` strongest if given.

        A one-word text has one feature, of l2-normalised value 1, so its logit is
        ``coef * r + intercept``: a unigram is kept when that clears ``logit(threshold)``, i.e.
        when the screener would judge the word alone toxic. Words need a letter (no bare punctuation).
        """
        t = self.threshold if threshold is None else threshold
        if not 0.0 < t < 1.0:
            return set()
        cut = math.log(t / (1.0 - t)) - self.model.intercept
        ranked = sorted(
            ((w, g) for g, w in self.model.unigram_weights().items() if w > cut and any(ch.isalpha() for ch in g)),
            reverse=True,
        )
        return {g for _, g in (ranked if top is None else ranked[:top])}

    def describe(self) -> dict:
        return describe_screener(self, {"kind": "tfidf-nb-logreg", "features": len(self.model.vocabulary)})


def describe_screener(screener, model: dict) -> dict:
    """A trained NB-LR screener's record entry: ``model``'s own figures, then the settings both kinds share."""
    m = screener.model
    return {
        "name": screener.name,
        "threshold": screener.threshold,
        "model": {**model, "intercept": m.intercept, "nb_norm": m.settings.get("nb_norm"),
                  "classifier": m.settings.get("classifier")},
        **screener.metadata,
    }


# --- training with a cache ---------------------------------------------------------------------


def train_screener(context: FollowerContext, *, force: bool = False, progress: bool = True) -> NBLRScreener:
    """The ``nblr`` screener for ``context``: loaded from the cache, else trained and cached."""

    def fit(texts, labels, recipe):  # looks fit_nblr up at call time (tests replace it)
        return fit_nblr(texts, labels, nb_norm=recipe["nb_norm"])

    return cached_screener(context, "nblr", recipe_options(context), fit, load_screener, NBLRScreener,
                           force=force, progress=progress)


def cached_screener(context: FollowerContext, name: str, recipe: dict, fit, load, make, *, force: bool = False,
                    progress: bool = True, fitting: str = "TF-IDF + NB + logistic regression"):
    """Screener ``name`` loaded from ``<cache>/followers/<name>-<key>/``, else trained there.

    ``fit(texts, labels, recipe)`` returns a model with ``predict_proba`` and ``save(dir, meta)``;
    ``load(dir)`` reads an entry back as a screener; ``make(model, meta)`` wraps a fresh model.
    """
    data_dir = resolve_data_dir(context.data_dir)
    files = file_digests(data_dir)
    exclude = effective_exclusions(data_dir, context.exclude)
    key = cache_key(recipe, files, exclude)
    final = resolve_cache_dir(context.cache_dir) / "followers" / f"{name}-{key}"
    if final.is_dir() and not force:
        try:
            return load(final)
        except DataError as exc:  # a damaged cache entry is rebuilt, not fatal
            warnings.warn(f"retraining the {name} screener: {exc}", stacklevel=3)
    model, meta = _train(data_dir, recipe, files, context, exclude, key, progress, name, fit, fitting)
    save_atomically(model, meta, final)
    return make(model, meta)


def _train(data_dir: Path, recipe: dict, files: dict, context: FollowerContext, exclude: frozenset[str], key: str,
           progress: bool, name: str, fit, fitting: str):
    started = time.perf_counter()
    with stages(progress) as stage:
        with stage(f"{name}: reading the training data"):
            train, held, stats = build_corpora(data_dir, exclude)
            labels, flipped = train.labels, 0
            if recipe["label_noise"] > 0:
                labels, flipped = flip_labels(train.labels, recipe["label_noise"], recipe["noise_seed"])
        with stage(f"{name}: fitting {fitting} on {len(train.texts):,} texts"):
            model = fit(train.texts, labels, recipe)
        seconds = time.perf_counter() - started
        with stage(f"{name}: evaluating on {len(held.texts):,} held-out texts"):
            heldout = evaluate(model, held, data_dir)
    meta = {
        # The vectorizer and classifier settings are recorded with the model itself.
        "recipe": {k: v for k, v in recipe.items() if k not in ("vectorizer", "classifier", "char_vectorizer")},
        "cache_key": key,
        "training": {
            "rows": len(train.texts),
            "toxic": int(sum(train.labels)),
            "by_source": train.counts(),
            "labels_flipped": flipped,
            **stats,
            "exclude_list": {"given": len(context.exclude), "effective": len(exclude), "sha256": exclude_digest(exclude)},
            "files": files,
            "seconds": round(seconds, 2),
        },
        "heldout": heldout,
    }
    return model, meta


def save_atomically(model, meta: dict, final: Path) -> None:
    """Write into a temporary sibling directory, then put it in place of any old entry (--force, a damaged one)."""
    with building(final) as tmp:
        model.save(tmp, meta)


def load_screener(directory: str | os.PathLike) -> NBLRScreener:
    """A screener saved by :func:`train_screener` (or :meth:`NBLRModel.save`)."""
    model, meta = NBLRModel.load(Path(directory))
    return NBLRScreener(model, meta)


def screener_report(screener: NBLRScreener) -> dict:
    """The held-out figures recorded when ``screener`` was trained, flat (name -> number)."""
    heldout = screener.metadata.get("heldout")
    if heldout is None:
        raise UserError(f"follower {screener.name!r} has no held-out figures (it was not trained by train_screener)")
    out = {k: v for k, v in heldout.items() if not isinstance(v, dict)}
    for source, rate in heldout.get("pass_rate_by_source", {}).items():
        out[f"pass_rate_heldout_{source}"] = rate
    training = screener.metadata.get("training", {})
    out["training_rows"] = training.get("rows")
    out["training_seconds"] = training.get("seconds")
    return out
