"""Masking what the follower objects to (black box: its scores only), the `infill` rewriter, and the game's
follower-guided samples."""

from __future__ import annotations

import numpy as np
import pytest

from sro_bench.config import GameConfig, RunConfig
from sro_bench.errors import UserError
from sro_bench.followers.objections import masked_texts, objectionable_words
from sro_bench.game import Game
from sro_bench.leaders import LeaderConfig
from sro_bench.leaders.hf import HFLeader
from sro_bench.objectives.group import GRPOFluent
from tests.test_game import DATA, WordFollower, tiny


class CountingFollower(WordFollower):
    """A word follower whose P(toxic) grows with each listed word: one removal at a time lowers it."""

    def predict_proba(self, texts):
        return np.array([min(0.95, 0.1 + 0.45 * len(self.words & set(t.lower().split()))) for t in texts])


def test_the_words_whose_removal_passes_are_masked_and_nothing_else():
    follower = CountingFollower(words=("idiot", "crap"))
    texts = ["you are an idiot and this is crap", "hello there , friend", "idiot"]
    found = objectionable_words(follower, texts)
    assert found == [frozenset({3, 7}), frozenset(), frozenset({0})]
    assert follower.toxic_vocabulary() is None  # a black box: scores only, no word list


def test_at_most_a_third_of_the_words_are_masked():
    follower = CountingFollower(words=("a", "b", "c", "d"))
    (found,) = objectionable_words(follower, ["a b c d e f"])
    assert len(found) == 2 and found <= {0, 1, 2, 3}


def test_a_run_of_masked_words_is_one_span():
    texts = ["a b c d", "a b c d", "a b c d"]
    spans = [frozenset({1, 2}), frozenset({0, 3}), frozenset()]
    assert masked_texts(texts, spans, "[M]") == ["a [M] d", "[M] b c [M]", "a b c d"]


def test_guided_samples_are_filled_from_masked_inputs_and_scored_as_rewrites_of_the_input():
    leader = tiny()
    calls = []
    sample = leader.sample

    def spy(inputs, **kwargs):
        calls.append((list(inputs), kwargs["num_return_sequences"]))
        return sample(inputs, **kwargs)

    leader.sample = spy
    config = GameConfig(max_steps=1, batch_size=4, samples_per_input=3, guided_samples=1, checkpoint_every=0)
    game = Game(leader, WordFollower(), GRPOFluent(), DATA, config)
    inputs = [DATA.inputs[i] for i in game._step_inputs(0)]
    game._current = game._step_inputs(0)
    xs, ys, _, figures = game._targets(inputs, np.random.default_rng(0), 0)
    (own, k_own), (masked, k_guided) = calls
    assert (own, k_own, k_guided) == (inputs, 2, 1)
    assert masked == masked_texts(inputs, objectionable_words(WordFollower(), inputs), leader.infill_token)
    assert any("<mask>" in m for m in masked) and "<mask>" not in " ".join(inputs)
    assert xs == [x for x in inputs for _ in range(3)] and len(ys) == 12  # grouped per input, the input as x
    assert game.play().steps == 1


def test_guided_samples_are_checked(data_dir, tmp_path):
    from sro_bench.runner import resolve

    with pytest.raises(UserError, match=r"--guided-samples must be in \[0, --samples-per-input = 2\], got 3"):
        resolve(RunConfig(method="grpo-fluent", game=GameConfig(samples_per_input=2, guided_samples=3), data_dir=data_dir))
    with pytest.raises(UserError, match="--guided-samples: --method dpo trains on pairs"):
        resolve(RunConfig(method="dpo", game=GameConfig(guided_samples=1), data_dir=data_dir))


def test_a_leader_without_an_infill_token_is_refused(monkeypatch):
    monkeypatch.setattr(HFLeader, "infill_token", property(lambda self: None))
    config = GameConfig(max_steps=1, batch_size=4, samples_per_input=2, guided_samples=1)
    with pytest.raises(UserError, match="has no infill token"):
        Game(tiny(), WordFollower(), GRPOFluent(), DATA, config)


def test_infill_rewriter_fills_the_masked_words(data_dir, tmp_path):
    from sro_bench.runner import run

    record = run(RunConfig(method="infill", leader=LeaderConfig(name="tiny"), eval_limit=12, data_dir=data_dir,
                           runs_dir=tmp_path), progress=False)
    assert record["rewriter"]["name"] == "infill" and 0 < record["rewriter"]["masked_rows"] <= 12
    assert record["rewriter"]["leader"]["name"] == "tiny" and record["metrics"]["J"] >= 0
