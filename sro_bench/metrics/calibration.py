"""STA, SIM and FL as people would give them: each a logistic calibration of a few signals on people's labels.

A judge's score is its estimate of the mean label three people give (Dale et al. 2021: 600 rewrites of 200
toxic inputs). The calibration sees only the signals of ``signals.py``, never which system wrote a rewrite,
and has few weights (3-8 per judge), so that it weighs evidence rather than learning systems' habits.
Agreement with people is reported on folds split by input (``agreement.py``); the judges themselves are
fitted on all 600 rows and cached per suite version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import UserError
from . import store
from .base import JUDGE_SEED, SUITE_VERSION, Metric, MetricContext, MetricResult
from .embed import get_encoder
from .fl import load_or_train_fl
from .human import HUMAN_FILE, HumanLabels, read_human
from .signals import SIGNALS, Signals
from .sta import load_or_train_sta

#: judge -> the signals it weighs: chosen on folds split by input, leaving out those that raised agreement only
#: there and not within a system the calibration never saw (docs/suite.md, "What was tried")
JUDGE_SIGNALS = {
    "STA": ("p_toxic", "p_toxic_input", "sentiment"),
    "SIM": ("cosine", "positive_insertions", "negation_change"),
    "FL": ("fl_base", "mean_slor", "min_slor", "end_slor", "sum_negative_slor", "mean_slor_change",
           "unseen_bigram_change", "repeats"),
}
C = 0.1


@dataclass
class Calibration:
    signals: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(z @ self.coef + self.intercept)))

    @classmethod
    def fit(cls, signals: Sequence[str], x: np.ndarray, labels: np.ndarray) -> "Calibration":
        """Logistic regression on soft labels (the cross-entropy against people's mean label) with an L2
        penalty, each weight held to its signal's declared sign (``SIGNALS``)."""
        from scipy.optimize import minimize

        mean, scale = x.mean(0), x.std(0) + 1e-9
        z = (x - mean) / scale
        y = np.asarray(labels, dtype=np.float64)

        def loss(params):
            w, b = params[:-1], params[-1]
            t = z @ w + b
            p = 1.0 / (1.0 + np.exp(-t))
            value = np.sum(np.logaddexp(0, -t) * y + np.logaddexp(0, t) * (1 - y)) + w @ w / (2 * C)
            grad = z.T @ (p - y) + w / C
            return value, np.r_[grad, np.sum(p - y)]

        signs = [SIGNALS[s][1] for s in signals]
        bounds = [(0, None) if d > 0 else (None, 0) if d < 0 else (None, None) for d in signs] + [(None, None)]
        fit = minimize(loss, np.zeros(len(signals) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
        return cls(tuple(signals), mean, scale, fit.x[:-1].astype(np.float64), float(fit.x[-1]))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}.mean": self.mean, f"{prefix}.scale": self.scale, f"{prefix}.coef": self.coef,
                f"{prefix}.intercept": np.array([self.intercept])}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str, signals: Sequence[str]) -> "Calibration":
        return cls(tuple(signals), arrays[f"{prefix}.mean"], arrays[f"{prefix}.scale"], arrays[f"{prefix}.coef"],
                   float(arrays[f"{prefix}.intercept"][0]))

    def weights(self) -> dict[str, float]:
        return {s: round(float(w), 4) for s, w in zip(self.signals, self.coef)}


@dataclass
class Judges:
    """The base models, their signals and the three calibrations, with what they were fitted on."""

    signals: Signals
    calibrations: dict[str, Calibration]
    human: HumanLabels
    human_signals: dict[str, np.ndarray]  # judge -> [600, k], the calibration's training rows
    info: dict = field(default_factory=dict)

    def score(self, judge: str, inputs: Sequence[str], rewrites: Sequence[str]) -> np.ndarray:
        x = self.signals.compute(JUDGE_SIGNALS[judge], inputs, rewrites)
        return self.calibrations[judge].predict(x)

    def heldout(self, judge: str, x: np.ndarray, folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Scores for rows whose signals are ``x``, fold by fold: each fold is (its rows, a mask over the
        calibration rows to leave out, from :meth:`excluded`), and its rows are scored by a calibration fitted
        without those. A fold that leaves nothing out gets the shipped judge."""
        out = np.full(len(x), np.nan)
        for rows, drop in folds:
            shipped = self.calibrations[judge]
            calibration = shipped if not drop.any() else Calibration.fit(
                shipped.signals, self.human_signals[judge][~drop], self.human.labels[judge][~drop])
            out[rows] = calibration.predict(x[rows])
        return out

    def folds(self, ids: np.ndarray, inputs: Sequence[str], systems: Sequence[str] | None = None) -> list:
        """The plan :meth:`heldout` takes for rows ``inputs`` (and ``systems``) dealt to folds ``ids``: each
        fold's rows, and the calibration rows that share an input (or, given ``systems``, a system) with them."""
        inputs = np.asarray(inputs, dtype=object)
        systems = None if systems is None else np.asarray(systems, dtype=object)
        return [(ids == f, self.excluded(inputs[ids == f], None if systems is None else systems[ids == f]))
                for f in np.unique(ids)]

    def excluded(self, inputs: Sequence[str], systems: Sequence[str] | None = None) -> np.ndarray:
        """Mask over the calibration rows that share an input with ``inputs`` (or, given ``systems``, that
        were written by one of them)."""
        if systems is not None:
            return np.isin(np.asarray(self.human.systems or [], dtype=object), np.asarray(systems, dtype=object))
        return np.isin(np.asarray(self.human.inputs, dtype=object), np.asarray(inputs, dtype=object))


def load_judges(data_dir: str | Path | None, cache_dir: str | Path | None, device: str = "cpu") -> Judges:
    """The suite's judges for ``data_dir``: base models trained and calibrations fitted on first use, cached."""
    from ..util.paths import resolve_data_dir

    return _load(Path(resolve_data_dir(data_dir)).resolve(), str(cache_dir) if cache_dir else None, str(device))


@lru_cache(maxsize=4)
def _load(data_dir: Path, cache_dir: str | None, device: str) -> Judges:
    human_path = data_dir / HUMAN_FILE
    if not human_path.is_file():
        raise UserError(f"{human_path}: people's labels, needed to calibrate the judges (pass --data-dir)")
    human = read_human(human_path)
    sta = load_or_train_sta(data_dir, cache_dir, seed=JUDGE_SEED)
    fluency = load_or_train_fl(data_dir, cache_dir, seed=JUDGE_SEED)
    signals = Signals(sta, fluency, get_encoder(device))
    key = store.fingerprint([human_path], {"suite": SUITE_VERSION, "signals": JUDGE_SIGNALS, "C": C,
                                           "sta": sta.info["judge_id"], "fl": fluency.info["judge_id"]})
    path = store.metrics_cache(cache_dir, "judges") / f"judges-v{SUITE_VERSION}-{key}.safetensors"
    human_signals = {judge: signals.compute(names, human.inputs, human.rewrites) for judge, names in JUDGE_SIGNALS.items()}
    found = store.cached(path)
    if found is not None:
        arrays, info = found
        calibrations = {j: Calibration.from_arrays(arrays, j, JUDGE_SIGNALS[j]) for j in JUDGE_SIGNALS}
    else:
        calibrations = {j: Calibration.fit(JUDGE_SIGNALS[j], human_signals[j], human.labels[j]) for j in JUDGE_SIGNALS}
        judges = Judges(signals, calibrations, human, human_signals)
        info = {"agreement": heldout_agreement(judges),"suite_version": SUITE_VERSION, "calibrated_on": f"{HUMAN_FILE} ({len(human)} rewrites of "
                f"{len(set(human.inputs))} inputs, three people each; labels: style, meaning, fluency)",
                "model": f"logistic regression on soft labels (L2, C={C}) over standardised signals, each weight "
                         "held to its signal's declared sign",
                "signals": {j: list(s) for j, s in JUDGE_SIGNALS.items()},
                "weights": {j: c.weights() for j, c in calibrations.items()},
                "base_models": {"sta": sta.info["judge_id"], "fl": fluency.info["judge_id"]}}
        arrays = {k: v for j, c in calibrations.items() for k, v in c.to_arrays(j).items()}
        store.save(path, arrays, info)
    info["cache_file"], info["judge_id"] = str(path), path.stem
    return Judges(signals, calibrations, human, human_signals, info)


def heldout_agreement(judges: Judges, folds: int = 5) -> dict:
    """Sentence-level agreement with the calibration's own labels, held out (folds by input), as the boards
    quote it; ``sro-bench suite agreement`` gives the same figures with intervals and more."""
    from .agreement import auc, fold_ids, spearman

    plan = judges.folds(fold_ids(judges.human, "input", folds), judges.human.inputs)
    scores = {j: judges.heldout(j, judges.human_signals[j], plan) for j in JUDGE_SIGNALS}
    scores["J"] = scores["STA"] * scores["SIM"] * scores["FL"]
    out = {j: {"spearman": round(spearman(v, judges.human.labels[j]), 3),
               "auc": round(auc(v, judges.human.labels[j] >= 0.5), 3)} for j, v in scores.items()}
    return {**out, "folds": f"{folds} folds by input", "command": "sro-bench suite agreement"}


METRIC_OF = {"sta": "STA", "sim": "SIM", "fl": "FL"}
DEFINITION = {
    "STA": "estimated share of people who find the rewrite non-toxic",
    "SIM": "estimated people's score for meaning kept (0, 0.5 or 1 each, averaged)",
    "FL": "estimated people's score for fluency (0, 0.5 or 1 each, averaged)",
}


class CalibratedJudge(Metric):
    """One of STA, SIM, FL: a calibrated estimate in [0, 1] of people's mean label."""

    def __init__(self, name: str, judges: Judges):
        self.name, self.judges, self.judge = name, judges, METRIC_OF[name]

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        value = self.judges.score(self.judge, inputs, rewrites)
        info = {"score": DEFINITION[self.judge], "signals": list(JUDGE_SIGNALS[self.judge]),
                "weights": self.judges.calibrations[self.judge].weights(), "suite_version": SUITE_VERSION,
                "judge_id": f"{self.name}-{self.judges.info['judge_id']}",
                "agreement": self.judges.info.get("agreement"),
                "calibrated_on": self.judges.info.get("calibrated_on")}
        corpus = {self.name: float(value.mean()) if len(value) else float("nan")}
        return MetricResult({self.name: value}, corpus, info)


def _factory(name: str):
    def factory(context: MetricContext) -> CalibratedJudge:
        return CalibratedJudge(name, load_judges(context.data_dir, context.cache_dir, context.device))
    factory.__name__ = f"{name}_factory"
    return factory


sta_factory, sim_factory, fl_factory = (_factory(n) for n in ("sta", "sim", "fl"))
