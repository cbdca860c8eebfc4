"""The game on the tiny leader: gradient directions, every objective, flips, and exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sro_bench.training.config import GameConfig
from sro_bench.data import Dataset
from sro_bench.followers.base import Follower
from sro_bench.training.game import Game, batch_indices, total_steps
from sro_bench.leaders import LeaderConfig, LeaderContext, build_leader
from sro_bench.objectives import DPO, KTO, SFT, SRO, LossTerms, RejectionSamplingSFT, RobustSRO, RobustSROConfig, SROConfig

TOXIC = ["you are a total idiot and everyone knows it .", "this is the dumbest idea i have ever heard .",
         "shut up , nobody cares what you think .", "get lost , you moron ."]
DATA = Dataset("toy", TOXIC * 3, [["you are wrong ."], ["this is not a good idea ."], ["please stop ."],
                                  ["please leave me alone ."]] * 3)


class WordFollower(Follower):
    """Fails any text containing a listed word: a transparent follower for tests."""

    name = "words"

    def __init__(self, words=("idiot", "dumbest", "moron", "shut")):
        self.words = set(words)

    def predict_proba(self, texts):
        return np.array([0.9 if self.words & set(t.lower().split()) else 0.1 for t in texts])


def tiny(seed: int = 0):
    torch.manual_seed(seed)
    return build_leader(LeaderConfig(name="tiny"), LeaderContext(seed=seed))


def one_step(leader, objective, x: str, y: str, fails: float, lr: float = 1e-2):
    optimizer = torch.optim.SGD(leader.trainable_parameters(), lr=lr)
    with torch.no_grad(), leader.reference():
        ref = leader.sequence_logprobs([x, x], [y, x])
    policy = leader.sequence_logprobs([x, x], [y, x])
    terms = LossTerms(policy[:1], ref[:1], torch.tensor([fails]), policy[1:], ref[1:])
    loss, _ = objective.loss(terms)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        return policy.detach(), leader.sequence_logprobs([x, x], [y, x])


def test_sro_fail_step_lowers_the_samples_likelihood():
    before, after = one_step(tiny(), SRO(), TOXIC[0], "you are wrong .", fails=1.0)
    assert after[0] < before[0]


def test_sro_pass_step_raises_the_margin_over_the_input():
    before, after = one_step(tiny(), SRO(), TOXIC[0], "you are wrong .", fails=0.0)
    assert (after[0] - after[1]) > (before[0] - before[1])


def test_batches_cover_each_epoch_once():
    seen = np.concatenate([batch_indices(s, 10, 4, seed=3) for s in range(3)])
    assert sorted(seen.tolist()) == list(range(10))
    assert total_steps(GameConfig(epochs=2, batch_size=4, max_steps=None), 10) == 6


@pytest.mark.parametrize("objective", [SRO(), RobustSRO(RobustSROConfig(p_flip=0.2)), KTO(), RejectionSamplingSFT(), DPO(),
                                       SFT()],
                         ids=lambda o: o.name)
def test_every_objective_plays_a_few_steps(objective):
    game = Game(tiny(), WordFollower(), objective, DATA, GameConfig(max_steps=2, batch_size=4, checkpoint_every=0))
    result = game.play()
    assert result.steps == 2 and len(result.history) == 2
    for entry in result.history:
        assert np.isfinite(entry["loss"]) and 0 <= entry["pass_rate"] <= 1
        assert {"pass_rate_raw", "log_ratio", "seconds"} <= set(entry)


def test_verdict_flips_follow_p_flip():
    always = Game(tiny(), WordFollower(), SRO(SROConfig(p_flip=1.0)), DATA, GameConfig(max_steps=1, batch_size=8))
    entry = always.play().history[0]
    assert entry["pass_rate"] == pytest.approx(1 - entry["pass_rate_raw"])
    never = Game(tiny(), WordFollower(), SRO(SROConfig(p_flip=0.0)), DATA, GameConfig(max_steps=1, batch_size=8))
    entry = never.play().history[0]
    assert entry["pass_rate"] == entry["pass_rate_raw"]


def test_resume_equals_uninterrupted(tmp_path):
    config = GameConfig(max_steps=4, batch_size=4, checkpoint_every=1)
    whole = Game(tiny(), WordFollower(), SRO(), DATA, config, seed=5)
    whole.play()

    first = Game(tiny(), WordFollower(), SRO(), DATA, config, seed=5)
    first.play(checkpoint_dir=tmp_path / "checkpoint", stop_after=2)
    (tmp_path / ".checkpoint-interrupted").mkdir()  # what a save cut off mid-way leaves
    resumed = Game(tiny(), WordFollower(), SRO(), DATA, config, seed=5)
    assert resumed.load_checkpoint(tmp_path / "checkpoint") and resumed.step == 2
    resumed.play(checkpoint_dir=tmp_path / "checkpoint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]

    assert [h["pass_rate"] for h in resumed.history] == [h["pass_rate"] for h in whole.history]
    assert [h["loss"] for h in resumed.history] == pytest.approx([h["loss"] for h in whole.history], rel=1e-5)
    for (name, a), (_, b) in zip(whole.leader.model.named_parameters(), resumed.leader.model.named_parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=name)


# -- what the game scores: the sampled ids, never an end token that was not generated ---------------


def test_scored_ids_are_the_sampled_ids_and_a_cut_sample_gets_no_end_token():
    from sro_bench.leaders.base import Sample

    leader = tiny()
    torch.manual_seed(0)
    samples = leader.sample(TOXIC, num_return_sequences=4, max_new_tokens=[3, 5, 8, 30])
    cut = [s for s in samples if not s.ended]
    assert cut  # the untrained tiny model rarely ends: a made-up ended sample covers that branch
    samples.append(Sample("x", (5, 6), ended=True))
    for s, budget in zip(samples, [b for b in (3, 5, 8, 30) for _ in range(4)] + [3]):
        assert len(s.ids) + s.ended <= budget
        expected = list(s.ids) + ([leader.eos_token_id] if s.ended else [])
        assert leader._encode_targets([s]) == [expected]
    # A cut sample's log-likelihood is the sum over its own ids: equal to scoring its ids as a prefix.
    s = cut[0]
    x = TOXIC[samples.index(s) // 4]
    with torch.no_grad():
        whole = leader.sequence_logprobs([x], [s])
        logits = leader.model(**_seq2seq_batch(leader, x, list(s.ids))).logits[0]
        manual = torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(s.ids).unsqueeze(-1)).sum()
    torch.testing.assert_close(whole[0], manual, rtol=1e-5, atol=1e-5)


def _seq2seq_batch(leader, x, ids):
    source = torch.tensor([leader._encode_inputs([x])[0]])
    decoder = torch.tensor([[leader.decoder_start_token_id] + ids[:-1]])
    return {"input_ids": source, "attention_mask": torch.ones_like(source), "decoder_input_ids": decoder}


def test_the_game_scores_samples_not_their_text():
    from sro_bench.leaders.base import Sample

    leader, seen = tiny(), []
    original = leader.sequence_logprobs

    def spy(inputs, targets, **kw):
        seen.extend(targets)
        return original(inputs, targets, **kw)

    leader.sequence_logprobs = spy
    config = GameConfig(max_steps=1, batch_size=4, max_new_tokens=4, checkpoint_every=0)
    Game(leader, WordFollower(), SRO(SROConfig(p_flip=0.0)), DATA, config).play()
    sampled = [t for t in seen if isinstance(t, Sample)]
    assert sampled and all(t.ids is not None for t in sampled)
    assert any(not t.ended for t in sampled)  # a budget of 4 cuts some samples
    for t in sampled:
        encoded = leader._encode_targets([t])[0]
        assert (encoded[-1:] == [leader.eos_token_id]) == t.ended


def test_empty_and_short_rewrites_never_pass():
    from sro_bench.training.game import screen
    from sro_bench.leaders.base import Sample

    inputs = ["you are a total idiot and everyone knows it ."] * 4
    samples = [Sample(""), Sample("you"), Sample("you are wrong and everyone knows it ."), Sample("you are", ended=False)]
    lenient = GameConfig(min_length_ratio=0.0, unended="keep")
    screener, verdicts = screen(WordFollower(), inputs, samples, lenient)
    assert screener.tolist() == [0, 0, 0, 0]  # the screener passes them all, the empty string too
    assert verdicts.tolist() == [1, 0, 0, 0]
    strict = GameConfig(min_length_ratio=0.5, unended="fail")
    assert screen(WordFollower(), inputs, samples, strict)[1].tolist() == [1, 1, 0, 1]
    padded = [Sample("you are wrong and everyone knows it , the weather is nice and the park is full of people ."),
              Sample("you are wrong wrong wrong and everyone knows it ."), Sample("you are wrong , you are wrong .")]
    rules = GameConfig(max_length_ratio=1.2, fail_repeats=True)
    assert screen(WordFollower(), inputs[:3], padded, GameConfig())[1].tolist() == [0, 0, 0]
    assert screen(WordFollower(), inputs[:3], padded, rules)[1].tolist() == [1, 1, 1]
    assert screen(WordFollower(), ["lol lol you idiot"], [Sample("lol lol you fool")], rules)[1].tolist() == [0]


def test_length_budget_follows_each_input():
    from sro_bench.training.decoding import token_budgets

    leader = tiny()
    short, long = "get lost .", "you are a total idiot and everyone knows it and so does everyone else ."
    assert token_budgets(leader, [short, long], GameConfig(max_new_tokens=20)) == 20
    budgets = token_budgets(leader, [short, long], GameConfig(max_new_tokens=12, length_budget=1.0))
    lengths = leader.input_lengths([short, long])
    assert budgets == [min(12, lengths[0] + 2), min(12, lengths[1] + 2)] and budgets[0] < budgets[1]


def test_frozen_embeddings_stay_put_and_warmup_scales_the_first_steps():
    leader = tiny()
    embedding = leader.model.get_input_embeddings().weight
    output = leader.model.get_output_embeddings().weight
    before = embedding.detach().clone()
    config = GameConfig(max_steps=2, batch_size=4, checkpoint_every=0, warmup_steps=4, lr=1e-3, chosen_nll=0.5,
                        freeze_embeddings=True)
    game = Game(leader, WordFollower(), SRO(), DATA, config)
    assert not embedding.requires_grad and not output.requires_grad
    game.play()
    assert torch.equal(before, embedding)
    assert game.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * 2 / 4)
    trainable = {n for n, p in leader.model.named_parameters() if p.requires_grad}
    assert trainable and not any("shared" in n or "embed" in n or "lm_head" in n for n in trainable)


def test_a_nan_follower_and_a_nan_loss_stop_the_game_naming_the_plugin():
    from sro_bench.errors import UserError

    class NaNFollower(WordFollower):
        name = "nan-screener"

        def predict_proba(self, texts):
            return np.full(len(texts), np.nan)  # NaN > threshold is False: every sample would pass

    config = GameConfig(max_steps=1, batch_size=2)
    with pytest.raises(UserError, match=r"follower .nan-screener. \(tests.test_game\) gave P\(toxic\) nan "
                                        r"for text 1"):
        Game(tiny(), NaNFollower(), SRO(), DATA, config, seed=0).play_step(0)

    class NaNLoss(SRO):
        name = "nan-loss"

        def loss(self, terms):
            loss, logs = super().loss(terms)
            return loss * float("nan"), logs

    game = Game(tiny(), WordFollower(), NaNLoss(), DATA, config, seed=0)
    before = [p.detach().clone() for p in game.leader.model.parameters()]
    with pytest.raises(UserError, match=r"objective .nan-loss. \(tests.test_game\) gave a non-finite loss \(nan\) "
                                        r"at step 1"):
        game.play_step(0)
    assert all(torch.equal(a, b) for a, b in zip(before, game.leader.model.parameters()))


def test_pairs_are_scored_per_token_for_sft():
    """The game hands a pairs objective each human rewrite's scored token count (its tokens and its end), so that
    sft's loss is a per-token cross-entropy, not the summed log-likelihood it was when the lengths were missing."""
    from sro_bench.data import Dataset

    leader = tiny()
    data = Dataset("pairs", ["you are an idiot", "shut up"], [["you are wrong"], ["please stop"]])
    seen = []

    class Spy(SFT):
        def loss(self, t):
            seen.append(t.lengths.tolist())
            return super().loss(t)

    Game(leader, WordFollower(), Spy(), data, GameConfig(max_steps=1, batch_size=2, checkpoint_every=0)).play()
    expected = leader.target_lengths(["you are wrong", "please stop"])
    assert sorted(seen[0]) == sorted(expected) and min(expected) > 1
    assert expected == [len(ids) for ids in leader._encode_targets(["you are wrong", "please stop"])]


def test_sft_teaches_a_tiny_leader_the_human_rewrites():
    """sft on the toy pairs: the per-token loss falls, and greedy rewrites move toward the references."""
    from sacrebleu.metrics import CHRF

    from sro_bench.training.decoding import rewrite

    leader, config = tiny(), GameConfig(epochs=20, max_steps=40, batch_size=4, lr=3e-3, max_new_tokens=12, checkpoint_every=0)
    references = [refs[0] for refs in DATA.references[:4]]

    def chrf() -> float:
        return CHRF().corpus_score(rewrite(leader, TOXIC, config), [references]).score

    before = chrf()
    history = Game(leader, None, SFT(), DATA, config, seed=0).play().history
    losses = [h["nll_per_token"] for h in history]
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert chrf() > before + 20
