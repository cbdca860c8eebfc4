"""The comparison methods on the same game: offline DPO on pairs, KTO and rejection-sampling SFT on verdicts."""

from __future__ import annotations

import torch

from ..errors import UserError
from .base import LossTerms, Objective, masked_mean, smoothed_sigmoid_loss
from .config import DPOConfig, KTOConfig, SFTConfig


class DPO(Objective):
    """Offline DPO on ParaDetox pairs: chosen = a human rewrite, rejected = the toxic input."""

    name = "dpo"
    source = "pairs"
    uses_rejected = True
    config_class = DPOConfig

    def loop(self, leader, config) -> str:
        """trl's DPOTrainer for causal leaders (trl's is causal-only); the game's loop for seq2seq ones."""
        backend = self.config.dpo_backend
        if backend == "trl" and leader.is_encoder_decoder:
            raise UserError(f"--dpo-backend trl needs a causal leader; {type(leader).__name__} is seq2seq")
        if backend == "trl" and config.seed_faithful_logprob:
            raise UserError("--dpo-backend trl scores shifted log-likelihoods only; drop --seed-faithful-logprob")
        if backend == "game" or leader.is_encoder_decoder or config.seed_faithful_logprob:
            return "game"
        return "trl-dpo"

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        h = (t.policy_chosen - t.policy_rejected) - (t.ref_chosen - t.ref_rejected)
        per_sample = smoothed_sigmoid_loss(h, self.config.beta, self.config.label_smoothing)
        accuracy = (h.detach() > 0).float().mean().item()
        return per_sample.mean(), {"loss_pass": per_sample.detach().mean().item(), "reward_accuracy": accuracy}

    def describe(self) -> dict:
        c = self.config
        return {**super().describe(), "beta": c.beta, "label_smoothing": c.label_smoothing,
                "dpo_backend": c.dpo_backend}


class SFT(Objective):
    """Supervised fine-tuning on ParaDetox pairs: token-level cross-entropy of a human rewrite given the toxic
    input, -l_pi(y|x) / |y| averaged over the batch. The ceiling a method without parallel data is compared with."""

    name = "sft"
    source = "pairs"
    uses_rejected = False
    config_class = SFTConfig

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        per_token = -t.policy_chosen / t.lengths
        return per_token.mean(), {"nll_per_token": per_token.detach().mean().item()}


class KTO(Objective):
    """KTO's unpaired loss from binary verdicts on on-policy samples (Ethayarajh et al. 2024).

    desirable (passes): lambda_D * (1 - sigmoid(beta * (r - z0)));
    undesirable (fails): lambda_U * (1 - sigmoid(beta * (z0 - r))), with r = l_pi(y|x) - l_ref(y|x)
    and the reference point z0 = max(0, batch mean of r), detached (a batch KL estimate).
    """

    name = "kto"
    source = "samples"
    uses_rejected = False
    config_class = KTOConfig

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.config
        ratio = t.policy_chosen - t.ref_chosen
        z0 = ratio.detach().mean().clamp(min=0)
        fails = t.fails.float()
        desirable = c.kto_desirable_weight * (1 - torch.sigmoid(c.beta * (ratio - z0)))
        undesirable = c.kto_undesirable_weight * (1 - torch.sigmoid(c.beta * (z0 - ratio)))
        per_sample = fails * undesirable + (1 - fails) * desirable
        logs = {
            "loss_pass": masked_mean(per_sample.detach(), 1 - fails).item(),
            "loss_fail": masked_mean(per_sample.detach(), fails).item(),
            "kl_reference_point": z0.item(),
        }
        return per_sample.mean(), logs

    def describe(self) -> dict:
        return {**super().describe(), "beta": self.config.beta}


class RejectionSamplingSFT(Objective):
    """Supervised updates on passing samples only: minimise -l_pi(y|x) where y passes the screener."""

    name = "rs-sft"
    source = "samples"
    uses_rejected = False

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        passes = 1 - t.fails.float()
        # Normalised by the batch size, not the pass count, so a batch with few passes moves the model little.
        per_sample = -t.policy_chosen * passes
        return per_sample.sum() / max(per_sample.numel(), 1), {
            "loss_pass": masked_mean(-t.policy_chosen.detach(), passes).item()
        }


__all__ = ["DPO", "KTO", "SFT", "RejectionSamplingSFT"]
