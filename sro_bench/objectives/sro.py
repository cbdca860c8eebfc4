"""SRO (Xie, Li, Zhu 2024), exactly as in the authors' released code, and its noise-robust variant."""

from __future__ import annotations

import numpy as np
import torch

from .base import LossTerms, Objective, masked_mean, smoothed_sigmoid_loss
from .config import RobustSROConfig, SROConfig


def sro_branch_margins(t: LossTerms) -> tuple[torch.Tensor, torch.Tensor]:
    """(h_pass, h_fail) for every sample.

    pass: DPO with chosen = y and rejected = the toxic input x used as a target;
    fail: push y's likelihood down with no chosen side.
    """
    h_pass = (t.policy_chosen - t.policy_rejected) - (t.ref_chosen - t.ref_rejected)
    h_fail = -(t.policy_chosen - t.ref_chosen)
    return h_pass, h_fail


class SRO(Objective):
    """Stackelberg Response Optimization: the pass branch is DPO against x, the fail branch unlikelihood."""

    name = "sro"
    source = "samples"
    uses_rejected = True
    config_class = SROConfig

    def rejected_rows(self, fails: np.ndarray, group_size: int = 1) -> np.ndarray:
        # Only the pass branch uses l(x|x); the released code scores x for every sample regardless.
        return np.asarray(fails) == 0

    def branch_losses(self, t: LossTerms) -> tuple[torch.Tensor, torch.Tensor]:
        h_pass, h_fail = sro_branch_margins(t)
        c = self.config
        return (
            smoothed_sigmoid_loss(h_pass, c.beta, c.label_smoothing),
            smoothed_sigmoid_loss(h_fail, c.beta, c.label_smoothing),
        )

    def per_sample(self, t: LossTerms) -> torch.Tensor:
        loss_pass, loss_fail = self.branch_losses(t)
        return torch.where(t.fails.bool(), loss_fail, loss_pass)

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        per_sample = self.per_sample(t)
        fails = t.fails.float()
        logs = {
            "loss_pass": masked_mean(per_sample.detach(), 1 - fails).item(),
            "loss_fail": masked_mean(per_sample.detach(), fails).item(),
        }
        return per_sample.mean(), logs

    def describe(self) -> dict:
        c = self.config
        return {**super().describe(), "beta": c.beta, "label_smoothing": c.label_smoothing}


class RobustSRO(SRO):
    """SRO with robust-DPO's unbiased correction for verdicts flipped at a known rate (Chowdhury et al. 2024).

    With observed verdict s and flip rate e, the per-sample loss is
    ((1 - e) * l(s) - e * l(1 - s)) / (1 - 2e), whose expectation over the noise is the clean loss.
    ``dr_beta > 0`` adds Dr. DPO's worst-case reweighting over the batch (Wu et al. 2024):
    -beta' * log mean(exp(-loss_i / beta')).
    """

    name = "sro-robust"
    config_class = RobustSROConfig

    def __init__(self, config: RobustSROConfig | None = None):
        super().__init__(config)
        self.assumed_flip = self.config.corrected_flip

    def rejected_rows(self, fails: np.ndarray, group_size: int = 1) -> np.ndarray:
        return np.ones(len(fails), dtype=bool)  # the correction weighs both branches for every sample

    def per_sample(self, t: LossTerms) -> torch.Tensor:
        loss_pass, loss_fail = self.branch_losses(t)
        e = self.assumed_flip
        observed = torch.where(t.fails.bool(), loss_fail, loss_pass)
        other = torch.where(t.fails.bool(), loss_pass, loss_fail)
        return ((1 - e) * observed - e * other) / (1 - 2 * e)

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        mean_loss, logs = super().loss(t)
        beta_dr = self.config.dr_beta
        if beta_dr > 0:
            per_sample = self.per_sample(t)
            count = torch.tensor(float(per_sample.numel()), device=per_sample.device)
            mean_loss = -beta_dr * (torch.logsumexp(-per_sample / beta_dr, dim=0) - torch.log(count))
        return mean_loss, logs

    def describe(self) -> dict:
        return {**super().describe(), "assumed_flip": self.assumed_flip, "dr_beta": self.config.dr_beta}
