"""sro-bench: the reference harness for aligning language models as detoxifying rewriters.

From Python::

    import sro_bench
    record = sro_bench.run(sro_bench.RunConfig(method="sro"))
    record["metrics"]["J"]
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["RunConfig", "GameConfig", "LeaderConfig", "ObjectiveConfig", "run", "evaluate_files", "__version__"]


def __getattr__(name: str):
    # Lazy, so `import sro_bench` (and `sro-bench list`) stays fast: torch loads only when needed.
    if name in ("RunConfig", "GameConfig"):
        from . import config

        return getattr(config, name)
    if name == "LeaderConfig":
        from .leaders.base import LeaderConfig

        return LeaderConfig
    if name == "ObjectiveConfig":
        from .objectives.config import ObjectiveConfig

        return ObjectiveConfig
    if name == "run":
        from .runner import run

        return run
    if name == "evaluate_files":
        from .evaluate import evaluate_files

        return evaluate_files
    raise AttributeError(f"module 'sro_bench' has no attribute {name!r}")
