"""Run configuration: what `sro-bench run` needs, the game's settings (``training.config``) among them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..leaders.config import LeaderConfig
from ..metrics.judge_sets import JudgeOptions
from ..objectives.config import ObjectiveConfig
from ..training.config import PRESETS, RUN_KEYS, GameConfig
from ..util.settings import Settings, check_ranges, setting
from .run_dirs import check_run_id


@dataclass
class RunConfig(JudgeOptions):
    """Everything `sro-bench run` needs; `sro_bench.run(RunConfig(...))` is the same from Python."""

    method: str = setting("sro", 'an objective (trains a leader) or a training-free rewriter')
    leader: LeaderConfig = field(default_factory=LeaderConfig)
    follower: str | None = setting(None, "the training follower (screener); None: the preset's (nblr unless it says otherwise)")
    perturb: list[str] = setting(default_factory=list, help="a follower perturbation, repeatable: flip:P, threshold:T, swap:NAME, ...")
    objective: ObjectiveConfig | None = field(
        default=None, metadata={"help": "the method's settings (the class it registered); None: that class's defaults"})
    game: GameConfig = field(default_factory=GameConfig)
    preset: str = setting("cpu", "named game settings; the game settings you give win over the preset's", choices=tuple(PRESETS))
    train_dataset: str | None = setting(None, "registered dataset; None: the preset's, else dirty for on-policy, paradetox-train for pairs")
    eval_file: Path | None = setting(None, 'TSV/CSV/text of inputs (+ references); None: the ParaDetox dev split', path="file")
    eval_limit: int | None = setting(None, 'score only the first N evaluation rows (quick checks)')
    exclude: Path | None = setting(None, 'one sentence a line, never trained on', path="file")
    score_start: bool = setting(True, "training methods: also rewrite and score the evaluation set with the untrained "
                                "leader (same decoding), so the record shows what the training added",
                                flag="--score-start/--no-score-start")
    metrics: list[str] | None = setting(None, 'suite metrics (None: every registered metric)', comma=True)
    data_dir: Path | None = setting(None, '../shared/data unless given (or $SRO_BENCH_DATA)')
    cache_dir: Path | None = setting(None, 'prepared leaders and trained screeners ($SRO_BENCH_CACHE)')
    runs_dir: Path = setting(Path("runs"), 'where run directories are created')
    run_id: str | None = setting(None, "the run directory's name (None: generated)")
    seed: int = setting(0, 'seeds data order, sampling, verdict flips and perturbations')
    report_to: list[str] = setting(default_factory=list, comma=True,
                                   help="experiment trackers, comma-separated: tensorboard, wandb, mlflow (none by default)")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every value in range, the sections' own too, and the objective's settings of the method's class; run
        again before a run starts, as a field may be set after construction."""
        objective = None if self.objective is None else self.method_settings()  # None: the registry is not needed yet
        for section in (self.leader, objective, self.game):
            if section is not None:
                section.validate()
        if self.run_id is not None:
            check_run_id(self.run_id)
        check_ranges(self, [
            (0 <= self.seed < SEED_LIMIT, f"--seed must be in [0, 2**32), got {self.seed}"),
            (self.eval_limit is None or self.eval_limit >= 1, f"--eval-limit must be >= 1, got {self.eval_limit}"),
        ])

    def method_settings(self) -> ObjectiveConfig | None:
        """``objective``, checked to be the settings class the method registered, or that class's defaults; None
        for a training-free rewriter (which takes none)."""
        settings = objective_settings(self.method)
        if settings is None:
            if self.objective is not None:
                raise UserError(f"--method {self.method} is a training-free rewriter; it takes no objective settings "
                                f"(got {type(self.objective).__name__})")
            return None
        if self.objective is None:
            return settings()
        if not isinstance(self.objective, settings):
            raise UserError(f"--method {self.method} takes {settings.__name__} settings, got {type(self.objective).__name__}")
        return self.objective


DEFAULT_FOLLOWER = "nblr"


def preset_run_settings(preset: str) -> dict[str, Any]:
    """The run-level settings a preset chooses (follower, training set)."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    return {k: v for k, v in PRESETS[preset].items() if k in RUN_KEYS}


SEED_LIMIT = 2**32  # numpy's generators take seeds in [0, 2**32)


def read_run_config(run_dir: Path) -> RunConfig:
    """The resolved configuration a run directory was made with (its config.json)."""
    from ..util.files import read_json_object

    path = Path(run_dir) / "config.json"
    if not path.exists():
        raise UserError(f"{run_dir}: not a run directory (no config.json)")
    data = read_json_object(path, "run configuration")
    missing = [key for key in ("method", "leader", "game", "objective", "seed") if key not in data]
    if missing:
        raise UserError(f"{path}: not a complete run configuration (no {missing[0]!r} setting)")
    return from_dict(data, str(path))


def from_dict(data: Any, where: str = "run configuration") -> RunConfig:
    """A RunConfig back from its JSON form (as saved in a run directory); ``where`` names it in errors."""
    from ..util.dataclass_json import from_json
    from .records import without_retired

    data = without_retired(data)
    objective = data.get("objective") if isinstance(data, dict) else None
    config = from_json(RunConfig, {**data, "objective": None} if isinstance(data, dict) else data, where)
    if objective is not None:
        settings = objective_settings(config.method, where)
        config.objective = None if settings is None else from_json(
            settings, _current_objective_fields(settings, objective), where, prefix="objective.")
    return config


def objective_settings(method: str, where: str = "--method") -> type[ObjectiveConfig] | None:
    """The settings class the objective ``method`` registered (None for a training-free rewriter)."""
    from ..plugins import registry

    component = registry().method(method)
    if component.kind != "objective":
        return None
    settings = component.config or ObjectiveConfig
    if not issubclass(settings, ObjectiveConfig):
        raise UserError(f"{where}: objective {method!r} from {component.distribution!r} registered config="
                        f"{settings.__name__}, which does not subclass ObjectiveConfig")
    return settings


# Before each objective had its own settings, one class held every objective's (saved in older run directories).
SHARED_OBJECTIVE_FIELDS = frozenset({"beta", "label_smoothing", "p_flip", "assumed_flip", "dr_beta", "kto_desirable_weight",
                                     "kto_undesirable_weight", "grpo_kl", "kept_measure", "dpo_backend", "options"})


def _current_objective_fields(settings: type, saved: Any) -> Any:
    """An older run's shared objective section as ``settings``' fields: another method's fields and the old
    "objective's default" Nones left out (a current section passes through unchanged)."""
    if not isinstance(saved, dict):
        return saved
    fields = {f.name: f for f in dataclasses.fields(settings)}
    retired = {k for k, v in saved.items() if k in SHARED_OBJECTIVE_FIELDS
               and (k not in fields or (v is None and fields[k].default is not None))}
    return {k: v for k, v in saved.items() if k not in retired}
