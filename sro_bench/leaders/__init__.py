"""Leaders: the rewriter models being trained. ``build_leader`` turns a :class:`LeaderConfig` into one.

Importing the package loads no torch (the CLI reads the config for its help); the models load on first use."""

from __future__ import annotations

from ..util.lazy import lazy_attributes
from .config import LeaderConfig, LeaderContext

__all__ = ["HFLeader", "Leader", "LeaderConfig", "LeaderContext", "Sample", "build_leader", "load_leader"]
_LAZY = {"HFLeader": "hf", "Leader": "base", "Sample": "base", "build_hf_leader": "saved", "load_leader": "saved"}


__getattr__ = lazy_attributes(__name__, _LAZY)


def build_leader(config: LeaderConfig, context: LeaderContext | None = None):
    """``hf:<hub-id-or-dir>`` directly; any other name through the plugin registry."""
    import torch

    context = context or LeaderContext()
    torch.manual_seed(context.seed)  # LoRA's and fresh models' initial weights follow the run's seed
    if config.name.startswith("hf:"):
        from .saved import build_hf_leader

        return build_hf_leader(config, context)
    from ..plugins import registry

    return registry().get("leader", config.name).factory(config, context)
