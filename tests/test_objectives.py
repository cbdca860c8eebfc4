"""Each loss against values computed by hand on toy log-likelihoods."""

from __future__ import annotations

import math

import pytest
import torch

from sro_bench.objectives import DPO, KTO, SRO, LossTerms, ObjectiveConfig, RejectionSamplingSFT, RobustSRO


def L(h: float, beta: float = 0.1, eps: float = 0.1) -> float:
    log_sigmoid = lambda z: -math.log1p(math.exp(-z))  # noqa: E731
    return -(1 - eps) * log_sigmoid(beta * h) - eps * log_sigmoid(-beta * h)


def terms(fails=(0.0, 1.0)) -> LossTerms:
    return LossTerms(
        policy_chosen=torch.tensor([-2.0, -3.0]),
        ref_chosen=torch.tensor([-2.5, -2.0]),
        policy_rejected=torch.tensor([-5.0, -4.0]),
        ref_rejected=torch.tensor([-4.0, -4.5]),
        fails=torch.tensor(fails),
    )


# By hand: sample 0 passes: h = (-2 + 5) - (-2.5 + 4) = 1.5; sample 1 fails: h = -(-3 + 2) = 1.
# If sample 0 failed: h = -(-2 + 2.5) = -0.5; if sample 1 passed: h = (-3 + 4) - (-2 + 4.5) = -1.5.
PASS0, FAIL1, FAIL0, PASS1 = L(1.5), L(1.0), L(-0.5), L(-1.5)


def test_sro_both_branches_by_hand():
    loss, logs = SRO().loss(terms())
    assert loss.item() == pytest.approx((PASS0 + FAIL1) / 2, rel=1e-6)
    assert logs["loss_pass"] == pytest.approx(PASS0, rel=1e-6)
    assert logs["loss_fail"] == pytest.approx(FAIL1, rel=1e-6)


def test_sro_flipped_verdicts_take_the_other_branch():
    loss, _ = SRO().loss(terms(fails=(1.0, 0.0)))
    assert loss.item() == pytest.approx((FAIL0 + PASS1) / 2, rel=1e-6)


def test_label_smoothing_and_beta():
    config = ObjectiveConfig(beta=0.5, label_smoothing=0.0)
    loss, _ = SRO(config).loss(terms())
    assert loss.item() == pytest.approx((L(1.5, 0.5, 0.0) + L(1.0, 0.5, 0.0)) / 2, rel=1e-6)
    # eps = 0 is plain DPO: -log sigmoid(beta h)
    assert L(1.5, 0.5, 0.0) == pytest.approx(math.log1p(math.exp(-0.75)))


def test_sro_default_flip_rate_is_the_papers():
    assert SRO().p_flip == 0.1
    assert SRO(ObjectiveConfig(p_flip=0.0)).p_flip == 0.0


def test_robust_sro_by_hand_and_unbiased():
    e = 0.2
    objective = RobustSRO(ObjectiveConfig(p_flip=e))
    loss, _ = objective.loss(terms())
    by_hand = (((1 - e) * PASS0 - e * FAIL0) + ((1 - e) * FAIL1 - e * PASS1)) / (1 - 2 * e) / 2
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    # Expected over the noise, the corrected loss equals the clean loss (per sample).
    clean = objective.per_sample(terms(fails=(0.0, 1.0)))
    flipped = objective.per_sample(terms(fails=(1.0, 0.0)))
    expected = (1 - e) * clean + e * flipped
    assert expected.tolist() == pytest.approx([PASS0, FAIL1], rel=1e-5)


def test_robust_sro_rejects_flip_rates_of_a_half_or_more():
    with pytest.raises(ValueError, match=r"\[0, 0.5\)"):
        RobustSRO(ObjectiveConfig(assumed_flip=0.5))


def test_dr_dpo_reweighting_by_hand():
    beta_dr = 1.0
    objective = RobustSRO(ObjectiveConfig(p_flip=0.0, dr_beta=beta_dr))
    loss, _ = objective.loss(terms())
    by_hand = -beta_dr * math.log((math.exp(-PASS0 / beta_dr) + math.exp(-FAIL1 / beta_dr)) / 2)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


def test_dpo_is_the_pass_branch_on_every_pair():
    loss, logs = DPO().loss(terms(fails=(0.0, 0.0)))
    assert loss.item() == pytest.approx((PASS0 + PASS1) / 2, rel=1e-6)
    assert logs["reward_accuracy"] == 0.5


def test_kto_by_hand():
    beta = 0.1
    t = terms()
    ratios = [-2.0 + 2.5, -3.0 + 2.0]  # 0.5, -1.0
    z0 = max(0.0, sum(ratios) / 2)  # 0 (the mean is negative)
    desirable = 1 - 1 / (1 + math.exp(-beta * (ratios[0] - z0)))
    undesirable = 1 - 1 / (1 + math.exp(-beta * (z0 - ratios[1])))
    loss, logs = KTO().loss(t)
    assert loss.item() == pytest.approx((desirable + undesirable) / 2, rel=1e-6)
    assert logs["kl_reference_point"] == 0.0


def test_rs_sft_uses_passing_samples_only():
    loss, _ = RejectionSamplingSFT().loss(terms())
    assert loss.item() == pytest.approx(2.0 / 2)  # -(-2.0) from the passing sample, over the batch of 2
    t = terms(fails=(1.0, 1.0))
    t.policy_chosen.requires_grad_(True)
    loss, _ = RejectionSamplingSFT().loss(t)
    loss.backward()
    assert loss.item() == 0.0 and t.policy_chosen.grad.abs().sum() == 0


def test_rejected_rows_are_exactly_the_rows_whose_loss_reads_l_x_given_x():
    """The game scores x only where ``rejected_rows`` says; elsewhere the loss must not read it."""
    import numpy as np

    fails = np.array([0, 1, 1, 0])
    assert SRO().rejected_rows(fails).tolist() == [True, False, False, True]
    assert RobustSRO(ObjectiveConfig(p_flip=0.1)).rejected_rows(fails).all()
    assert DPO().rejected_rows(fails).all() and not KTO().rejected_rows(fails).any()

    def loss_and_grad(objective, rejected_fill):
        chosen = torch.tensor([-2.0, -3.0, -1.0, -4.0], requires_grad=True)
        rejected = torch.tensor([-5.0, rejected_fill, rejected_fill, -6.0], requires_grad=True)
        t = LossTerms(chosen, torch.tensor([-2.5, -2.0, -1.5, -3.0]), torch.tensor(fails, dtype=torch.float32),
                      rejected, torch.tensor([-4.0, rejected_fill / 2, rejected_fill / 2, -5.5]))
        loss, _ = objective.loss(t)
        loss.backward()
        return loss.item(), chosen.grad.tolist(), rejected.grad.tolist()

    assert loss_and_grad(SRO(), 0.0) == loss_and_grad(SRO(), -7.0)
    robust = RobustSRO(ObjectiveConfig(p_flip=0.1))
    assert loss_and_grad(robust, 0.0)[0] != loss_and_grad(robust, -7.0)[0]
