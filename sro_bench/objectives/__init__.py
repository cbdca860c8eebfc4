"""Objectives: losses over leader log-likelihoods and follower verdicts.

Importing the package loads no torch (the CLI reads the config for its help); the losses load on first use."""

from .config import ObjectiveConfig

_LAZY = {"LossTerms": "base", "Objective": "base", "smoothed_sigmoid_loss": "base", "DPO": "comparisons",
         "KTO": "comparisons", "RejectionSamplingSFT": "comparisons", "SRO": "sro", "RobustSRO": "sro",
         "GRPO": "group", "BestOfK": "group"}
__all__ = ["ObjectiveConfig", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'sro_bench.objectives' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
