"""Leaders: the rewriter models being trained. ``build_leader`` turns a :class:`LeaderConfig` into one."""

from __future__ import annotations

import torch

from .base import Leader, LeaderConfig, LeaderContext, Sample
from .hf import HFLeader
from .saved import build_hf_leader, load_leader

__all__ = ["HFLeader", "Leader", "LeaderConfig", "LeaderContext", "Sample", "build_leader", "load_leader"]


def build_leader(config: LeaderConfig, context: LeaderContext | None = None) -> Leader:
    """``hf:<hub-id-or-dir>`` directly; any other name through the plugin registry."""
    context = context or LeaderContext()
    torch.manual_seed(context.seed)  # LoRA's and fresh models' initial weights follow the run's seed
    if config.name.startswith("hf:"):
        return build_hf_leader(config, context)
    from ..plugins import registry

    return registry().get("leader", config.name).factory(config, context)
