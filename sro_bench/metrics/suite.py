"""The suite: every registered metric applied to one set of rewrites, plus the joint scores.

Models load once per process (the loaders and the encoder are cached at module level), and
MiniLM runs once per distinct text: SIM and FL share the rewrites' pass through the encoder's
text-keyed cache, and the evaluation inputs, the same every run, stay cached between calls.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import UserError
from .base import SUITE_VERSION, Metric, MetricContext, MetricResult
from .judge_sets import OFFLINE, JudgeSet, check_models, known_sets

BUILTINS = ("sta", "sim", "fl", "bleu", "chrf", "self-bleu", "edits")
# (metric, key) -> the figure's name in SuiteResult, run records and leaderboards
_NAMES = {
    ("sta", "sta"): "STA", ("sim", "sim"): "SIM", ("fl", "fl"): "FL",
    ("bleu", "bleu"): "BLEU", ("chrf", "chrf"): "chrF", ("self-bleu", "self_bleu"): "self-BLEU",
    ("edits", "identical"): "identical", ("edits", "deletion"): "deletion", ("edits", "addition"): "addition",
    # the published judges of the other judge sets report on the same scale names (a board never mixes sets)
    ("paradetox-sta", "sta"): "STA", ("paradetox-fl", "fl"): "FL", ("pan-sta", "sta"): "STA", ("labse-sim", "sim"): "SIM",
}
ORDER = ("STA", "SIM", "FL", "J", "J_chrF", "BLEU", "chrF", "self-BLEU", "identical", "deletion", "addition")
JOINT = {
    "J": "mean over sentences of STA * SIM * FL (ParaDetox's sentence-level product; each judge an estimate of "
         "people's mean label in [0, 1])",
    "J_chrF": "mean over sentences of STA * SIM * sentence chrF / 100 (the PAN-2024 variant)",
}


def figure_name(metric: str, key: str) -> str:
    """A third-party metric's figure is ``metric`` when the key repeats it, else ``metric.key``."""
    return _NAMES.get((metric, key)) or (metric if key == metric else f"{metric}.{key}")


@dataclass
class SuiteResult:
    """Corpus figures, per-sentence arrays (shape ``[n]``) and what each metric used."""

    n: int
    has_references: bool
    corpus: dict[str, float] = field(default_factory=dict)
    sentence: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, dict] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    figures: dict[str, dict] = field(default_factory=dict)  # each corpus figure's display (its metric's declaration)
    judge_set: JudgeSet = OFFLINE

    def to_dict(self) -> dict:
        """JSON-ready: corpus figures (NaN as None), info and timings; no per-sentence arrays."""
        return {
            "version": SUITE_VERSION,
            "n": self.n,
            "references": self.has_references,
            "judges": self.judges(),
            "judge_set": self.judge_set.name,
            **({"judge_set_notes": list(self.judge_set.notes)} if self.judge_set.notes else {}),
            "figures": self.figures,
            "corpus": {k: _number(v) for k, v in self.corpus.items()},
            "info": _jsonable(self.info),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }

    def judges(self) -> dict[str, str]:
        """The trained judges that scored this result, by metric: records scored by different ones never
        share a leaderboard table."""
        return {name: info["judge_id"] for name, info in sorted(self.info.items())
                if isinstance(info, dict) and info.get("judge_id")}

    def sentence_dict(self) -> dict[str, list]:
        """Per-sentence scores as JSON-ready lists."""
        return {k: [_number(x) for x in v.tolist()] for k, v in self.sentence.items()}


class Suite:
    """Scores rewrites with the named metrics (default: every registered one).

    ``metrics`` supplies ready-made :class:`Metric` objects by name (tests, experiments); they
    replace the registered factories of the same name.
    """

    def __init__(self, context: MetricContext | None = None, metric_names: Sequence[str] | None = None,
                 *, metrics: dict[str, Metric] | None = None, judges: JudgeSet = OFFLINE):
        from ..plugins import registry

        self.context, self.judges = context or MetricContext(), judges
        given = dict(metrics or {})
        explicit = metric_names is not None
        if explicit:
            names = list(dict.fromkeys(metric_names))
        elif judges.metrics is not None:
            check_models(judges, dict(self.context.models))  # before any model loads: one line naming it
            names = list(judges.metrics)
        else:
            claimed = {m for s in known_sets().values() if s.metrics for m in s.metrics} - set(BUILTINS)
            known = registry().names("metric") + list(given)
            names = [n for n in BUILTINS if n in known] + sorted(set(known) - set(BUILTINS) - claimed)
        self.metrics: dict[str, Metric] = {}
        self.failed: dict[str, str] = {}
        self.origin: dict[str, str] = {}  # metric -> the distribution that registered it (named in errors)
        for name in names:
            if name in given:
                self.metrics[name], self.origin[name] = given[name], "given"
                continue
            component = registry().get("metric", name)  # UserError naming the known metrics
            self.origin[name] = component.distribution
            try:
                self.metrics[name] = _build(name, component.factory, self.context)
            except Exception as exc:
                if explicit or name in BUILTINS:
                    raise
                # an optional third-party metric that cannot build must not sink the suite
                self.failed[name] = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"metric {name!r} ({component.distribution}) failed to build: {exc}", stacklevel=2)

    def prepare(self, inputs: Sequence[str]) -> None:
        """Encode ``inputs`` ahead of time (the evaluation inputs are the same every run)."""
        if "sim" in self.metrics:
            from .embed import get_encoder

            get_encoder(self.context.device).encode(list(inputs))

    def score(self, inputs: Sequence[str], rewrites: Sequence[str],
              references: Sequence[Sequence[str]] | None = None) -> SuiteResult:
        inputs = [str(x) for x in inputs]
        rewrites = ["" if r is None else str(r) for r in rewrites]
        n = len(rewrites)
        if len(inputs) != n:
            raise UserError(f"{n} rewrites for {len(inputs)} inputs")
        if n == 0:
            raise UserError("nothing to score: no rewrites")
        if references is not None:
            references = [[refs] if isinstance(refs, str) else list(refs) for refs in references]
            if len(references) != n:
                raise UserError(f"{len(references)} reference rows for {n} rewrites")
            empty = next((i for i, refs in enumerate(references) if not refs), None)
            if empty is not None:
                raise UserError(f"row {empty + 1} has no reference (every row needs 1 or more)")
        result = SuiteResult(n=n, has_references=references is not None)
        owners: dict[str, str] = {}  # figure, lowercased -> the metric that reported it
        for name, error in self.failed.items():
            result.info[name] = {"error": error}
        for name, metric in self.metrics.items():
            if metric.needs_references and references is None:
                result.info[name] = {"skipped": "no references given"}
                continue
            start = time.perf_counter()
            out = metric.score(inputs, rewrites, references)
            result.seconds[name] = time.perf_counter() - start
            self._collect(result, name, out, metric.figures, owners)
        self._joint(result)
        result.judge_set = self.judges
        result.corpus = {k: result.corpus[k] for k in _ordered(result.corpus)}
        return result

    def _collect(self, result: SuiteResult, name: str, out: MetricResult, figures: dict[str, dict],
                 owners: dict[str, str]) -> None:
        """``out`` into ``result``, checked at the boundary: a plugin's mistake is refused naming the metric and
        its distribution, never passed on as a wrong J."""
        where = f"metric {name!r} ({self.origin.get(name, '?')})"
        if not isinstance(out, MetricResult):
            raise UserError(f"{where} returned {type(out).__name__}, not MetricResult")
        for key in {*out.sentence, *out.corpus}:
            figure = figure_name(name, key)
            other = owners.setdefault(figure.lower(), name)
            if other != name or figure.lower() in {k.lower() for k in JOINT}:
                whose = f"metric {other!r} ({self.origin.get(other, '?')})" if other != name else "the suite (J)"
                raise UserError(f"{where} reports a figure {figure!r}, which {whose} reports already")
        for key, value in out.sentence.items():
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (result.n,):
                raise UserError(f"{where} gave {key!r} of shape {arr.shape} for {result.n} rewrites")
            if not np.isfinite(arr).all():
                raise UserError(f"{where} gave {key!r} a non-finite value for rewrite {int(np.argmax(~np.isfinite(arr))) + 1}")
            result.sentence[figure_name(name, key)] = arr
        for key, value in out.corpus.items():
            result.corpus[figure_name(name, key)] = float(value)
            result.figures[figure_name(name, key)] = {"format": ".3f", **figures.get(key, {})}
        result.info[name] = dict(out.info)

    def _joint(self, result: SuiteResult) -> None:
        s, joint = result.sentence, self.judges.joint
        if joint and set(joint) <= s.keys():  # a set may define no J
            s["J"] = np.prod([s[figure] for figure in joint], axis=0)
            result.corpus["J"] = float(s["J"].mean())
            result.info["J"] = {"definition": JOINT["J"] if joint == ("STA", "SIM", "FL") else
                                f"mean over sentences of {' * '.join(joint)} ({self.judges.name})"}
        if self.judges.metrics is None and result.has_references and {"STA", "SIM", "chrF"} <= s.keys():
            s["J_chrF"] = s["STA"] * s["SIM"] * s["chrF"]
            result.corpus["J_chrF"] = float(s["J_chrF"].mean())
            result.info["J_chrF"] = {"definition": JOINT["J_chrF"]}


_BUILT: dict[tuple, Metric] = {}


def _build(name: str, factory, context: MetricContext) -> Metric:
    """One metric object per (name, context) per process: factories may load or train models."""
    key = (name, str(context.data_dir), str(context.cache_dir), context.device, context.seed, context.models)
    if key not in _BUILT:
        metric = factory(context)
        if not isinstance(metric, Metric):
            raise TypeError(f"metric factory {name!r} returned {type(metric).__name__}, not a Metric")
        _BUILT[key] = metric
    return _BUILT[key]


def _ordered(keys) -> list[str]:
    known = [k for k in ORDER if k in keys]
    return known + [k for k in keys if k not in ORDER]


def _number(x):
    if isinstance(x, (float, np.floating)) and not math.isfinite(float(x)):
        return None
    return float(x) if isinstance(x, (float, np.floating, np.integer)) else x


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        return _number(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is None or isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)
