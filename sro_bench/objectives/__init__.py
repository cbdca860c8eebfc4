"""Objectives: losses over leader log-likelihoods and follower verdicts."""

from .base import LossTerms, Objective, smoothed_sigmoid_loss  # noqa: F401
from .config import ObjectiveConfig  # noqa: F401
from .comparisons import DPO, KTO, RejectionSamplingSFT  # noqa: F401
from .sro import SRO, RobustSRO  # noqa: F401
from .group import GRPO, BestOfK  # noqa: F401
