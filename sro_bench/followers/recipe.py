"""The ``nblr`` training recipe: which texts, which labels, what is held out, and the held-out figures.

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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data as d
from ..errors import DataError, UserError
from .base import FollowerContext
from .model import CLASSIFIER, NB_NORMS, VECTORIZER, NBLRModel

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


def recipe_options(context: FollowerContext, name: str = "nblr") -> dict:
    """Everything that shapes the trained model, with the context's options validated.

    Options: ``label_noise`` (fraction of training labels flipped, seeded by ``context.seed``) and
    ``nb_norm`` (``seed`` or ``l1``, see :data:`~sro_bench.followers.model.NB_NORMS`).
    """
    opts = context.options or {}
    q = opts.get("label_noise", 0.0)
    try:
        q = float(q)
    except (TypeError, ValueError):
        raise UserError(f"{name} option label_noise must be a number in [0, 1], got {q!r}") from None
    if not 0.0 <= q <= 1.0:
        raise UserError(f"{name} option label_noise must be in [0, 1], got {q}")
    nb_norm = opts.get("nb_norm", "seed")
    if nb_norm not in NB_NORMS:
        raise UserError(f"{name} option nb_norm must be one of {', '.join(NB_NORMS)}, got {nb_norm!r}")
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
        path = Path(data_dir) / name
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

Groups = dict[str, list[list[tuple[str, int, str]]]]


def load_groups(data_dir: Path) -> tuple[Groups, set[str]]:
    """Source name -> groups of (text, label, source), and the dev split's keys (never trained on).

    One ParaDetox row (a toxic sentence and its rewrites) is one group, so a pair never straddles.
    """
    data_dir = Path(data_dir)
    train_pd, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    dev_keys = {d.normalise(t) for t in dev.inputs} | {d.normalise(r) for refs in dev.references for r in refs}
    groups: Groups = {"paradetox": []}
    for x, refs in zip(train_pd.inputs, train_pd.references):
        groups["paradetox"].append([(x, 1, "paradetox-toxic")] + [(r, 0, "paradetox-neutral") for r in refs])
    singles = [
        ("dirty", 1, d.load_dirty(data_dir / d.DIRTY).inputs),
        ("cannot-rewrite", 1, d.load_cannot_rewrite(data_dir / d.CANNOT_REWRITE).inputs),
        ("emnlp-normal", 0, [t for f in d.NORMAL_FILES for t in d.load_lines(data_dir / f).inputs]),
    ]
    for source, label, texts in singles:
        groups[source] = [[(t, label, source)] for t in texts]
    return groups, dev_keys


def effective_exclusions(data_dir: Path, exclude: frozenset[str]) -> frozenset[str]:
    """The exclusion keys that remove some training text (not already removed as dev split).

    Only these change the model, so only these go into the cache key: runs whose exclusion lists
    differ in sentences the screener never sees share one trained screener.
    """
    if not exclude:
        return frozenset()
    groups, dev_keys = load_groups(data_dir)
    keys = {d.normalise(t) for rows in groups.values() for row in rows for t, _, _ in row}
    return frozenset(k for k in exclude if k in keys and k not in dev_keys)


def build_corpora(data_dir: Path, exclude: frozenset[str]) -> tuple[Corpus, Corpus, dict]:
    """(train, held-out, stats) following the recipe in the module docstring."""
    groups, dev_keys = load_groups(data_dir)
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
    k = round(q * len(y))
    idx = np.random.default_rng([seed, 0x4E4F4953]).choice(len(y), size=k, replace=False)  # "NOIS"
    y[idx] = 1 - y[idx]
    return y.tolist(), k


# --- evaluation --------------------------------------------------------------------------------


def _pass_rate(model: NBLRModel, texts: list[str], threshold: float) -> float | None:
    return float(1 - (model.predict_proba(texts) > threshold).mean()) if texts else None


def evaluate(model: NBLRModel, held: Corpus, data_dir: Path, threshold: float = 0.5) -> dict:
    """Held-out accuracy, ROC-AUC, F1, and pass rates (share judged non-toxic) on several sets."""
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

    data_dir = Path(data_dir)
    y = np.asarray(held.labels)
    p = model.predict_proba(held.texts)
    v = (p > threshold).astype(int)
    src = np.asarray(held.sources)
    _, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    extra = [t for f in EVAL_FILES if (data_dir / f).is_file() for t in d.load_lines(data_dir / f).inputs]
    return {
        "rows": len(y),
        "toxic": int(y.sum()),
        "accuracy": float(accuracy_score(y, v)),
        "roc_auc": float(roc_auc_score(y, p)),
        "f1": float(f1_score(y, v)),
        "precision": float(precision_score(y, v, zero_division=0)),
        "recall": float(recall_score(y, v, zero_division=0)),
        "pass_rate_by_source": {s: float(1 - v[src == s].mean()) for s in sorted(set(held.sources))},
        # dirty.csv as SRO sees it: the whole file (90% of it was trained on), then its held-out tenth.
        "pass_rate_dirty": _pass_rate(model, d.load_dirty(data_dir / d.DIRTY).inputs, threshold),
        "pass_rate_dirty_heldout": float(1 - v[src == "dirty"].mean()) if (src == "dirty").any() else None,
        "pass_rate_dev_toxic": _pass_rate(model, dev.inputs, threshold),
        "pass_rate_dev_references": _pass_rate(model, [r for rs in dev.references for r in rs], threshold),
        "pass_rate_emnlp_toxic": _pass_rate(model, extra, threshold),
        "by_source": held.counts(),
    }
