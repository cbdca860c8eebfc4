"""The kept-share reward and grpo-keep: the least edit that passes wins its group."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sro_bench.training.config import GameConfig
from sro_bench.training.game import Game
from sro_bench.objectives import GRPOConfig, GRPOFluentConfig, GRPOKeepConfig, LossTerms
from sro_bench.objectives.group import GRPO, GRPOKeep
from sro_bench.training.rewards import kept_share, lcs_length

from .test_game import DATA, WordFollower, tiny


def test_lcs_by_hand():
    assert lcs_length("a b c d".split(), "a x c d".split()) == 3
    assert lcs_length("a b c".split(), "c b a".split()) == 1
    assert lcs_length([], ["a"]) == 0


@pytest.mark.parametrize("source, rewrite, expected", [
    ("you are an idiot .", "you are an idiot .", 1.0),
    ("you are an idiot .", "you are an .", 2 * 3 / 7),  # one of four words deleted: (2n - 2d) / (2n - d)
    ("you are an idiot", "you are an idiot and i like it", 2 * 4 / 12),  # padding costs too
    ("you are an idiot", "YOU, are an idiot!", 1.0),  # case and punctuation are not words
    ("you are an idiot", "", 0.0),
    ("", "anything", 0.0),
])
def test_kept_share(source, rewrite, expected):
    assert kept_share(source, rewrite) == pytest.approx(expected)


def keep_terms(fails, kept, k=2):
    n = len(fails)
    return LossTerms(policy_chosen=torch.full((n,), -3.0, requires_grad=True), ref_chosen=torch.full((n,), -3.0),
                     fails=torch.tensor(fails), group_size=k, kept=None if kept is None else torch.tensor(kept))


def test_grpo_keep_prefers_the_pass_that_keeps_more():
    # Input 0: both pass, one keeps 0.9 of the input and one 0.5; plain GRPO sees no difference.
    t = keep_terms([0.0, 0.0, 0.0, 1.0], [0.9, 0.5, 0.8, 1.0])
    loss, logs = GRPOKeep(GRPOKeepConfig(grpo_kl=0.0)).loss(t)
    loss.backward()
    grad = t.policy_chosen.grad
    assert grad[0] < 0 < grad[1]  # gradient descent raises the keeper, lowers the deleter
    assert grad[2] < 0 < grad[3]  # a pass that keeps 0.8 still beats a fail that keeps everything
    assert logs["reward"] == pytest.approx((0.9 + 0.5 + 0.8 + 0.0) / 4)
    t = keep_terms([0.0, 0.0, 0.0, 1.0], [0.9, 0.5, 0.8, 1.0])
    GRPO(GRPOConfig(grpo_kl=0.0)).loss(t)[0].backward()
    assert t.policy_chosen.grad[0] == t.policy_chosen.grad[1] == 0


def test_grpo_keep_needs_the_kept_share():
    with pytest.raises(ValueError, match="kept"):
        GRPOKeep().loss(keep_terms([0.0, 1.0], None))
    with pytest.raises(ValueError, match="shape"):
        keep_terms([0.0, 1.0], [0.5])


def test_the_game_gives_each_sample_its_kept_share():
    seen = []

    class Spy(GRPOKeep):
        def loss(self, t):
            seen.append(t.kept.clone())
            return super().loss(t)

    game = Game(tiny(), WordFollower(), Spy(), DATA, GameConfig(max_steps=2, batch_size=2, samples_per_input=2,
                                                                  checkpoint_every=0))
    history = game.play().history
    assert len(seen) == 2 and all(k.shape == (4,) and ((k >= 0) & (k <= 1)).all() for k in seen)
    assert [h["kept"] for h in history] == pytest.approx([float(k.mean()) for k in seen], abs=1e-4)
    assert all(np.isfinite(h["loss"]) for h in history)


def test_grpo_fluent_weighs_each_pass_by_the_reference_confidence():
    from sro_bench.objectives.group import GRPOFluent

    t = keep_terms([0.0, 0.0, 0.0, 1.0], [0.8, 0.9, 0.8, 1.0])
    t.fluency = torch.log(torch.tensor([0.9, 0.5, 0.9, 0.9]))  # the second keeps more but reads badly
    expected = torch.tensor([0.8 * 0.9, 0.9 * 0.5, 0.8 * 0.9, 0.0])
    objective = GRPOFluent(GRPOFluentConfig(grpo_kl=0.0))
    assert torch.allclose(objective.rewards(t), expected)
    loss, logs = objective.loss(t)
    loss.backward()
    assert t.policy_chosen.grad[0] < 0 < t.policy_chosen.grad[1]  # grpo-keep would rank them the other way
    assert logs["fluency"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="fluency"):
        objective.loss(keep_terms([0.0, 1.0], [0.5, 0.5]))


def test_the_game_scores_l_ref_y_given_y_only_for_objectives_that_use_it():
    from sro_bench.objectives.group import GRPOFluent

    seen = []

    class Spy(GRPOFluent):
        def loss(self, t):
            seen.append(t.fluency.clone())
            return super().loss(t)

    leader = tiny()
    game = Game(leader, WordFollower(), Spy(), DATA, GameConfig(max_steps=1, batch_size=2, samples_per_input=2,
                                                                  checkpoint_every=0))
    calls = []
    original = leader.sequence_logprobs
    leader.sequence_logprobs = lambda inputs, targets, **kw: calls.append((list(inputs), list(targets))) or original(inputs, targets, **kw)
    game.play()
    (fluency,) = seen
    reference_inputs, reference_targets = calls[0]
    samples = reference_targets[:4]
    assert reference_inputs[-4:] == [s.text for s in samples] and reference_targets[-4:] == samples
    with torch.no_grad(), leader.reference():
        direct = original([s.text for s in samples], samples)
    lengths = torch.tensor([max(1, len(s.ids) + s.ended) for s in samples], dtype=torch.float32)
    assert torch.allclose(fluency, direct / lengths, atol=1e-5)
    assert (fluency <= 0).all()
    calls.clear()
    Game(leader, WordFollower(), GRPOKeep(), DATA, GameConfig(max_steps=1, batch_size=2, samples_per_input=2,
                                                             checkpoint_every=0)).play()
    assert len(calls[0][0]) == 4  # grpo-keep: y|x only


@pytest.mark.parametrize("source, rewrite, expected", [
    ("you are an idiot .", "you are an idiot .", 1.0),
    ("you are an idiot .", "you are an .", 3 / 4),  # one of four words deleted
    ("you are an idiot .", "you are an oaf .", 3 / 4),  # one of four substituted: the same charge
    ("you are an idiot", "you are an idiot and i like it", 4 / 8),  # padding costs
    ("you are an idiot", "", 0.0),
])
def test_kept_overlap_charges_a_substitution_what_it_charges_a_deletion(source, rewrite, expected):
    from sro_bench.training.rewards import kept_overlap

    assert kept_overlap(source, rewrite) == pytest.approx(expected)
    if rewrite.endswith("oaf ."):
        assert kept_share(source, "you are an .") > kept_share(source, rewrite)  # F1 prefers the deletion


def test_the_game_measures_kept_as_the_objective_asks():
    from sro_bench.objectives.group import GRPOFluent
    from sro_bench.training.rewards import kept_overlap

    seen = []

    class Spy(GRPOKeep):
        def loss(self, t):
            seen.append(t.kept.clone())
            return super().loss(t)

    calls = []
    leader = tiny()
    original = leader.sample
    leader.sample = lambda inputs, **k: calls.append((list(inputs), out := original(inputs, **k))) or out
    objective = Spy(GRPOKeepConfig(kept_measure="overlap"))
    assert objective.kept_measure == "overlap" and GRPOKeep().kept_measure == "f1" and GRPOFluent().kept_measure == "overlap"
    Game(leader, WordFollower(), objective, DATA, GameConfig(max_steps=1, batch_size=2, samples_per_input=2,
                                                             checkpoint_every=0)).play()
    ((inputs, samples),) = calls
    expected = [kept_overlap(x, s.text) for x, s in zip([x for x in inputs for _ in range(2)], samples)]
    assert seen[0].tolist() == pytest.approx(expected)
    assert GRPOKeep(GRPOKeepConfig(kept_measure="overlap")).describe()["kept_measure"] == "overlap"
