"""Run configuration: what `sro-bench run` needs, the game's settings (``training.config``) among them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..leaders.config import LeaderConfig
from ..objectives.config import ObjectiveConfig
from ..training.config import PRESETS, RUN_KEYS, GameConfig
from ..util.settings import check_ranges, setting, tracks_explicit
from .run_dirs import check_run_id


@tracks_explicit
@dataclass
class RunConfig:
    """Everything `sro-bench run` needs; `sro_bench.run(RunConfig(...))` is the same from Python."""

    method: str = setting("sro", 'an objective (trains a leader) or a training-free rewriter')
    leader: LeaderConfig = field(default_factory=LeaderConfig)
    follower: str | None = setting(None, "the training follower (screener); None: the preset's (nblr unless it says otherwise)")
    perturb: list[str] = setting(default_factory=list, help="a follower perturbation, repeatable: flip:P, threshold:T, swap:NAME, ...")
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    game: GameConfig = field(default_factory=GameConfig)
    preset: str = setting("cpu", "named game settings; the game settings you give win over the preset's", choices=tuple(PRESETS))
    train_dataset: str | None = setting(None, "registered dataset; None: the preset's, else dirty for on-policy, paradetox-train for pairs")
    eval_file: Path | None = setting(None, 'TSV/CSV/text of inputs (+ references); None: the ParaDetox dev split', path="file")
    eval_limit: int | None = setting(None, 'score only the first N evaluation rows (quick checks)')
    exclude: Path | None = setting(None, 'one sentence a line, never trained on', path="file")
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
        """Every value in range, the sections' own too; run again before a run starts, as a field may be set
        after construction."""
        for section in (self.leader, self.objective, self.game):
            section.validate()
        if self.run_id is not None:
            check_run_id(self.run_id)
        check_ranges(self, [
            (0 <= self.seed < SEED_LIMIT, f"--seed must be in [0, 2**32), got {self.seed}"),
            (self.eval_limit is None or self.eval_limit >= 1, f"--eval-limit must be >= 1, got {self.eval_limit}"),
        ])


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

    return from_json(RunConfig, without_retired(data), where)
