"""Objectives over the k samples the game draws per input: best-of-k pairs and GRPO.

The game samples k = ``samples_per_input`` targets per input; the samples of input i are the
contiguous rows i*k .. i*k+k-1 of :class:`LossTerms` (``LossTerms.group_size`` is k).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import LossTerms, Objective, grouped, masked_mean, smoothed_sigmoid_loss
from .config import GRPOConfig, GRPOFluentConfig, GRPOKeepConfig
from .sro import SRO, sro_branch_margins


class BestOfK(SRO):
    """Best-of-k pairs: DPO between passing and failing samples of the same input, SRO elsewhere.

    Per group of k samples with verdicts s (1 = fails), with L the smoothed sigmoid loss of SRO
    (``beta``, ``label_smoothing``):

    * mixed verdicts: the mean over all pass x fail pairs (i, j) of the group of L(h_ij),
      h_ij = (l_pi(y_i|x) - l_pi(y_j|x)) - (l_ref(y_i|x) - l_ref(y_j|x));
    * all pass: SRO's pass branch per sample, L((l_pi(y|x) - l_pi(x|x)) - (l_ref(y|x) - l_ref(x|x))), averaged;
    * all fail: SRO's fail branch per sample, L(-(l_pi(y|x) - l_ref(y|x))), averaged.

    The loss is the mean over groups of these group losses, so every input weighs the same however
    many pairs it has. With k = 1 no group is mixed and the loss is exactly SRO's.
    l(x|x) is scored only for the samples of all-pass groups.
    """

    name = "bok"

    def rejected_rows(self, fails: np.ndarray, group_size: int = 1) -> np.ndarray:
        groups = grouped(np.asarray(fails), group_size)
        all_pass = (groups == 0).all(axis=1)
        return np.repeat(all_pass, group_size)

    def group_losses(self, t: LossTerms) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss of each group [G], mixed groups [G] bool, all-pass groups [G] bool, SRO branch loss per sample [G, k])."""
        c, k = self.config, t.group_size
        fails = grouped(t.fails.float(), k)
        passes = 1 - fails
        n_fail = fails.sum(dim=1)
        all_pass, all_fail = n_fail == 0, n_fail == k
        mixed = ~(all_pass | all_fail)

        # Pairs (i passes, j fails) within each group: h[g, i, j].
        policy, ref = grouped(t.policy_chosen, k), grouped(t.ref_chosen, k)
        h_pair = (policy.unsqueeze(2) - policy.unsqueeze(1)) - (ref.unsqueeze(2) - ref.unsqueeze(1))
        weight = passes.unsqueeze(2) * fails.unsqueeze(1)
        pair_sum = (weight * smoothed_sigmoid_loss(h_pair, c.beta, c.label_smoothing)).sum(dim=(1, 2))
        pair_loss = pair_sum / weight.sum(dim=(1, 2)).clamp(min=1)

        # SRO's branches per sample; the pass branch is read only in all-pass groups (where x was scored).
        if bool(all_pass.any()):
            if t.policy_rejected is None or t.ref_rejected is None:
                raise ValueError("bok needs l(x|x) (policy_rejected, ref_rejected) for all-pass groups")
            h_pass, h_fail = sro_branch_margins(t)
        else:
            h_pass, h_fail = torch.zeros_like(t.policy_chosen), -(t.policy_chosen - t.ref_chosen)
        loss_pass = grouped(smoothed_sigmoid_loss(h_pass, c.beta, c.label_smoothing), k)
        loss_fail = grouped(smoothed_sigmoid_loss(h_fail, c.beta, c.label_smoothing), k)
        branch = torch.where(all_pass.unsqueeze(1), loss_pass, loss_fail)

        group = torch.where(mixed, pair_loss, branch.mean(dim=1))
        return group, mixed, all_pass, branch

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        group, mixed, all_pass, branch = self.group_losses(t)
        all_fail = ~(mixed | all_pass)
        detached = branch.detach()
        logs = {
            "mixed_groups": mixed.float().mean().item(),
            "loss_pass": masked_mean(detached, all_pass.float().unsqueeze(1).expand_as(detached)).item(),
            "loss_fail": masked_mean(detached, all_fail.float().unsqueeze(1).expand_as(detached)).item(),
            "loss_pair": masked_mean(group.detach(), mixed.float()).item(),
        }
        return group.mean(), logs


class GRPO(Objective):
    """Group-relative policy gradient (GRPO, Shao et al. 2024) with the follower's verdict as reward.

    reward r = 1 - s (1 where the sample passes); within each input's group of k samples the
    advantage is A = (r - mean_g r) / (std_g r + 1e-4) (population std, unbiased=False), and 0 for a
    group whose rewards are all equal. With token-mean log-likelihoods lbar(y) = l(y|x) / |y|:

        loss = -mean(A * lbar_pi(y)) + grpo_kl * mean(exp(d) - d - 1),   d = lbar_ref(y) - lbar_pi(y)

    the second term being the k3 estimator of KL(pi || ref). The game makes one update per batch of
    samples, so pi_old = pi, the PPO ratio is 1 in value and clipping never acts; the surrogate
    reduces to the policy gradient above. The game gives summed log-likelihoods per sequence, so the
    KL is k3 of the sequence's token-mean log-ratio rather than GRPO's mean of per-token k3.
    Needs k >= 2 samples per input (with k = 1 every advantage is 0).
    """

    name = "grpo"
    source = "samples"
    uses_rejected = False
    min_group_size = 2
    config_class = GRPOConfig
    #: added to the group std before dividing, as in GRPO implementations.
    std_eps = 1e-4

    def rewards(self, t: LossTerms) -> torch.Tensor:
        """r per sample [N]: 1 where the sample passes, 0 where it fails."""
        return 1 - t.fails.float()

    def advantages(self, rewards: torch.Tensor, group_size: int) -> torch.Tensor:
        """A per sample [N], constant (no gradient): group-normalised rewards, 0 in all-equal groups."""
        rewards = grouped(rewards.detach().float(), group_size)
        centred = rewards - rewards.mean(dim=1, keepdim=True)
        std = rewards.std(dim=1, unbiased=False, keepdim=True)
        a = torch.where(std > 0, centred / (std + self.std_eps), torch.zeros_like(centred))
        return a.reshape(-1)

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        k, lengths = t.group_size, t.lengths
        rewards = self.rewards(t)
        a = self.advantages(rewards, k)
        policy_term = -(a * t.policy_chosen / lengths).mean()
        d = (t.ref_chosen - t.policy_chosen) / lengths
        kl = (torch.exp(d) - d - 1).mean()
        nonzero = grouped(a, k).ne(0).any(dim=1).float().mean()
        logs = {
            "reward": rewards.mean().item(),
            "nonzero_advantage_groups": nonzero.item(),
            "kl": kl.detach().item(),
            "loss_policy": policy_term.detach().item(),
        }
        return policy_term + self.config.grpo_kl * kl, logs

    def describe(self) -> dict:
        return {**super().describe(), "grpo_kl": self.config.grpo_kl}


class GRPOKeep(GRPO):
    """GRPO whose reward for a pass is the share of its input the sample keeps, so the least edit that
    passes wins its group: r = (1 - s) * kept_share(x, y) (word-LCS F1 of input and sample, from the two
    texts alone: no reference, no word list, not a judge). A fail still earns 0.

    Plain GRPO's reward ranks every passing sample alike, so deleting half a sentence pays as well as
    deleting one word, and its leaders drift to short generic rewrites.
    """

    name = "grpo-keep"
    config_class = GRPOKeepConfig

    def __init__(self, config: GRPOKeepConfig | None = None):
        super().__init__(config)
        self.kept_measure = self.config.kept_measure

    def rewards(self, t: LossTerms) -> torch.Tensor:
        if t.kept is None:
            raise ValueError("grpo-keep needs each sample's kept share (LossTerms.kept); the game gives it for on-policy samples")
        return (1 - t.fails.float()) * t.kept.float()

    def describe(self) -> dict:
        return {**super().describe(), "kept_measure": self.kept_measure}


class GRPOFluent(GRPOKeep):
    """``grpo-keep`` whose reward for a pass is also weighed by how fluent the sample reads to the frozen
    reference leader: r = (1 - s) * kept_overlap(x, y) * exp(l_ref(y|y) / |y|).

    The default leader is a denoiser: it was taught to repair dropped, inserted, swapped and masked words,
    so it copies a sentence it finds well formed with confidence and one with a hole in it ("who gives a
    idea if ...") without. A deletion that breaks the sentence then pays less than a substitution that
    keeps it whole. Its kept share is ``kept_overlap`` (LCS over the longer text), which charges a
    substituted word what it charges a deleted one; ``kept_share``'s F1 charges the substitution slightly
    more, and over 150 steps that drifted the leader back to deleting. The signal comes from the harness's
    own leader, not from the FL judge.
    """

    name = "grpo-fluent"
    uses_fluency = True
    config_class = GRPOFluentConfig

    def rewards(self, t: LossTerms) -> torch.Tensor:
        if t.fluency is None:
            raise ValueError("grpo-fluent needs each sample's l_ref(y|y) (LossTerms.fluency); the game gives it "
                             "when the objective's uses_fluency is set")
        return super().rewards(t) * torch.exp(t.fluency.float())

    def loss(self, t: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        loss, logs = super().loss(t)
        return loss, {**logs, "fluency": torch.exp(t.fluency.float()).mean().item()}


__all__ = ["BestOfK", "GRPO", "GRPOFluent", "GRPOKeep"]
