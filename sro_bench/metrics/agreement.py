"""How far a judge agrees with people: rank correlations and AUC, with bootstrap intervals over inputs.

Rows that share an input are resampled together (a rewrite's label depends on its input), so an
interval reflects how many *inputs* were labelled, not how many rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

POSITIVE = 0.5  # a label at or above this is a "yes" for AUC


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return {"value": rounded(self.value), "ci95": [rounded(self.low), rounded(self.high)]}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def kendall(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import kendalltau

    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(kendalltau(a, b).statistic)


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (ties count half): P(score of a positive > score of a negative)."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def system_means(values: np.ndarray, systems: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.array([values[systems == s].mean() if (systems == s).any() else np.nan for s in names])


def _statistics(score: np.ndarray, label: np.ndarray, systems: np.ndarray | None, names: Sequence[str]) -> dict:
    out = {"spearman": spearman(score, label), "auc": auc(score, label >= POSITIVE)}
    if systems is not None and len(names) >= 2:
        judge, people = system_means(score, systems, names), system_means(label, systems, names)
        keep = ~(np.isnan(judge) | np.isnan(people))
        out["system_spearman"] = spearman(judge[keep], people[keep])
        out["system_kendall"] = kendall(judge[keep], people[keep])
    return out


def agreement(scores: dict[str, np.ndarray], labels: dict[str, np.ndarray], groups: np.ndarray,
              systems: Sequence[str] | None = None, *, resamples: int = 1000, seed: int = 0) -> dict:
    """Per judge present in both ``scores`` and ``labels``: sentence-level Spearman and AUC (label >= 0.5
    positive), and with ``systems`` the system-level Spearman and Kendall of the systems' means, plus each
    system's mean by judge and by people and the Spearman within it; every statistic with a 95% percentile bootstrap interval over
    inputs (``groups``)."""
    groups = np.asarray(groups)
    sys_arr = None if systems is None else np.asarray(systems)
    names = sorted(set(sys_arr.tolist())) if sys_arr is not None else []
    unique, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(unique))]
    rng = np.random.default_rng(seed)
    draws = [np.concatenate([members[g] for g in rng.integers(len(unique), size=len(unique))])
             for _ in range(resamples)]
    report = {}
    for judge in (j for j in labels if j in scores):
        score, label = np.asarray(scores[judge], dtype=np.float64), np.asarray(labels[judge], dtype=np.float64)
        point = _statistics(score, label, sys_arr, names)
        boot = [_statistics(score[idx], label[idx], None if sys_arr is None else sys_arr[idx], names) for idx in draws]
        entry = {}
        for key, value in point.items():
            samples = np.array([b[key] for b in boot], dtype=np.float64)
            samples = samples[np.isfinite(samples)]
            low, high = (np.percentile(samples, [2.5, 97.5]) if len(samples) else (np.nan, np.nan))
            entry[key] = Estimate(value, float(low), float(high))
        if names:  # each system's mean by judge and people, and the sentence-level Spearman within it
            entry["systems"] = {s: {"judge": rounded(m), "people": rounded(p),
                                    "spearman": rounded(spearman(score[sys_arr == s], label[sys_arr == s]))}
                                for s, m, p in zip(names, system_means(score, sys_arr, names),
                                                   system_means(label, sys_arr, names))}
        report[judge] = entry
    return report


def worst_rows(score: np.ndarray, label: np.ndarray, k: int = 5) -> list[int]:
    """The ``k`` rows where judge and people disagree most (largest gap between their rank percentiles)."""
    from scipy.stats import rankdata

    gap = np.abs(rankdata(score) / len(score) - rankdata(label) / len(label))
    return [int(i) for i in np.argsort(-gap, kind="stable")[:k]]


def rounded(x) -> float | None:
    x = float(x)
    return round(x, 4) if np.isfinite(x) else None


SPLITS = ("input", "system")


def fold_ids(human, split: str = "input", folds: int = 5, seed: int = 0) -> np.ndarray:
    """One fold id per row: ``input`` deals the inputs out to ``folds`` folds at random (an input's rows stay
    together); ``system`` makes each system a fold (a judge scored on a system it was not fitted on)."""
    if split == "system":
        if not human.systems:
            raise ValueError("folds by system need a system column")
        names = sorted(set(human.systems))
        return np.array([names.index(s) for s in human.systems])
    groups = human.groups()
    order = np.random.default_rng(seed).permutation(groups.max() + 1)
    return order[groups] % max(1, min(folds, groups.max() + 1))
