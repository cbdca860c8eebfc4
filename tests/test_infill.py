"""Masking what the follower objects to (black box: its scores only), the `infill` rewriter, the game's
follower-guided samples, and infill decoding (the leader learns, and rewrites by, filling the masks)."""

from __future__ import annotations

import numpy as np
import pytest

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.errors import UserError
from sro_bench.followers.objections import masked_texts, objectionable_words
from sro_bench.training.game import Game
from sro_bench.leaders import LeaderConfig
from sro_bench.leaders.hf import HFLeader
from sro_bench.objectives.group import GRPOFluent
from sro_bench.objectives.sro import SRO
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
    xs, cs, ys, _, figures = game._targets(inputs, np.random.default_rng(0), 0)
    (own, k_own), (masked, k_guided) = calls
    assert (own, k_own, k_guided) == (inputs, 2, 1)
    assert masked == masked_texts(inputs, objectionable_words(WordFollower(), inputs), leader.infill_token)
    assert any("<mask>" in m for m in masked) and "<mask>" not in " ".join(inputs)
    assert xs == cs == [x for x in inputs for _ in range(3)] and len(ys) == 12  # grouped per input, the input as x
    assert game.play().steps == 1


def test_guided_samples_are_checked(data_dir, tmp_path):
    from sro_bench.run.runner import resolve

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
    from sro_bench.run.runner import run

    record = run(RunConfig(method="infill", leader=LeaderConfig(name="tiny"), eval_limit=12, data_dir=data_dir,
                           runs_dir=tmp_path), progress=False).record
    assert record["rewriter"]["name"] == "infill" and 0 < record["rewriter"]["masked_rows"] <= 12
    assert record["rewriter"]["leader"]["name"] == "tiny" and record["metrics"]["J"] >= 0


def test_infill_decoding_conditions_samples_and_the_rejected_input_on_the_masked_input():
    leader = tiny()
    seen = []
    sample, logprobs = leader.sample, leader.sequence_logprobs

    def spy_sample(inputs, **kwargs):
        seen.append(("sample", list(inputs)))
        return sample(inputs, **kwargs)

    def spy_logprobs(conditions, targets, **kwargs):
        seen.append(("score", list(conditions), [getattr(t, "text", t) for t in targets]))
        return logprobs(conditions, targets, **kwargs)

    leader.sample, leader.sequence_logprobs = spy_sample, spy_logprobs
    config = GameConfig(max_steps=1, batch_size=4, samples_per_input=2, decode="infill", checkpoint_every=0)
    game = Game(leader, WordFollower(), SRO(), DATA, config)
    inputs = [DATA.inputs[i] for i in game._step_inputs(0)]
    masked = masked_texts(inputs, objectionable_words(WordFollower(), inputs), leader.infill_token)
    assert masked != inputs
    game.play()
    assert ("sample", masked) in seen
    policy = [call for call in seen if call[0] == "score"][-1]  # the policy's forward: chosen rows, then rejected
    conditions, targets = policy[1], policy[2]
    n = 4 * 2
    assert conditions[:n] == [m for m in masked for _ in range(2)]
    # each rejected row is the toxic input itself, given the masked input the leader saw
    rejected = list(zip(conditions[n:], targets[n:]))
    assert rejected and all(pair in set(zip(masked, inputs)) for pair in rejected)


def test_infill_decoding_is_checked(data_dir):
    from sro_bench.run.runner import resolve

    with pytest.raises(UserError, match="--guided-samples 1 and --decode infill"):
        resolve(RunConfig(method="grpo-fluent", game=GameConfig(samples_per_input=2, guided_samples=1, decode="infill"),
                          data_dir=data_dir))
    with pytest.raises(UserError, match="--decode infill: --method dpo trains on pairs"):
        resolve(RunConfig(method="dpo", game=GameConfig(decode="infill"), data_dir=data_dir))


def test_a_run_with_infill_decoding_rewrites_by_filling_and_so_does_sro_bench_rewrite(data_dir, tmp_path):
    from sro_bench.run.evaluate import rewrite_file
    from sro_bench.run.runner import run

    config = RunConfig(method="sro", leader=LeaderConfig(name="tiny"), eval_limit=8, data_dir=data_dir,
                       runs_dir=tmp_path, run_id="filled",
                       game=GameConfig(max_steps=1, batch_size=2, samples_per_input=1, decode="infill"))
    record = run(config, progress=False).record
    assert record["config"]["game"]["decode"] == "infill" and record["game"]["steps"] == 1
    source = tmp_path / "in.txt"
    source.write_text("you are an idiot\nhello there\n")
    assert rewrite_file(tmp_path / "filled", source, tmp_path / "out.txt") == 2
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 2


def test_the_board_names_a_run_s_decoding_beside_its_method():
    from sro_bench.publish.leaderboard import row
    from sro_bench.run.records import Record

    def record(game):
        return Record({"method": {"name": "sro", "kind": "objective"}, "config": {"game": game}, "metrics": {"J": 0.5}})

    assert row(record({"decode": "greedy"}))["method"] == "sro"
    assert row(record({"decode": "infill"}))["method"] == "sro (decode infill)"
    assert row(record({"guided_samples": 2}))["method"] == "sro (guided 2)"
