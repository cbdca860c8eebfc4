"""Run configuration: plain dataclasses with defaults; presets are named overrides of the game's."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError
from .leaders.base import LeaderConfig
from .objectives.config import ObjectiveConfig
from .settings import flag_of, setting, tracks_explicit


UNENDED = ("keep", "fail")
DECODES = ("greedy", "infill")


@tracks_explicit
@dataclass
class GameConfig:
    """One training run: the leader generates, the follower screens, the objective updates the leader."""

    epochs: float = setting(1.0, 'passes over the training inputs (fractions allowed)')
    max_steps: int | None = setting(100, 'stop after this many updates (None: run every epoch)', flag='--steps')
    batch_size: int = setting(16, 'B: toxic inputs per step')
    samples_per_input: int = setting(1, 'k: leader samples per input')
    guided_samples: int = setting(0, "of each input's k samples, how many are the leader's infill of the input with "
                                  "the words the follower objects to masked (follower-guided exploration; trained on "
                                  "as rewrites of the unmasked input)")
    decode: str = setting("greedy", "what the leader is conditioned on, in the game and when it rewrites: greedy (the "
                          "input) | infill (the input with the words the follower objects to masked: the leader "
                          "learns, and rewrites by, filling them; the follower is queried at rewriting time)",
                          choices=DECODES)
    temperature: float = setting(1.0, "sampling temperature while training (1: the policy's own distribution, as the paper)")
    lr: float = setting(2e-5, "AdamW learning rate (the paper's)")
    weight_decay: float = setting(0.01, 'AdamW weight decay')
    freeze_embeddings: bool = setting(False, "keep the leader's word embeddings and output layer fixed (tied in most leaders)", flag='--freeze-embeddings/--train-embeddings')
    warmup_steps: int = setting(0, 'linear learning-rate warm-up over this many steps')
    chosen_nll: float = setting(0.0, "weight of the token-mean NLL of chosen targets (passing samples), RPO's stabiliser")
    max_grad_norm: float | None = setting(1.0, 'gradient clipping (None: off, as in the released code)')
    max_new_tokens: int = setting(20, 'generation budget while training and rewriting (20 in the paper); a cap under --length-budget')
    length_budget: float = setting(0.0, "> 0: each input's budget is this many times its token count plus 2, capped by max_new_tokens")
    unended: str = setting("keep", 'a sample cut by the budget before its end token: keep (scored as cut, as the released code) | fail', choices=UNENDED)
    min_length_ratio: float = setting(0.0, "a sample with fewer words than this share of its input's fails (an empty one always does)")
    max_length_ratio: float = setting(0.0, "> 0: a sample with more words than this many times its input's, plus 2, fails")
    fail_repeats: bool = setting(False, 'a sample that repeats words or word trigrams more often than its input fails', flag='--fail-repeats/--allow-repeats')
    train_mode_sampling: bool = setting(False, 'sample with dropout on, as the released code does', flag='--train-mode-sampling')
    seed_faithful_logprob: bool = setting(False, "the released code's unshifted log-likelihood gather", flag='--seed-faithful-logprob')
    max_train_inputs: int | None = setting(None, 'use only the first N training inputs (after shuffling)')
    checkpoint_every: int = setting(50, 'steps between checkpoints (0: never)')
    eval_batch_size: int = setting(64, 'inputs per generation batch when rewriting')


PRESETS: dict[str, dict[str, Any]] = {
    # Fits the README's main job (leader preparation + game + evaluation) in under 30 minutes on 2 cores.
    # Each departure from the paper is measured in the README ("Departures from the paper").
    "cpu": {
        "max_steps": 100,
        "follower": "nblr-char",  # garbled words fail too
        "train_dataset": "paradetox-train",  # its toxic inputs only: short sentences, none cut
        "length_budget": 1.5,
        "max_new_tokens": 48,
        "unended": "fail",
        "min_length_ratio": 0.5,  # at 0.25 the leader learned to delete most of its input
        "freeze_embeddings": True,
        "chosen_nll": 1.0,
        "fail_repeats": True,  # the judge passes "a a a": adjacent repeats in dev rewrites 45-98 -> 8-28 of 671
    },
    # The paper's schedule: 15 epochs over dirty.csv, batch 1, lr 2e-5 (a GPU job).
    "paper": {
        "epochs": 15.0,
        "max_steps": None,
        "batch_size": 1,
        "lr": 2e-5,
        "weight_decay": 0.01,
        "max_grad_norm": None,
        "max_new_tokens": 20,
        "checkpoint_every": 5000,
    },
    # A few steps, for smoke tests and the robustness grid's --budget on CPU.
    "smoke": {"max_steps": 4, "batch_size": 4, "checkpoint_every": 0},
}


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


# Preset keys that are run settings, not game settings; used where the run leaves them None.
RUN_KEYS = ("follower", "train_dataset")
DEFAULT_FOLLOWER = "nblr"


def preset_run_settings(preset: str) -> dict[str, Any]:
    """The run-level settings a preset chooses (follower, training set)."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    return {k: v for k, v in PRESETS[preset].items() if k in RUN_KEYS}


def apply_preset(game: GameConfig, preset: str, overrides: dict[str, Any] | None = None) -> GameConfig:
    """The preset's settings on top of the defaults, then explicit overrides on top of those."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    values = {**{k: v for k, v in PRESETS[preset].items() if k not in RUN_KEYS}, **(overrides or {})}
    unknown = set(values) - {f.name for f in dataclasses.fields(GameConfig)}
    if unknown:
        raise UserError(f"unknown game setting(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(game, **values)


MAX_SAMPLES_PER_STEP = 65_536
MAX_TOKENS = 32_768
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
    from .files import read_json_object

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
    from .dataclass_json import from_json
    from .records import without_retired

    return from_json(RunConfig, without_retired(data), where)
