"""Leaders: the rewriter models being trained. ``build_leader`` turns a :class:`LeaderConfig` into one."""

from __future__ import annotations

from .base import Leader, LeaderConfig, Sample
from .hf import HFLeader
from .saved import build_hf_leader, load_leader

__all__ = ["HFLeader", "Leader", "LeaderConfig", "Sample", "build_leader", "load_leader"]


def build_leader(config: LeaderConfig) -> Leader:
    """``hf:<hub-id-or-dir>`` directly; any other name through the plugin registry."""
    if config.name.startswith("hf:"):
        return build_hf_leader(config)
    from ..plugins import registry

    return registry().get("leader", config.name).factory(config)
