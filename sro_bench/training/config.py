"""The game's settings (one training run) and the presets: named overrides of them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import UserError
from ..leaders.config import MAX_TOKENS
from ..util.settings import Settings, check_ranges, setting


UNENDED = ("keep", "fail")
DECODES = ("greedy", "infill")
MAX_SAMPLES_PER_STEP = 65_536


@dataclass
class GameConfig(Settings):
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

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every value in range; run again before a run starts, as a field may be set after construction."""
        check_ranges(self, [
            (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
            (self.samples_per_input >= 1, f"--samples-per-input must be >= 1, got {self.samples_per_input}"),
            (0 <= self.guided_samples <= self.samples_per_input,
             f"--guided-samples must be in [0, --samples-per-input = {self.samples_per_input}], got {self.guided_samples}"),
            (not (self.guided_samples and self.decode == "infill"),
             f"--guided-samples {self.guided_samples} and --decode infill: with infill decoding every sample is a fill already"),
            (0 < self.temperature <= 10, f"--temperature must be in (0, 10], got {self.temperature}"),
            (0 < self.lr <= 1, f"--lr must be in (0, 1], got {self.lr}"),
            (self.weight_decay >= 0, f"--weight-decay must be >= 0, got {self.weight_decay}"),
            (self.max_grad_norm is None or self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}"),
            (self.max_train_inputs is None or self.max_train_inputs >= 1, f"--max-train-inputs must be >= 1, got {self.max_train_inputs}"),
            (self.checkpoint_every >= 0, f"--checkpoint-every must be >= 0, got {self.checkpoint_every}"),
            (self.eval_batch_size >= 1, f"eval_batch_size must be >= 1, got {self.eval_batch_size}"),
            (self.epochs > 0, f"--epochs must be > 0, got {self.epochs}"),
            (self.max_steps is None or self.max_steps >= 0, f"--steps must be >= 0, got {self.max_steps}"),
            (self.max_new_tokens >= 1, f"--max-new-tokens must be >= 1, got {self.max_new_tokens}"),
            # Sizes past these allocate for minutes, or forever, before the first progress line.
            (self.batch_size * self.samples_per_input <= MAX_SAMPLES_PER_STEP,
             f"--batch-size x --samples-per-input is {self.batch_size * self.samples_per_input:,} samples a step "
             f"(at most {MAX_SAMPLES_PER_STEP:,})"),
            (self.max_new_tokens <= MAX_TOKENS, f"--max-new-tokens must be <= {MAX_TOKENS:,}, got {self.max_new_tokens:,}"),
            (self.eval_batch_size <= MAX_SAMPLES_PER_STEP,
             f"eval_batch_size must be <= {MAX_SAMPLES_PER_STEP:,}, got {self.eval_batch_size:,}"),
            (self.warmup_steps >= 0, f"--warmup-steps must be >= 0, got {self.warmup_steps}"),
            (self.chosen_nll >= 0, f"--chosen-nll must be >= 0, got {self.chosen_nll}"),
            (self.length_budget >= 0, f"--length-budget must be >= 0, got {self.length_budget}"),
            (self.unended in UNENDED, f"--unended must be one of {', '.join(UNENDED)}, got {self.unended!r}"),
            (0 <= self.min_length_ratio <= 1, f"--min-length-ratio must be in [0, 1], got {self.min_length_ratio}"),
            (self.max_length_ratio == 0 or self.max_length_ratio >= 1, f"--max-length-ratio must be 0 (off) or >= 1, got {self.max_length_ratio}"),
        ])


PRESETS: dict[str, dict[str, Any]] = {
    # Fits the README's main job (leader preparation + game + evaluation) in under 30 minutes on 2 cores.
    # Each departure from the paper is measured in docs/concepts.md (the `cpu` preset and its departures).
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


# Preset keys that are run settings, not game settings; used where the run leaves them None.
RUN_KEYS = ("follower", "train_dataset")


def apply_preset(game: GameConfig, preset: str, overrides: dict[str, Any] | None = None) -> GameConfig:
    """The preset's settings on top of the defaults, then explicit overrides on top of those."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    values = {**{k: v for k, v in PRESETS[preset].items() if k not in RUN_KEYS}, **(overrides or {})}
    unknown = set(values) - {f.name for f in dataclasses.fields(GameConfig)}
    if unknown:
        raise UserError(f"unknown game setting(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(game, **values)

