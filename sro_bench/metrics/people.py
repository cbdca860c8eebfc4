"""``sro-bench suite agreement``: the suite held against a file of people's labels (held out where a judge was
calibrated on them), as a config and one call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import UserError
from ..util.settings import setting
from .agreement import SPLITS, Estimate, agreement, fold_ids, rounded, spearman, worst_rows
from .human import HUMAN_FILE, SHARED_COLUMNS, read_human
from .judge_sets import OFFLINE, JudgeOptions, JudgeSet

LABELS = {"STA": "sta_column", "SIM": "sim_column", "FL": "fl_column", "J": "j_column"}


@dataclass
class AgreementConfig(JudgeOptions):
    human: Path | None = setting(None, "people's labels, TSV (.tsv) or CSV, one rewrite a row (none: the shared "
                                       f"human evaluation, DATA_DIR/{HUMAN_FILE})", path="file")
    input_column: str = setting(SHARED_COLUMNS["input"], "the column holding the toxic input")
    rewrite_column: str = setting(SHARED_COLUMNS["rewrite"], "the column holding the rewrite")
    system_column: str = setting(SHARED_COLUMNS["system"], "the column naming the system that wrote the rewrite "
                                                           "(system-level agreement; skipped if absent)")
    sta_column: str = setting(SHARED_COLUMNS["STA"], "people's non-toxicity label in [0, 1] ('' for none)")
    sim_column: str = setting(SHARED_COLUMNS["SIM"], "people's meaning-kept label in [0, 1] ('' for none)")
    fl_column: str = setting(SHARED_COLUMNS["FL"], "people's fluency label in [0, 1] ('' for none)")
    j_column: str = setting("", "people's joint label in [0, 1] ('': STA x SIM x FL of the three labels)")
    metrics: list[str] | None = setting(None, help="the judges to hold against people (metrics whose figures are STA, "
                                        "SIM or FL); None: the judge set's (offline: sta, sim, fl)", comma=True)
    split: str = setting("input", "held-out folds by input (the figures the docs report) or by system (a judge "
                                  "scored on a system its calibration never saw)", choices=SPLITS)
    folds: int = setting(5, "folds when split by input")
    resamples: int = setting(1000, "bootstrap resamples (over inputs) for the 95% intervals")
    seed: int = setting(0, "seed of the folds and the bootstrap")
    worst: int = setting(5, "rows per judge where judge and people disagree most, to look at")
    json_out: Path | None = setting(None, "also write the report as JSON here", flag="--json", path="output-file")
    data_dir: Path | None = setting(None, "the data directory (none: $SRO_BENCH_DATA, else ../shared/data)")
    cache_dir: Path | None = setting(None, "cache for the judges' trained models")

    def __post_init__(self):
        for name in ("folds", "resamples"):
            if getattr(self, name) < (2 if name == "folds" else 1):
                raise UserError(f"--{name}: must be at least {2 if name == 'folds' else 1}, got {getattr(self, name)}")
        if self.worst < 0:
            raise UserError(f"--worst: must be >= 0, got {self.worst}")
        if self.split not in SPLITS:
            raise UserError(f"--split: one of {', '.join(SPLITS)}, got {self.split!r}")
        if self.metrics is not None and not self.metrics:
            raise UserError("--metrics: name at least one metric")


def run_agreement(config: AgreementConfig) -> dict:
    """Read the labels, score their rewrites held out, and return (and with ``json_out`` write) the report."""
    from ..util.files import atomic_write_text, output_problem
    from ..util.paths import resolve_data_dir

    data_dir = resolve_data_dir(config.data_dir)
    path = config.human or data_dir / HUMAN_FILE
    if config.json_out is not None and (problem := output_problem(config.json_out)):
        raise UserError(f"--json {config.json_out}: {problem}")
    explicit = config.explicit_fields
    human = read_human(path, input_col=config.input_column, rewrite_col=config.rewrite_column,
                       system_col=config.system_column or None,
                       label_cols={judge: getattr(config, field) for judge, field in LABELS.items()},
                       optional=frozenset({"system", *(j for j, f in LABELS.items() if f not in explicit)}))
    if config.split == "system" and not human.systems:
        raise UserError(f"--split system: {path} has no system column {config.system_column!r}")
    judges = config.checked_judge_set()
    metrics = config.metrics or ([m for m in judges.metrics if m not in ("bleu", "chrf", "self-bleu", "edits")]
                                 if judges.metrics is not None else ["sta", "sim", "fl"])
    report = measure(human, data_dir=data_dir, cache_dir=config.cache_dir, metrics=metrics, split=config.split,
                     folds=config.folds, resamples=config.resamples, seed=config.seed, worst=config.worst,
                     judge_set=judges, models=config.judge_models())
    if config.json_out is not None:
        atomic_write_text(Path(config.json_out), json.dumps(report, indent=2) + "\n")
    return report


def measure(human, *, data_dir=None, cache_dir=None, metrics: Sequence[str] = ("sta", "sim", "fl"),
            split: str = "input", folds: int = 5, resamples: int = 1000, seed: int = 0, worst: int = 5,
            judge_set: JudgeSet = OFFLINE, models: tuple[tuple[str, str], ...] = ()) -> dict:
    """Score ``human``'s rewrites with the suite's judges and compare them with people's labels.

    A judge calibrated on people is scored on each fold by a calibration fitted without the labels of that
    fold's inputs (or, with ``split="system"``, of that fold's system), so every figure is held out; other
    metrics score every row as they are. J is the product of the held-out STA, SIM and FL."""
    from .base import MetricContext
    from .calibration import JUDGE_SIGNALS, CalibratedJudge
    from .suite import Suite, figure_name

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    suite = Suite(MetricContext(data_dir=data_dir, cache_dir=cache_dir, models=models), list(metrics), judges=judge_set)
    ids = fold_ids(human, split, folds, seed)
    scores, method, signals, judge_ids, plan = {}, {}, {}, {}, None
    for name, metric in suite.metrics.items():
        if isinstance(metric, CalibratedJudge):
            judges, judge = metric.judges, metric.judge
            judge_ids[name] = f"{name}-{judges.info['judge_id']}"
            x = judges.signals.compute(JUDGE_SIGNALS[judge], human.inputs, human.rewrites)
            plan = plan or judges.folds(ids, human.inputs, human.systems if split == "system" else None)
            scores[judge] = judges.heldout(judge, x, plan)
            left = sum(int(drop.any()) for _, drop in plan)
            whose = "its system's" if split == "system" else "its inputs'"
            method[judge] = (f"held out: {len(plan)} folds by {split}, {left} of them refitted without {whose} labels")
            signals[judge] = {s: rounded(spearman(x[:, i], human.labels[judge])) for i, s in enumerate(JUDGE_SIGNALS[judge])
                              if judge in human.labels}
            continue
        out = metric.score(human.inputs, human.rewrites)
        for key, value in out.sentence.items():
            figure = figure_name(name, key)
            if figure in human.labels and figure not in scores:
                scores[figure], method[figure] = np.asarray(value, dtype=np.float64), "as scored (not calibrated)"
    if {"STA", "SIM", "FL"} <= scores.keys():
        scores["J"] = scores["STA"] * scores["SIM"] * scores["FL"]
        method["J"] = "STA x SIM x FL, each as above"
    report = agreement(scores, human.labels, human.groups(), human.systems, resamples=resamples, seed=seed)
    judges_out = {}
    for judge, entry in report.items():
        rows = worst_rows(scores[judge], human.labels[judge], worst)
        judges_out[judge] = {
            "label": human.columns.get(judge, "STA x SIM x FL" if judge == "J" else judge), "method": method[judge],
            **{k: (v.to_dict() if isinstance(v, Estimate) else v) for k, v in entry.items()},
            "signals": signals.get(judge, {}),
            "worst": [{"input": human.inputs[i], "rewrite": human.rewrites[i],
                       **({"system": human.systems[i]} if human.systems else {}),
                       "judge": rounded(scores[judge][i]), "people": rounded(human.labels[judge][i])} for i in rows],
        }
    return {"file": human.path, "rows": len(human), "inputs": len(set(human.inputs)),
            "systems": sorted(set(human.systems)) if human.systems else None, "split": split,
            "folds": int(len(np.unique(ids))), "resamples": resamples, "seed": seed,
            "judge_set": judge_set.name, "judge_ids": judge_ids,
            "judges": judges_out}
