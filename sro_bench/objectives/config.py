"""Options shared by the built-in objectives; a third-party objective may read what it needs."""

from __future__ import annotations

from dataclasses import dataclass

from ..util.settings import check_ranges, setting, tracks_explicit


@tracks_explicit
@dataclass
class ObjectiveConfig:
    """Options of the built-in objectives; a third-party objective reads what it needs, and its own
    settings from ``options`` (``--objective-option KEY=VALUE``)."""

    beta: float = setting(0.1, 'inverse temperature of the log-ratio (beta in the SRO/DPO loss)')
    label_smoothing: float = setting(0.1, 'eps: conservative-DPO label smoothing')
    p_flip: float | None = setting(None, "SRO's own verdict flip rate; None: the objective's default (0.1 for sro)")
    assumed_flip: float | None = setting(None, 'sro-robust: the flip rate it corrects for; None: equal to p_flip')
    dr_beta: float = setting(0.0, "sro-robust: Dr. DPO worst-case reweighting temperature beta' (0 = off)")
    kto_desirable_weight: float = setting(1.0, 'kto: lambda_D')
    kto_undesirable_weight: float = setting(1.0, 'kto: lambda_U')
    grpo_kl: float = setting(0.04, 'grpo: weight of the k3 KL penalty to the frozen reference')
    kept_measure: str | None = setting(
        None, "grpo-keep, grpo-fluent: how the share of the input a sample keeps is measured: f1 (2 LCS / (|x| + |y|): "
        "a deleted word costs less than a substituted one) | overlap (LCS / max(|x|, |y|): they cost alike); "
        "None: the objective's default (f1 for grpo-keep, overlap for grpo-fluent)", choices=("f1", "overlap"))
    dpo_backend: str = setting("auto", "dpo: auto (trl's DPOTrainer for causal leaders, the game for seq2seq) | trl | game", choices=('auto', 'trl', 'game'))
    options: dict = setting(default_factory=dict, help="a third-party objective's own settings (KEY=VALUE)",
                            flag="--objective-option")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every value in range (a one-line UserError naming the option)."""
        check_ranges(self, [
            (self.beta > 0, f"--beta must be > 0, got {self.beta}"),
            (0 <= self.label_smoothing < 0.5, f"--label-smoothing must be in [0, 0.5), got {self.label_smoothing}"),
            (self.p_flip is None or 0 <= self.p_flip <= 1, f"--p-flip must be in [0, 1], got {self.p_flip}"),
            (self.assumed_flip is None or 0 <= self.assumed_flip < 0.5, f"--assumed-flip must be in [0, 0.5), got {self.assumed_flip}"),
            (self.dr_beta >= 0, f"--dr-beta must be >= 0, got {self.dr_beta}"),
            (self.dpo_backend in ("auto", "trl", "game"), f"--dpo-backend must be auto, trl or game, got {self.dpo_backend!r}"),
        ])
