"""Training the ``nblr`` screener offline from the data directory, with a held-out split and a cache.

Recipe (version :data:`RECIPE_VERSION`):

- toxic: ``dirty.csv`` + the toxic side of the ParaDetox *train* split + ``cannot_rewrite`` rows whose
  reasons say ``toxic_content``; clean: the ``*_normal`` sentence files + the neutral side of the
  ParaDetox train split.
- Never trained on: the ParaDetox dev split (its toxic sentences *and* references, matched after
  :func:`~sro_bench.data.normalise` in every source) and the context's exclusion list.
- Held out: 10% of ParaDetox train rows (a toxic sentence and its rewrites stay together) and 10% of
  every other source, with a fixed seed; any training text that normalises like a held-out one is
  dropped, so no sentence straddles the split.
- The screener is *not* refit on the held-out part: the published figures describe the very model in use.

The trained model lives in ``<cache>/followers/nblr-<key>/``, where the key hashes the recipe, the
data files (sha256 and size), the exclusion list and any label noise, so a second build just loads it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data as d
from ..errors import DataError, UserError
from ..paths import resolve_cache_dir, resolve_data_dir
from .base import FollowerContext
from .nblr import CLASSIFIER, NB_NORMS, VECTORIZER, NBLRModel, NBLRScreener, fit_nblr

RECIPE_VERSION = 1
SPLIT_SEED = 20241028  # fixed: the held-out split is part of the recipe, not of a run's seed
HOLDOUT_FRACTION = 0.1
TRAIN_FILES = (d.PARADETOX, d.DIRTY, d.CANNOT_REWRITE, *d.NORMAL_FILES)
EVAL_FILES = d.TOXIC_FILES  # never trained on; only their pass rate is reported, when present


@dataclass
class Corpus:
    """Labelled texts (1 = toxic) with the source each came from."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add(self, text: str, label: int, source: str) -> None:
        self.texts.append(text)
        self.labels.append(label)
        self.sources.append(source)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.sources:
            out[s] = out.get(s, 0) + 1
        return dict(sorted(out.items()))


# --- options and the cache key -----------------------------------------------------------------


def recipe_options(context: FollowerContext) -> dict:
    """The options that change the trained model, validated."""
    opts = context.options or {}
    q = opts.get("label_noise", 0.0)
    try:
        q = float(q)
    except (TypeError, ValueError):
        raise UserError(f"nblr option label_noise must be a number in [0, 1], got {q!r}") from None
    if not 0.0 <= q <= 1.0:
        raise UserError(f"nblr option label_noise must be in [0, 1], got {q}")
    nb_norm = opts.get("nb_norm", "seed")
    if nb_norm not in NB_NORMS:
        raise UserError(f"nblr option nb_norm must be one of {', '.join(NB_NORMS)}, got {nb_norm!r}")
    return {
        "version": RECIPE_VERSION,
        "split_seed": SPLIT_SEED,
        "holdout_fraction": HOLDOUT_FRACTION,
        "refit_on_heldout": False,
        "nb_norm": nb_norm,
        "label_noise": q,
        "noise_seed": int(context.seed) if q > 0 else None,
        "vectorizer": VECTORIZER,
        "classifier": CLASSIFIER,
    }


def file_digests(data_dir: Path) -> dict:
    """sha256 and size of every file the recipe reads (optional evaluation files: None if absent)."""
    out = {}
    for name in TRAIN_FILES + EVAL_FILES:
        path = data_dir / name
        if not path.is_file():
            if name in EVAL_FILES:
                out[name] = None
                continue
            raise DataError(path, "file not found (needed to train the nblr screener)")
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        out[name] = {"sha256": h.hexdigest(), "bytes": path.stat().st_size}
    return out


def exclude_digest(keys: frozenset[str]) -> str | None:
    if not keys:
        return None
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def cache_key(recipe: dict, files: dict, exclude: frozenset[str]) -> str:
    blob = json.dumps({"recipe": recipe, "files": files, "exclude": exclude_digest(exclude)}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


# --- the corpus and its held-out split ---------------------------------------------------------


def build_corpora(data_dir: Path, exclude: frozenset[str]) -> tuple[Corpus, Corpus, dict]:
    """(train, held-out, stats) following the recipe in the module docstring."""
    train_pd, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    dev_keys = {d.normalise(t) for t in dev.inputs} | {d.normalise(r) for refs in dev.references for r in refs}
    # Groups of (text, label, source): one ParaDetox row is one group, so a pair never straddles.
    groups: dict[str, list[list[tuple[str, int, str]]]] = {"paradetox": []}
    for x, refs in zip(train_pd.inputs, train_pd.references):
        groups["paradetox"].append([(x, 1, "paradetox-toxic")] + [(r, 0, "paradetox-neutral") for r in refs])
    singles = [
        ("dirty", 1, d.load_dirty(data_dir / d.DIRTY).inputs),
        ("cannot-rewrite", 1, d.load_cannot_rewrite(data_dir / d.CANNOT_REWRITE).inputs),
        ("emnlp-normal", 0, [t for f in d.NORMAL_FILES for t in d.load_lines(data_dir / f).inputs]),
    ]
    for source, label, texts in singles:
        groups[source] = [[(t, label, source)] for t in texts]

    rng = np.random.default_rng(SPLIT_SEED)
    train, held = Corpus(), Corpus()
    held_keys: set[str] = set()
    candidates: list[tuple[str, int, str]] = []
    stats = {"excluded_dev_split": 0, "excluded_by_list": 0, "dropped_straddling": 0}
    for source in sorted(groups):
        rows = groups[source]
        chosen = set(rng.permutation(len(rows))[: round(HOLDOUT_FRACTION * len(rows))].tolist())
        for i, row in enumerate(rows):
            for text, label, src in row:
                key = d.normalise(text)
                if key in dev_keys:
                    stats["excluded_dev_split"] += 1
                elif key in exclude:
                    stats["excluded_by_list"] += 1
                elif i in chosen:
                    held.add(text, label, src)
                    held_keys.add(key)
                else:
                    candidates.append((text, label, src))
    for text, label, src in candidates:
        if d.normalise(text) in held_keys:
            stats["dropped_straddling"] += 1
        else:
            train.add(text, label, src)
    return train, held, stats


def flip_labels(labels: list[int], q: float, seed: int) -> tuple[list[int], int]:
    """Flip exactly ``round(q * n)`` labels chosen at random (seeded)."""
    y = np.asarray(labels, dtype=np.int64)
    k = int(round(q * len(y)))
    idx = np.random.default_rng([seed, 0x4E4F4953]).choice(len(y), size=k, replace=False)  # "NOIS"
    y[idx] = 1 - y[idx]
    return y.tolist(), k


# --- evaluation --------------------------------------------------------------------------------


def evaluate(model: NBLRModel, held: Corpus, data_dir: Path, threshold: float = 0.5) -> dict:
    """Held-out accuracy, ROC-AUC, F1 and pass rates (share judged non-toxic) on toxic sets."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    y = np.asarray(held.labels)
    p = model.predict_proba(held.texts)
    v = (p > threshold).astype(int)
    src = np.asarray(held.sources)
    out = {
        "rows": int(len(y)),
        "toxic": int(y.sum()),
        "accuracy": float(accuracy_score(y, v)),
        "roc_auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, v)),
        "precision": float(precision_score(y, v, zero_division=0)),
        "recall": float(recall_score(y, v, zero_division=0)),
        "pass_rate_by_source": {s: float(1 - v[src == s].mean()) for s in sorted(set(held.sources))},
    }
    dirty = d.load_dirty(data_dir / d.DIRTY).inputs
    out["pass_rate_dirty"] = float(1 - (model.predict_proba(dirty) > threshold).mean())
    out["pass_rate_dirty_heldout"] = out["pass_rate_by_source"].get("dirty")
    _, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    out["pass_rate_dev_toxic"] = float(1 - (model.predict_proba(dev.inputs) > threshold).mean())
    refs = [r for rs in dev.references for r in rs]
    out["pass_rate_dev_references"] = float(1 - (model.predict_proba(refs) > threshold).mean())
    extra = [t for f in EVAL_FILES if (data_dir / f).is_file() for t in d.load_lines(data_dir / f).inputs]
    out["pass_rate_emnlp_toxic"] = float(1 - (model.predict_proba(extra) > threshold).mean()) if extra else None
    return out


# --- training with a cache ---------------------------------------------------------------------


@contextmanager
def _stages(enabled: bool):
    """A rich progress display with one line per stage; a no-op when disabled."""
    if not enabled:
        yield lambda label: _null_stage()
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as bar:

        @contextmanager
        def stage(label: str):
            task = bar.add_task(label, total=1)
            yield
            bar.update(task, completed=1)

        yield stage


@contextmanager
def _null_stage():
    yield


def cache_dir_for(context: FollowerContext) -> Path:
    return resolve_cache_dir(context.cache_dir) / "followers"


def train_screener(context: FollowerContext, *, force: bool = False, progress: bool = True) -> NBLRScreener:
    """The ``nblr`` screener for ``context``: loaded from the cache, else trained and cached."""
    data_dir = resolve_data_dir(context.data_dir)
    recipe = recipe_options(context)
    files = file_digests(data_dir)
    key = cache_key(recipe, files, context.exclude)
    final = cache_dir_for(context) / f"nblr-{key}"
    if final.is_dir() and not force:
        try:
            model, meta = NBLRModel.load(final)
            return NBLRScreener(model, meta)
        except DataError as exc:  # a damaged cache entry is rebuilt, not fatal
            warnings.warn(f"retraining the nblr screener: {exc}", stacklevel=2)
    model, meta = _train(data_dir, recipe, files, context, key, progress)
    save_atomically(model, meta, final)
    return NBLRScreener(model, meta)


def _train(data_dir: Path, recipe: dict, files: dict, context: FollowerContext, key: str, progress: bool):
    started = time.perf_counter()
    with _stages(progress) as stage:
        with stage("nblr: reading the training data"):
            train, held, stats = build_corpora(data_dir, context.exclude)
            labels, flipped = train.labels, 0
            if recipe["label_noise"] > 0:
                labels, flipped = flip_labels(train.labels, recipe["label_noise"], recipe["noise_seed"])
        with stage(f"nblr: fitting TF-IDF + NB + logistic regression on {len(train.texts):,} texts"):
            model = fit_nblr(train.texts, labels, nb_norm=recipe["nb_norm"])
        fit_seconds = time.perf_counter() - started
        with stage(f"nblr: evaluating on {len(held.texts):,} held-out texts"):
            heldout = evaluate(model, held, data_dir)
    meta = {
        "recipe": {k: v for k, v in recipe.items() if k not in ("vectorizer", "classifier")},
        "cache_key": key,
        "training": {
            "rows": len(train.texts),
            "toxic": int(sum(train.labels)),
            "by_source": train.counts(),
            "labels_flipped": flipped,
            **stats,
            "exclude_list": {"sentences": len(context.exclude), "sha256": exclude_digest(context.exclude)},
            "files": files,
            "seconds": round(fit_seconds, 2),
        },
        "heldout": {**heldout, "by_source": held.counts()},
    }
    return model, meta


def save_atomically(model: NBLRModel, meta: dict, final: Path) -> None:
    """Write into a temporary sibling directory, then rename it into place."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        model.save(tmp, meta)
        if final.exists():  # --force, or a damaged entry: move the old one aside first
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}-old-", dir=final.parent))
            os.replace(final, old / "entry")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # lost a race to another process: its copy is as good as ours
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_screener(directory: Path) -> NBLRScreener:
    """A screener saved by :func:`train_screener` (or :meth:`NBLRModel.save`)."""
    model, meta = NBLRModel.load(Path(directory))
    return NBLRScreener(model, meta)


def screener_report(screener: NBLRScreener) -> dict:
    """The held-out figures recorded when ``screener`` was trained."""
    heldout = getattr(screener, "metadata", {}).get("heldout")
    if heldout is None:
        raise UserError(f"screener {screener.name!r} has no held-out figures (it was not trained by train_screener)")
    return dict(heldout)
