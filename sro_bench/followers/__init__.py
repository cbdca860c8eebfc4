"""Followers (screeners): texts to P(toxic); built-ins, perturbations and a one-call builder."""

from __future__ import annotations

from typing import Sequence

from .base import Follower, FollowerContext
from .model import NBLRModel, fit_nblr
from .nblr import NBLRScreener, load_screener, screener_report, train_screener
from .perturb import Perturbation, apply_perturbations, parse_perturbation, unwrap

DEFAULT_FOLLOWER = "nblr"


def build_follower(name: str, context: FollowerContext, perturbations: Sequence[str] = ()) -> Follower:
    """The registered follower ``name`` built for ``context``, wrapped by ``perturbations`` specs."""
    from ..plugins import registry

    parsed = [parse_perturbation(s) for s in perturbations]  # bad specs fail before any training
    follower = registry().get("follower", name).factory(context)
    return apply_perturbations(follower, parsed, context)


__all__ = [
    "DEFAULT_FOLLOWER",
    "Follower",
    "FollowerContext",
    "NBLRModel",
    "NBLRScreener",
    "Perturbation",
    "apply_perturbations",
    "build_follower",
    "fit_nblr",
    "load_screener",
    "parse_perturbation",
    "screener_report",
    "train_screener",
    "unwrap",
]
