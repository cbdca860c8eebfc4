"""What a saved leader's directory holds: ``leader.json`` (its format and config) beside the
``save_pretrained`` files, and a LoRA adapter in its own folder."""

from __future__ import annotations

from .config import LeaderConfig

FORMAT = 1
LEADER_JSON = "leader.json"
ADAPTER_DIR = "adapter"


def config_to_json(config: LeaderConfig) -> dict:
    from ..util.dataclass_json import jsonable

    return jsonable(config)


def config_from_json(data: dict, where: str = LEADER_JSON) -> LeaderConfig:
    from ..util.dataclass_json import from_json

    return from_json(LeaderConfig, data, where, strict=False)  # leaders saved by other versions still load
