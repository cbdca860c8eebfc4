"""Objectives: losses over leader log-likelihoods and follower verdicts.

Importing the package loads no torch (the CLI reads the config for its help); the losses load on first use."""

from ..util.lazy import lazy_attributes
from .config import (DPOConfig, GRPOConfig, GRPOFluentConfig, GRPOKeepConfig, KTOConfig, ObjectiveConfig,
                     PreferenceConfig, RobustSROConfig, SFTConfig, SROConfig)

_LAZY = {"LossTerms": "base", "Objective": "base", "smoothed_sigmoid_loss": "base", "DPO": "comparisons",
         "KTO": "comparisons", "SFT": "comparisons", "RejectionSamplingSFT": "comparisons", "SRO": "sro",
         "RobustSRO": "sro", "GRPO": "group", "GRPOKeep": "group", "GRPOFluent": "group", "BestOfK": "group"}
__all__ = ["DPOConfig", "GRPOConfig", "GRPOFluentConfig", "GRPOKeepConfig", "KTOConfig", "ObjectiveConfig",
           "PreferenceConfig", "RobustSROConfig", "SFTConfig", "SROConfig", *_LAZY]
__getattr__ = lazy_attributes(__name__, _LAZY)
