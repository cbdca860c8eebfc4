"""How to build a leader: its own settings, and what it gets from the run. Plain dataclasses, no torch, so
that the CLI's help and ``sro-bench list`` stay fast."""

from __future__ import annotations

from dataclasses import dataclass

from ..context import Context
from ..util.paths import DataPaths
from ..util.settings import Settings, check_ranges, setting

MAX_TOKENS = 32_768  # the longest input or generation budget a run may ask for


@dataclass
class LeaderConfig(Settings):
    """How to build a leader: the leader's own settings (the run's seed and paths come in a
    :class:`LeaderContext`). Every field has a default; the CLI's leader options are generated from these."""

    name: str = setting("minilm", 'registered leader name, or hf:<hub-id-or-local-dir>', flag='--leader')
    input_prefix: str = setting("", 'prepended to every input, e.g. "paraphrase: " for the paper\'s T5')
    max_input_length: int = setting(64, 'inputs are truncated to this many tokens')
    lora_r: int = setting(0, 'LoRA rank; 0 trains all weights')
    lora_alpha: int = setting(16, 'LoRA scaling numerator')
    lora_dropout: float = setting(0.05, 'dropout inside LoRA layers')
    lora_target_modules: tuple[str, ...] | None = setting(None, 'None: a sensible default per architecture', comma=True)
    device: str = setting("auto", 'auto | cpu | cuda | cuda:N')
    precision: str = setting("auto", 'auto | fp32 | bf16 | fp16', choices=('auto', 'fp32', 'bf16', 'fp16'))
    extra: dict = setting(default_factory=dict, help='leader-specific options (e.g. {"arch": "causal"} for tiny)', cli=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every value in range (a one-line UserError naming the option)."""
        check_ranges(self, [
            (1 <= self.max_input_length <= MAX_TOKENS,
             f"--max-input-length must be in [1, {MAX_TOKENS:,}], got {self.max_input_length:,}"),
            (self.lora_r >= 0, f"--lora-r must be >= 0, got {self.lora_r}"),
            (0 <= self.lora_dropout < 1, f"--lora-dropout must be in [0, 1), got {self.lora_dropout}"),
        ])


@dataclass(frozen=True)
class LeaderContext(Context):
    """What a leader factory gets from the run (``factory(config: LeaderConfig, context: LeaderContext)``): the
    run's :class:`~sro_bench.context.Context` (seed, data and cache directories, progress)."""


@dataclass
class PrepareConfig(DataPaths):
    """`sro-bench leader prepare`: which leader to pre-train once and cache (only ``minilm`` needs it)."""

    name: str = setting("minilm", "the leader to prepare", argument=True)
    steps: int | None = setting(None, "copier training steps (None: the recipe's; another count is another cached "
                                      "copier)")
    force: bool = setting(False, "prepare again even if a cached leader exists")

    def __post_init__(self) -> None:
        check_ranges(self, [(self.steps is None or self.steps > 0, f"--steps must be > 0, got {self.steps}")])
