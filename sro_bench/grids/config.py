"""A robustness grid's settings: which methods, perturbations and seeds, and where its cells run. The
`sro-bench robustness` options are generated from these fields."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..run.config import RunConfig
from ..util.settings import setting
from .executors import EXECUTORS

def parse_method_setting(text: str) -> tuple[str, str, Any]:
    """``grpo-keep:samples_per_input=4`` -> ("grpo-keep", "samples_per_input", 4), typed as the GameConfig field."""
    from ..training.config import GameConfig
    from ..util.dataclass_json import from_json, value_from_text

    method, sep, assignment = text.partition(":")
    name, eq, raw = assignment.partition("=")
    name = name.strip().replace("-", "_")
    if not (sep and eq and method.strip() and raw.strip()):
        raise UserError(f"bad --set {text!r}: expected METHOD:FIELD=VALUE, e.g. grpo-keep:samples_per_input=4")
    fields = [f.name for f in dataclasses.fields(GameConfig)]
    if name not in fields:
        raise UserError(f"bad --set {text!r}: {name!r} is not a game setting (known: {', '.join(fields)})")
    typed = from_json(GameConfig, {name: value_from_text(raw)}, f"bad --set {text!r}")
    return method.strip(), name, getattr(typed, name)


@dataclass
class RobustnessConfig:
    """A grid of ordinary runs of ``base``: methods x screener perturbations x seeds (`sro-bench robustness`,
    whose options are generated from these fields)."""

    methods: list[str] = setting(default_factory=lambda: ["sro", "sro-robust", "kto", "rs-sft"], comma=True,
                                 help="the methods compared")
    axes: list[str] = setting(default_factory=lambda: ["flip:0,0.05,0.1,0.2,0.3"], flag="--perturb",
                              help="perturbation axis KIND:V1,V2,... (repeatable): flip, flip-fail, flip-pass, threshold, swap, ...")
    seeds: list[int] = setting(default_factory=lambda: [0], comma=True, help="one cell per seed")
    out: Path = setting(Path("robustness"), "directory for the cells' run records (out/cells), the table and the plot",
                        required=True)
    budget: int | None = setting(None, "training steps per cell (short games for CPU); None: the preset's")
    method_settings: list[str] = setting(default_factory=list, flag="--set",
                                         help="a game setting for one method's cells, repeatable: METHOD:FIELD=VALUE, "
                                              "e.g. grpo-keep:samples_per_input=4")
    executor: str = setting("local", "where cells run: this machine, or Ray tasks (a local Ray, or the cluster at "
                            "--address)", choices=EXECUTORS)
    jobs: int = setting(1, "cells side by side (local: processes; ray without --address: the local instance's CPUs)")
    address: str | None = setting(None, "a Ray cluster to run cells on (with --executor ray)")
    gpus_per_cell: float = setting(0.0, "GPUs each Ray task asks for")
    robust_knows_noise: bool = setting(True, "sro-robust is told the screener's flip rate, as robust DPO assumes", cli=False)
    base: RunConfig = field(default_factory=RunConfig)  # settings shared by every cell
    game_overrides: dict[str, Any] = field(default_factory=dict)  # game settings for every cell, e.g. {"lr": 1e-4}
    method_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # per method, on top: {"grpo-keep": {"samples_per_input": 4}}

    def __post_init__(self) -> None:
        if not self.methods:
            raise UserError("--methods: no method given (e.g. --methods sro,kto)")
        if not self.seeds:
            raise UserError("--seeds: no seed given (e.g. --seeds 0,1)")
        if self.budget is not None:
            self.game_overrides = {**self.game_overrides, "max_steps": self.budget}
        for text in self.method_settings:
            method, name, value = parse_method_setting(text)
            if method not in self.methods:
                raise UserError(f"bad --set {text!r}: {method!r} is not one of --methods ({', '.join(self.methods)})")
            self.method_overrides = {**self.method_overrides,
                                     method: {**self.method_overrides.get(method, {}), name: value}}
