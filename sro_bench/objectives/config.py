"""Each built-in objective's settings, one dataclass per method (`sro-bench run --help` lists each under its
method); a third-party objective registers its own subclass of :class:`ObjectiveConfig` the same way.

Torch-free, so that the command line can be generated from these classes without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..util.settings import Settings, check_ranges, setting


@dataclass
class ObjectiveConfig(Settings):
    """What every objective has: the rate at which the game flips the follower's verdicts before the loss."""

    p_flip: float = setting(0.0, "the objective's own verdict flip rate (SRO's noise)")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Every value in range (a one-line UserError naming the option); a subclass adds its own checks."""
        check_ranges(self, [(0 <= self.p_flip <= 1, f"--p-flip must be in [0, 1], got {self.p_flip}")])


@dataclass
class PreferenceConfig(ObjectiveConfig):
    """A smoothed DPO-style loss over a log-ratio margin: L(h) = -(1-eps) log sig(beta h) - eps log sig(-beta h)."""

    beta: float = setting(0.1, 'inverse temperature of the log-ratio (beta in the SRO/DPO loss)')
    label_smoothing: float = setting(0.1, 'eps: conservative-DPO label smoothing')

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [
            (self.beta > 0, f"--beta must be > 0, got {self.beta}"),
            (0 <= self.label_smoothing < 0.5, f"--label-smoothing must be in [0, 0.5), got {self.label_smoothing}"),
        ])


@dataclass
class SROConfig(PreferenceConfig):
    """sro and bok: the paper flips 10% of the verdicts."""

    p_flip: float = setting(0.1, "the objective's own verdict flip rate (SRO's noise; 0.1 in the paper)")


@dataclass
class RobustSROConfig(SROConfig):
    """sro-robust: SRO with robust-DPO's correction for a known flip rate, and optional Dr. DPO."""

    assumed_flip: float | None = setting(None, 'the flip rate it corrects for; None: equal to --p-flip')
    dr_beta: float = setting(0.0, "Dr. DPO worst-case reweighting temperature beta' (0 = off)")

    @property
    def corrected_flip(self) -> float:
        """The flip rate the correction assumes."""
        return self.p_flip if self.assumed_flip is None else self.assumed_flip

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [
            (self.assumed_flip is None or 0 <= self.assumed_flip < 0.5,
             f"--assumed-flip must be in [0, 0.5), got {self.assumed_flip}"),
            (0 <= self.corrected_flip < 0.5,
             f"--method sro-robust corrects for a flip rate in [0, 0.5); --p-flip {self.p_flip} needs --assumed-flip"),
            (self.dr_beta >= 0, f"--dr-beta must be >= 0, got {self.dr_beta}"),
        ])


@dataclass
class DPOConfig(PreferenceConfig):
    """dpo: offline, on pairs, so no verdict to flip."""

    p_flip: float = setting(0.0, "pairs carry no verdict", cli=False)
    dpo_backend: str = setting("auto", "auto (trl's DPOTrainer for causal leaders, the game for seq2seq) | trl | game",
                               choices=("auto", "trl", "game"))

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [(self.dpo_backend in ("auto", "trl", "game"),
                             f"--dpo-backend must be auto, trl or game, got {self.dpo_backend!r}")])


@dataclass
class SFTConfig(ObjectiveConfig):
    """sft: supervised fine-tuning on the pairs, so no verdict to flip and nothing to set."""

    p_flip: float = setting(0.0, "pairs carry no verdict", cli=False)


@dataclass
class KTOConfig(ObjectiveConfig):
    """kto: desirable and undesirable samples weighed apart."""

    beta: float = setting(0.1, 'inverse temperature of the log-ratio')
    kto_desirable_weight: float = setting(1.0, 'lambda_D, the weight of a passing sample')
    kto_undesirable_weight: float = setting(1.0, 'lambda_U, the weight of a failing sample')

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [
            (self.beta > 0, f"--beta must be > 0, got {self.beta}"),
            (self.kto_desirable_weight >= 0, f"--kto-desirable-weight must be >= 0, got {self.kto_desirable_weight}"),
            (self.kto_undesirable_weight >= 0,
             f"--kto-undesirable-weight must be >= 0, got {self.kto_undesirable_weight}"),
        ])


@dataclass
class GRPOConfig(ObjectiveConfig):
    """grpo: group-normalised advantages with a KL penalty."""

    grpo_kl: float = setting(0.04, 'weight of the k3 KL penalty to the frozen reference')

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [(self.grpo_kl >= 0, f"--grpo-kl must be >= 0, got {self.grpo_kl}")])


KEPT_HELP = ("how the share of the input a sample keeps is measured: f1 (2 LCS / (|x| + |y|): a deleted word costs "
             "less than a substituted one) | overlap (LCS / max(|x|, |y|): they cost alike)")


@dataclass
class GRPOKeepConfig(GRPOConfig):
    """grpo-keep: a pass is rewarded by the share of the input it keeps."""

    kept_measure: str = setting("f1", KEPT_HELP, choices=("f1", "overlap"))

    def validate(self) -> None:
        super().validate()
        check_ranges(self, [(self.kept_measure in ("f1", "overlap"),
                             f"--kept-measure must be f1 or overlap, got {self.kept_measure!r}")])


@dataclass
class GRPOFluentConfig(GRPOKeepConfig):
    """grpo-fluent: grpo-keep weighed by the reference leader's confidence in the sample."""

    kept_measure: str = setting("overlap", KEPT_HELP, choices=("f1", "overlap"))
