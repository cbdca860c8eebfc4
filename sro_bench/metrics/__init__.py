"""The evaluation suite: STA, SIM, FL, J, BLEU, chrF and self-BLEU, all offline; STA, SIM and FL calibrated on people.

Importing this package is cheap; torch, transformers, scikit-learn and sacrebleu load on first use.
"""

from .base import Metric, MetricContext, MetricResult  # noqa: F401
from .suite import BUILTINS, Suite, SuiteResult  # noqa: F401


def damage_check(data_dir=None, cache_dir=None, **kwargs) -> dict:
    """See :func:`sro_bench.metrics.damage.damage_check`."""
    from .damage import damage_check as run

    return run(data_dir, cache_dir, **kwargs)


def sta_check(data_dir=None, cache_dir=None, **kwargs) -> dict:
    """See :func:`sro_bench.metrics.sta.sta_check`."""
    from .sta import sta_check as run

    return run(data_dir, cache_dir, **kwargs)


__all__ = ["Metric", "MetricContext", "MetricResult", "Suite", "SuiteResult", "BUILTINS",
           "damage_check", "sta_check"]
