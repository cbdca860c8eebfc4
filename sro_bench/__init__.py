"""sro-bench: the reference harness for aligning language models as detoxifying rewriters.

From Python::

    import sro_bench
    result = sro_bench.run(sro_bench.RunConfig(method="sro"))
    result.record["metrics"]["J"]

Plugin authors need only this module: ``from sro_bench import hookimpl, Objective, Metric, ...``
(docs/PLUGINS.md).
"""

from __future__ import annotations

from .util.lazy import lazy_attributes

__version__ = "0.1.0"

# name -> the module that owns it; imported on first use, so `import sro_bench` (and `sro-bench list`)
# stays fast: torch loads only when a name that needs it is asked for.
_EXPORTS = {
    # running and scoring
    "run": "run.runner", "evaluate_files": "run.evaluate", "RunConfig": "run.config", "GameConfig": "training.config",
    "RunResult": "run.runner", "RunDir": "run.run_dirs", "Record": "run.records",
    # the plugin contract
    "hookimpl": "hookspecs", "UserError": "errors", "DataError": "errors", "Context": "context",
    "Leader": "leaders.base", "LeaderConfig": "leaders.config", "LeaderContext": "leaders.config", "Sample": "leaders.base",
    "Follower": "followers.base", "FollowerContext": "followers.base",
    "Objective": "objectives.base", "LossTerms": "objectives.base", "ObjectiveConfig": "objectives.config",
    "PreferenceConfig": "objectives.config", "SROConfig": "objectives.config", "setting": "util.settings",
    "masked_mean": "objectives.base", "smoothed_sigmoid_loss": "objectives.base",
    "Rewriter": "rewriters.base", "RewriterContext": "rewriters.base",
    "Metric": "metrics.base", "MetricContext": "metrics.base", "MetricResult": "metrics.base",
    "JudgeSet": "metrics.judge_sets", "JudgeModel": "metrics.judge_sets",
    "Dataset": "data.datasets",
}

__all__ = [*_EXPORTS, "__version__"]
__getattr__ = lazy_attributes(__name__, _EXPORTS)
