"""Run configuration: what `sro-bench run` needs, the game's settings (``training.config``) among them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..leaders.config import LeaderConfig
from ..objectives.config import ObjectiveConfig
from ..training.config import MAX_SAMPLES_PER_STEP, MAX_TOKENS, PRESETS, RUN_KEYS, UNENDED, GameConfig
from ..util.settings import flag_of, setting, tracks_explicit


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


DEFAULT_FOLLOWER = "nblr"


def preset_run_settings(preset: str) -> dict[str, Any]:
    """The run-level settings a preset chooses (follower, training set)."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    return {k: v for k, v in PRESETS[preset].items() if k in RUN_KEYS}


SEED_LIMIT = 2**32  # numpy's generators take seeds in [0, 2**32)


def validate(config: RunConfig) -> None:
    """Every value in range; inf and nan are never valid settings (they pass a bare ``> 0``)."""
    g, o = config.game, config.objective
    for section in (g, o, config.leader):
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise UserError(f"{flag_of(f).split('/')[0]} must be a finite number, got {value}")
    if not 0 <= config.seed < SEED_LIMIT:
        raise UserError(f"--seed must be in [0, 2**32), got {config.seed}")
    if config.eval_limit is not None and config.eval_limit < 1:
        raise UserError(f"--eval-limit must be >= 1, got {config.eval_limit}")
    checks = [
        (g.batch_size >= 1, f"--batch-size must be >= 1, got {g.batch_size}"),
        (g.samples_per_input >= 1, f"--samples-per-input must be >= 1, got {g.samples_per_input}"),
        (0 <= g.guided_samples <= g.samples_per_input,
         f"--guided-samples must be in [0, --samples-per-input = {g.samples_per_input}], got {g.guided_samples}"),
        (not (g.guided_samples and g.decode == "infill"),
         f"--guided-samples {g.guided_samples} and --decode infill: with infill decoding every sample is a fill already"),
        (0 < g.temperature <= 10, f"--temperature must be in (0, 10], got {g.temperature}"),
        (0 < g.lr <= 1, f"--lr must be in (0, 1], got {g.lr}"),
        (g.weight_decay >= 0, f"--weight-decay must be >= 0, got {g.weight_decay}"),
        (g.max_grad_norm is None or g.max_grad_norm > 0, f"max_grad_norm must be > 0, got {g.max_grad_norm}"),
        (g.max_train_inputs is None or g.max_train_inputs >= 1, f"--max-train-inputs must be >= 1, got {g.max_train_inputs}"),
        (g.checkpoint_every >= 0, f"--checkpoint-every must be >= 0, got {g.checkpoint_every}"),
        (g.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {g.eval_batch_size}"),
        (g.epochs > 0, f"--epochs must be > 0, got {g.epochs}"),
        (g.max_steps is None or g.max_steps >= 0, f"--steps must be >= 0, got {g.max_steps}"),
        (g.max_new_tokens >= 1, f"--max-new-tokens must be >= 1, got {g.max_new_tokens}"),
        # Sizes past these allocate for minutes, or forever, before the first progress line.
        (g.batch_size * g.samples_per_input <= MAX_SAMPLES_PER_STEP,
         f"--batch-size x --samples-per-input is {g.batch_size * g.samples_per_input:,} samples a step "
         f"(at most {MAX_SAMPLES_PER_STEP:,})"),
        (g.max_new_tokens <= MAX_TOKENS, f"--max-new-tokens must be <= {MAX_TOKENS:,}, got {g.max_new_tokens:,}"),
        (g.eval_batch_size <= MAX_SAMPLES_PER_STEP,
         f"eval_batch_size must be <= {MAX_SAMPLES_PER_STEP:,}, got {g.eval_batch_size:,}"),
        (1 <= config.leader.max_input_length <= MAX_TOKENS,
         f"--max-input-length must be in [1, {MAX_TOKENS:,}], got {config.leader.max_input_length:,}"),
        (g.warmup_steps >= 0, f"--warmup-steps must be >= 0, got {g.warmup_steps}"),
        (g.chosen_nll >= 0, f"--chosen-nll must be >= 0, got {g.chosen_nll}"),
        (g.length_budget >= 0, f"--length-budget must be >= 0, got {g.length_budget}"),
        (g.unended in UNENDED, f"--unended must be one of {', '.join(UNENDED)}, got {g.unended!r}"),
        (0 <= g.min_length_ratio <= 1, f"--min-length-ratio must be in [0, 1], got {g.min_length_ratio}"),
        (g.max_length_ratio == 0 or g.max_length_ratio >= 1, f"--max-length-ratio must be 0 (off) or >= 1, got {g.max_length_ratio}"),
        (o.beta > 0, f"--beta must be > 0, got {o.beta}"),
        (0 <= o.label_smoothing < 0.5, f"--label-smoothing must be in [0, 0.5), got {o.label_smoothing}"),
        (o.p_flip is None or 0 <= o.p_flip <= 1, f"--p-flip must be in [0, 1], got {o.p_flip}"),
        (o.assumed_flip is None or 0 <= o.assumed_flip < 0.5, f"--assumed-flip must be in [0, 0.5), got {o.assumed_flip}"),
        (o.dr_beta >= 0, f"--dr-beta must be >= 0, got {o.dr_beta}"),
        (o.dpo_backend in ("auto", "trl", "game"), f"--dpo-backend must be auto, trl or game, got {o.dpo_backend!r}"),
        (config.leader.lora_r >= 0, f"--lora-r must be >= 0, got {config.leader.lora_r}"),
        (0 <= config.leader.lora_dropout < 1, f"--lora-dropout must be in [0, 1), got {config.leader.lora_dropout}"),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)


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
