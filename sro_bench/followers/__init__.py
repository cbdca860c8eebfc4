"""Followers (screeners): texts to P(toxic); built-ins, perturbations and a one-call builder.

Importing the package loads no numpy (the CLI reads the screener commands' settings); the rest loads on first use."""

from __future__ import annotations

from typing import Sequence

from ..util.lazy import lazy_attributes
from .config import ScreenerConfig

DEFAULT_FOLLOWER = "nblr"
_LAZY = {"Follower": "base", "FollowerContext": "base", "NBLRModel": "model", "fit_nblr": "model",
         "NBLRScreener": "nblr", "load_screener": "nblr", "screener_report": "nblr", "train_screener": "nblr",
         "Perturbation": "perturb", "apply_perturbations": "perturb", "parse_perturbation": "perturb", "unwrap": "perturb"}
__getattr__ = lazy_attributes(__name__, _LAZY)


def build_follower(name: str, context, perturbations: Sequence[str] = ()):
    """The registered follower ``name`` built for ``context`` (a FollowerContext), wrapped by ``perturbations`` specs."""
    from ..plugins import registry
    from .perturb import apply_perturbations, parse_perturbation

    parsed = [parse_perturbation(s) for s in perturbations]  # bad specs fail before any training
    follower = registry().get("follower", name).factory(context)
    return apply_perturbations(follower, parsed, context)


__all__ = ["DEFAULT_FOLLOWER", "ScreenerConfig", "build_follower", *_LAZY]
