"""Each loss against values computed by hand on toy log-likelihoods."""

from __future__ import annotations

import math

import pytest
import torch

from sro_bench.errors import UserError
from sro_bench.objectives import (DPO, KTO, SRO, GRPOConfig, LossTerms, ObjectiveConfig, RejectionSamplingSFT, RobustSRO,
                                  RobustSROConfig, SROConfig)


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
    config = SROConfig(beta=0.5, label_smoothing=0.0)
    loss, _ = SRO(config).loss(terms())
    assert loss.item() == pytest.approx((L(1.5, 0.5, 0.0) + L(1.0, 0.5, 0.0)) / 2, rel=1e-6)
    # eps = 0 is plain DPO: -log sigmoid(beta h)
    assert L(1.5, 0.5, 0.0) == pytest.approx(math.log1p(math.exp(-0.75)))


def test_sro_default_flip_rate_is_the_papers():
    assert SRO().p_flip == 0.1
    assert SRO(SROConfig(p_flip=0.0)).p_flip == 0.0


def test_robust_sro_by_hand_and_unbiased():
    e = 0.2
    objective = RobustSRO(RobustSROConfig(p_flip=e))
    loss, _ = objective.loss(terms())
    by_hand = (((1 - e) * PASS0 - e * FAIL0) + ((1 - e) * FAIL1 - e * PASS1)) / (1 - 2 * e) / 2
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    # Expected over the noise, the corrected loss equals the clean loss (per sample).
    clean = objective.per_sample(terms(fails=(0.0, 1.0)))
    flipped = objective.per_sample(terms(fails=(1.0, 0.0)))
    expected = (1 - e) * clean + e * flipped
    assert expected.tolist() == pytest.approx([PASS0, FAIL1], rel=1e-5)


def test_robust_sro_rejects_flip_rates_of_a_half_or_more():
    with pytest.raises(UserError, match=r"--assumed-flip must be in \[0, 0.5\)"):
        RobustSROConfig(assumed_flip=0.5)  # the config refuses it where it is set
    with pytest.raises(UserError, match=r"in \[0, 0.5\); --p-flip 0.5 needs --assumed-flip"):
        RobustSROConfig(p_flip=0.5)  # the rate it assumes by default, its own p_flip
    assert RobustSRO(RobustSROConfig(p_flip=0.5, assumed_flip=0.2)).assumed_flip == 0.2


def test_dr_dpo_reweighting_by_hand():
    beta_dr = 1.0
    objective = RobustSRO(RobustSROConfig(p_flip=0.0, dr_beta=beta_dr))
    loss, _ = objective.loss(terms())
    by_hand = -beta_dr * math.log((math.exp(-PASS0 / beta_dr) + math.exp(-FAIL1 / beta_dr)) / 2)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


def test_dpo_is_the_pass_branch_on_every_pair():
    loss, logs = DPO().loss(terms(fails=(0.0, 0.0)))
    assert loss.item() == pytest.approx((PASS0 + PASS1) / 2, rel=1e-6)
    assert logs["reward_accuracy"] == 0.5


def test_sft_is_the_token_mean_cross_entropy_of_the_human_rewrite():
    import torch

    from sro_bench.objectives import SFT

    t = LossTerms(policy_chosen=torch.tensor([-6.0, -2.0], requires_grad=True), ref_chosen=torch.tensor([-1.0, -1.0]),
                  fails=torch.tensor([0.0, 0.0]), chosen_lengths=torch.tensor([3.0, 1.0]))
    loss, logs = SFT().loss(t)
    assert loss.item() == pytest.approx((6 / 3 + 2 / 1) / 2) and logs["nll_per_token"] == pytest.approx(2.0)
    loss.backward()
    assert t.policy_chosen.grad.tolist() == pytest.approx([-1 / 6, -1 / 2])  # the reference plays no part
    assert SFT.source == "pairs" and not SFT.uses_rejected


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
    assert RobustSRO(RobustSROConfig(p_flip=0.1)).rejected_rows(fails).all()
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
    robust = RobustSRO(RobustSROConfig(p_flip=0.1))
    assert loss_and_grad(robust, 0.0)[0] != loss_and_grad(robust, -7.0)[0]


# --- objectives over the k samples of each input: bok and grpo ---------------------------------

from sro_bench.objectives.group import GRPO, BestOfK  # noqa: E402


def grouped_terms(fails=(0.0, 1.0, 0.0, 0.0, 1.0, 1.0), rejected_fill=0.0, lengths=None, k=2) -> LossTerms:
    """k = 2: input 0 mixed (row 0 passes, row 1 fails), input 1 all pass, input 2 all fail.

    l(x|x) is scored only on the all-pass rows 2, 3 (what bok's rejected_rows asks for); the other
    rows hold ``rejected_fill``, which the loss must never read.
    """
    f = rejected_fill
    return LossTerms(
        policy_chosen=torch.tensor([-2.0, -3.0, -1.0, -4.0, -2.5, -3.5], requires_grad=True),
        ref_chosen=torch.tensor([-2.5, -2.0, -1.5, -3.0, -2.0, -4.0]),
        fails=torch.tensor(fails),
        policy_rejected=torch.tensor([f, f, -6.0, -6.0, f, f], requires_grad=True),
        ref_rejected=torch.tensor([f, f, -4.0, -5.5, f, f]),
        group_size=k,
        chosen_lengths=lengths,
    )


# By hand. Mixed pair (row 0 over row 1): h = (-2 + 3) - (-2.5 + 2) = 1.5.
# All-pass rows (SRO pass branch): h2 = (-1 + 6) - (-1.5 + 4) = 2.5, h3 = (-4 + 6) - (-3 + 5.5) = -0.5.
# All-fail rows (SRO fail branch): h4 = -(-2.5 + 2) = 0.5, h5 = -(-3.5 + 4) = -0.5.
BOK_PAIR, BOK_ALL_PASS, BOK_ALL_FAIL = L(1.5), (L(2.5) + L(-0.5)) / 2, (L(0.5) + L(-0.5)) / 2


def test_bok_loss_by_hand():
    loss, logs = BestOfK().loss(grouped_terms())
    assert loss.item() == pytest.approx((BOK_PAIR + BOK_ALL_PASS + BOK_ALL_FAIL) / 3, rel=1e-6)
    assert logs["mixed_groups"] == pytest.approx(1 / 3)
    assert logs["loss_pair"] == pytest.approx(BOK_PAIR, rel=1e-6)
    assert logs["loss_pass"] == pytest.approx(BOK_ALL_PASS, rel=1e-6)
    assert logs["loss_fail"] == pytest.approx(BOK_ALL_FAIL, rel=1e-6)
    config = SROConfig(beta=0.5, label_smoothing=0.0)
    loss, _ = BestOfK(config).loss(grouped_terms())
    by_hand = (L(1.5, 0.5, 0.0) + (L(2.5, 0.5, 0.0) + L(-0.5, 0.5, 0.0)) / 2 + (L(0.5, 0.5, 0.0) + L(-0.5, 0.5, 0.0)) / 2) / 3
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)


def test_bok_averages_all_pass_fail_pairs_within_a_group_and_weighs_groups_equally():
    # k = 4: input 0 has pass {0} and fails {1, 2, 3} (3 pairs); input 1 passes {4, 5}, fails {6, 7} (4 pairs).
    pc = [-1.0, -2.0, -3.0, -0.5, -1.5, -2.5, -0.5, -4.0]
    rc = [-1.5, -1.0, -2.0, -1.0, -1.0, -3.0, -2.0, -3.5]
    t = LossTerms(
        policy_chosen=torch.tensor(pc), ref_chosen=torch.tensor(rc),
        fails=torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]),
        policy_rejected=torch.zeros(8), ref_rejected=torch.zeros(8), group_size=4,
    )

    def h(i, j):
        return (pc[i] - pc[j]) - (rc[i] - rc[j])

    group0 = [L(h(0, j)) for j in (1, 2, 3)]
    group1 = [L(h(i, j)) for i in (4, 5) for j in (6, 7)]
    loss, logs = BestOfK().loss(t)
    assert loss.item() == pytest.approx((sum(group0) / 3 + sum(group1) / 4) / 2, rel=1e-6)
    assert loss.item() != pytest.approx(sum(group0 + group1) / 7, rel=1e-6)  # not a flat mean over pairs
    assert logs["mixed_groups"] == 1.0 and math.isnan(logs["loss_pass"]) and math.isnan(logs["loss_fail"])


def test_bok_gradient_raises_the_passing_sample_and_lowers_the_failing_one():
    t = grouped_terms()
    loss, _ = BestOfK().loss(t)
    loss.backward()
    grad = t.policy_chosen.grad
    # Gradient descent moves l_pi against the gradient: up for the passing row 0, down for the failing row 1.
    assert grad[0] < 0 < grad[1]
    assert grad[0].item() == pytest.approx(-grad[1].item(), rel=1e-6)  # a pair: equal and opposite pushes
    # l_pi(x|x) is read only on the all-pass rows.
    assert t.policy_rejected.grad[[0, 1, 4, 5]].abs().sum() == 0 and (t.policy_rejected.grad[[2, 3]] > 0).all()


def test_bok_never_reads_l_x_given_x_outside_its_rejected_rows():
    def loss_and_grads(fill):
        t = grouped_terms(rejected_fill=fill)
        loss, _ = BestOfK().loss(t)
        loss.backward()
        return loss.item(), t.policy_chosen.grad.tolist(), t.policy_rejected.grad.tolist()

    assert loss_and_grads(0.0) == loss_and_grads(-7.0)


def test_bok_rejected_rows_are_the_all_pass_groups_only():
    import numpy as np

    fails = np.array([0, 1, 0, 0, 1, 1])
    assert BestOfK().rejected_rows(fails, group_size=2).tolist() == [False, False, True, True, False, False]
    assert BestOfK().rejected_rows(fails, group_size=3).tolist() == [False] * 6
    assert BestOfK().rejected_rows(np.array([0, 0, 0, 1, 1, 1]), 3).tolist() == [True] * 3 + [False] * 3
    # k = 1 (also the default): every input is its own group, exactly SRO's rows.
    assert BestOfK().rejected_rows(fails).tolist() == SRO().rejected_rows(fails).tolist()
    with pytest.raises(ValueError, match="does not divide"):
        BestOfK().rejected_rows(fails, group_size=4)


def test_bok_with_one_sample_per_input_is_sro():
    t = terms()
    assert BestOfK().loss(t)[0].item() == pytest.approx(SRO().loss(t)[0].item(), rel=1e-7)
    t = terms(fails=(1.0, 0.0))
    assert BestOfK().loss(t)[0].item() == pytest.approx(SRO().loss(t)[0].item(), rel=1e-7)


def grpo_terms(fails=(0.0, 0.0, 1.0, 1.0, 0.0, 1.0), lengths=None, k=2, policy=None, ref=None) -> LossTerms:
    """k = 2: input 0 all pass, input 1 all fail (zero advantage both), input 2 mixed."""
    policy = [-2.0, -3.0, -1.0, -4.0, -2.5, -3.5] if policy is None else policy
    ref = [-2.5, -2.0, -1.5, -3.0, -2.0, -4.0] if ref is None else ref
    return LossTerms(
        policy_chosen=torch.tensor(policy, requires_grad=True), ref_chosen=torch.tensor(ref),
        fails=torch.tensor(fails), group_size=k,
        chosen_lengths=None if lengths is None else torch.tensor(lengths),
    )


def test_grpo_advantages_by_hand():
    a = GRPO().advantages(1 - torch.tensor([0.0, 0.0, 1.0, 1.0, 0.0, 1.0]), 2)
    # Mixed pair: rewards (1, 0), mean 0.5, population std 0.5.
    assert a.tolist() == pytest.approx([0, 0, 0, 0, 0.5 / 0.5001, -0.5 / 0.5001], rel=1e-6)
    a = GRPO().advantages(1 - torch.tensor([0.0, 1.0, 1.0, 1.0]), 4)
    std = math.sqrt(0.25 * 0.75)  # rewards (1, 0, 0, 0): mean 0.25
    assert a.tolist() == pytest.approx([0.75 / (std + 1e-4)] + [-0.25 / (std + 1e-4)] * 3, rel=1e-6)


def test_grpo_loss_by_hand_with_token_lengths():
    lengths = [2.0, 4.0, 1.0, 5.0, 2.0, 4.0]
    t = grpo_terms(lengths=lengths)
    loss, logs = GRPO(GRPOConfig(grpo_kl=0.5)).loss(t)
    a = 0.5 / 0.5001
    policy = -(a * -2.5 / 2.0 - a * -3.5 / 4.0) / 6
    d = [(r - p) / n for p, r, n in zip([-2.0, -3.0, -1.0, -4.0, -2.5, -3.5], [-2.5, -2.0, -1.5, -3.0, -2.0, -4.0], lengths)]
    kl = sum(math.exp(x) - x - 1 for x in d) / 6
    assert loss.item() == pytest.approx(policy + 0.5 * kl, rel=1e-6)
    assert logs["kl"] == pytest.approx(kl, rel=1e-6)
    assert logs["reward"] == pytest.approx(0.5) and logs["nonzero_advantage_groups"] == pytest.approx(1 / 3)


def test_grpo_zero_advantage_groups_give_zero_policy_gradient_and_passes_are_pushed_up():
    t = grpo_terms(lengths=[2.0, 4.0, 1.0, 5.0, 2.0, 4.0])
    loss, _ = GRPO(GRPOConfig(grpo_kl=0.0)).loss(t)
    loss.backward()
    grad = t.policy_chosen.grad
    assert grad[:4].abs().sum() == 0  # all-pass and all-fail inputs: no signal
    assert grad[4] < 0 < grad[5]  # descent raises the passing sample, lowers the failing one
    t = grpo_terms(fails=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0))
    loss, logs = GRPO(GRPOConfig(grpo_kl=0.0)).loss(t)
    loss.backward()
    assert loss.item() == 0 and t.policy_chosen.grad.abs().sum() == 0 and logs["nonzero_advantage_groups"] == 0
    # k = 3, one pass among three: the pass is pushed up, both fails down.
    t = grpo_terms(fails=(1.0, 0.0, 1.0, 0.0, 0.0, 0.0), k=3)
    GRPO(GRPOConfig(grpo_kl=0.0)).loss(t)[0].backward()
    grad = t.policy_chosen.grad
    assert grad[1] < 0 and grad[0] > 0 and grad[2] > 0 and grad[3:].abs().sum() == 0


def test_grpo_kl_is_zero_with_zero_gradient_when_policy_is_the_reference():
    values = [-2.0, -3.0, -1.0, -4.0, -2.5, -3.5]
    t = grpo_terms(fails=(0.0, 0.0, 1.0, 1.0, 1.0, 1.0), policy=values, ref=values, lengths=[2.0, 4.0, 1.0, 5.0, 2.0, 4.0])
    loss, logs = GRPO(GRPOConfig(grpo_kl=1.0)).loss(t)
    loss.backward()
    assert logs["kl"] == 0.0 and loss.item() == 0.0 and t.policy_chosen.grad.abs().sum() == 0
    # Away from the reference the k3 term is positive and pulls the policy back towards it.
    t = grpo_terms(fails=(0.0, 0.0, 1.0, 1.0, 1.0, 1.0), policy=[v + 1 for v in values], ref=values)
    loss, logs = GRPO(GRPOConfig(grpo_kl=1.0)).loss(t)
    loss.backward()
    assert logs["kl"] > 0 and (t.policy_chosen.grad > 0).all()


def test_group_size_must_divide_the_batch():
    with pytest.raises(ValueError, match="does not divide"):
        grpo_terms(k=4)
    with pytest.raises(ValueError, match="does not divide"):
        grouped_terms(k=4)
    with pytest.raises(ValueError, match="positive"):
        grpo_terms(k=0)
    with pytest.raises(ValueError, match="does not divide"):
        GRPO().advantages(torch.zeros(6), 4)
    # A group size changed after construction is checked again by the losses themselves.
    for objective, t in ((GRPO(), grpo_terms()), (BestOfK(), grouped_terms())):
        t.group_size = 4
        with pytest.raises(ValueError, match="does not divide"):
            objective.loss(t)
    with pytest.raises(ValueError, match="shape"):
        grpo_terms(lengths=[1.0, 2.0])


def test_group_objectives_defaults_describe_and_registration():
    assert BestOfK().p_flip == 0.1 and BestOfK(SROConfig(p_flip=0.0)).p_flip == 0.0
    assert GRPO().p_flip == 0.0 and GRPO(GRPOConfig(p_flip=0.2)).p_flip == 0.2
    assert GRPO.min_group_size == 2 and BestOfK.min_group_size == 1 and SRO.min_group_size == 1
    assert not GRPO.uses_rejected and not GRPO().rejected_rows([0, 1, 0, 1], group_size=2).any()
    assert BestOfK(SROConfig(beta=0.3)).describe() == {
        "name": "bok", "source": "samples", "p_flip": 0.1, "beta": 0.3, "label_smoothing": 0.1}
    assert GRPO().describe() == {"name": "grpo", "source": "samples", "p_flip": 0.0, "grpo_kl": 0.04}
    from sro_bench.util.settings import help_of
    assert "KL" in help_of(GRPOConfig)["grpo_kl"]
    from sro_bench.objectives import plugin
    from sro_bench.plugins import Registry

    reg = Registry()
    reg.add_plugin(plugin, "sro-bench")
    # built-ins register by module name (no torch until used); the factory builds the class
    assert type(reg.get("objective", "bok").factory(SROConfig())) is BestOfK
    assert type(reg.get("objective", "grpo").factory(GRPOConfig())) is GRPO
    with pytest.raises(TypeError, match="GRPO takes a GRPOConfig, got SROConfig"):
        reg.get("objective", "grpo").factory(SROConfig())


def test_built_in_rejected_rows_take_the_group_size():
    import inspect

    import numpy as np

    fails = np.array([0, 1, 1, 0])
    for objective in (DPO(), KTO(), RejectionSamplingSFT(), BestOfK(), GRPO()):
        assert "group_size" in inspect.signature(objective.rejected_rows).parameters
        assert objective.rejected_rows(fails, group_size=2).shape == (4,)
    assert KTO().rejected_rows(fails, group_size=2).tolist() == [False] * 4
