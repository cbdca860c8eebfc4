"""`dpo` on causal leaders through trl's DPOTrainer: the same loss and layout as the game, end to end, resume."""

from __future__ import annotations


import pytest
import torch

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.data import Dataset
from sro_bench.errors import UserError
from sro_bench.leaders import LeaderConfig, LeaderContext, build_leader
from sro_bench.objectives import DPO, DPOConfig, LossTerms
from sro_bench.objectives.base import smoothed_sigmoid_loss
from sro_bench.training.trl_dpo import TrlDPOGame, chosen_references, conservative_dpo_losses, preference_rows
from sro_bench.run.runner import run

pytest.importorskip("trl")

DATA = Dataset("toy", ["you are a total idiot .", "shut up , moron .", "this is the dumbest idea ."],
               [["you are wrong ."], ["please stop ."], ["this is not a good idea .", "i disagree ."]])


def causal(seed: int = 0):
    torch.manual_seed(seed)
    return build_leader(LeaderConfig(name="tiny-causal"), LeaderContext(seed=seed))


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_trl_loss_equals_the_harness_dpo_loss_on_the_leaders_own_scores(eps, tmp_path):
    leader = causal()
    config = DPOConfig(label_smoothing=eps, beta=0.5)
    game = TrlDPOGame(leader, config, DATA, GameConfig(batch_size=3, max_steps=1), seed=0)
    trainer = game._trainer(tmp_path, 0, [])  # takes the frozen reference copy
    with torch.no_grad():  # move the policy away from the reference, or every margin is 0 and the loss log 2
        for p in leader.model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    rows = preference_rows(leader, DATA, 0)
    batch = trainer.data_collator([{k: v[i] for k, v in rows.items()} for i in range(len(DATA))])
    with torch.no_grad():
        trl_loss = trainer.compute_loss(trainer.model, batch).item()

    chosen = chosen_references(DATA, 0)
    with torch.no_grad():
        policy = leader.sequence_logprobs(DATA.inputs + DATA.inputs, chosen + DATA.inputs)
        with leader.reference():
            ref = leader.sequence_logprobs(DATA.inputs + DATA.inputs, chosen + DATA.inputs)
    n = len(DATA)
    ours, _ = DPO(config).loss(LossTerms(policy[:n], ref[:n], torch.zeros(n), policy[n:], ref[n:]))
    assert abs(ours.item() - torch.log(torch.tensor(2.0)).item()) > 1e-3
    assert trl_loss == pytest.approx(ours.item(), rel=1e-4, abs=1e-6)
    assert ours.item() == pytest.approx(smoothed_sigmoid_loss(
        (policy[:n] - policy[n:]) - (ref[:n] - ref[n:]), 0.5, eps).mean().item(), rel=1e-6)


def test_conservative_dpo_weights_are_exact_for_any_margin():
    import torch.nn.functional as F

    d = torch.linspace(-30, 30, 61)
    for eps in (0.05, 0.1, 0.25, 0.45):
        (_, _), (w_sigmoid, w_robust) = conservative_dpo_losses(eps)
        sigmoid = -F.logsigmoid(d)
        robust = (-(1 - eps) * F.logsigmoid(d) + eps * F.logsigmoid(-d)) / (1 - 2 * eps)  # trl's 'robust'
        torch.testing.assert_close(w_sigmoid * sigmoid + w_robust * robust, smoothed_sigmoid_loss(d, 1.0, eps))


def test_dpo_picks_trl_for_causal_leaders_and_the_game_for_seq2seq():
    from sro_bench.training.game import Game
    from sro_bench.training.loops import build_loop

    cfg = GameConfig(max_steps=1)
    assert isinstance(build_loop(DPO(), causal(), DATA, cfg, 0), TrlDPOGame)
    assert isinstance(build_loop(DPO(DPOConfig(dpo_backend="game")), causal(), DATA, cfg, 0), Game)
    assert DPO().loop(causal(), GameConfig(seed_faithful_logprob=True)) == "game"
    torch.manual_seed(0)
    seq2seq = build_leader(LeaderConfig(name="tiny"))
    assert isinstance(build_loop(DPO(), seq2seq, DATA, cfg, 0), Game)
    with pytest.raises(UserError, match="causal leader"):
        DPO(DPOConfig(dpo_backend="trl")).loop(seq2seq, cfg)


def test_both_loops_honour_the_loop_contract():
    import inspect

    from sro_bench.training.game import Game
    from sro_bench.training.loops import Loop, build_loop

    cfg = GameConfig(max_steps=1)
    loops = [build_loop(DPO(), causal(), DATA, cfg, 0), build_loop(DPO(DPOConfig(dpo_backend="game")), causal(), DATA, cfg, 0)]
    assert {type(loop) for loop in loops} == {TrlDPOGame, Game}
    wanted = inspect.signature(Loop.play).parameters
    for loop in loops:
        assert isinstance(loop, Loop) and loop.total_steps == 1 and loop.step == 0 and loop.rank == 0
        assert list(inspect.signature(type(loop).play).parameters) == list(wanted)


def test_a_leader_that_is_not_a_transformers_model_gets_a_clear_error():
    from sro_bench.leaders.base import Leader
    from sro_bench.training.loops import build_loop

    class Plain(Leader):  # a third-party causal leader: the harness's own loop would do, trl's cannot
        is_encoder_decoder = False
        generate = sequence_logprobs = save = lambda *a, **k: None

    with pytest.raises(UserError, match="the trl DPO loop needs a Hugging Face leader"):
        build_loop(DPO(), Plain(), DATA, GameConfig(max_steps=1), 0)


@pytest.fixture
def causal_dpo(data_dir, tmp_path) -> RunConfig:
    return RunConfig(method="dpo", leader=LeaderConfig(name="tiny-causal"),
                     game=GameConfig(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8,
                                     checkpoint_every=1, lr=1e-3),
                     eval_limit=8, data_dir=data_dir, runs_dir=tmp_path / "runs")


def test_trl_dpo_runs_end_to_end_and_resumes_exactly(causal_dpo):
    causal_dpo.run_id = "whole"
    whole = run(causal_dpo, progress=False).record
    assert whole["objective"]["dpo_backend"] == "auto" and "train" in whole["game"]["timings"]
    assert [h["step"] for h in whole["game"]["history"]] == [1, 2, 3]
    assert all(h["loss"] > 0 for h in whole["game"]["history"])
    assert not (whole.run_dir / "checkpoint").exists()

    causal_dpo.run_id = "split"
    interrupted = run(causal_dpo, progress=False, stop_after=2)
    assert interrupted.stopped_at == 2
    resumed = run(RunConfig(), resume=interrupted.run_dir.path, progress=False).record
    assert resumed["game"]["resumed_from"] == 2
    assert [h["loss"] for h in resumed["game"]["history"]] == pytest.approx(
        [h["loss"] for h in whole["game"]["history"]], rel=1e-5)
    assert resumed["metrics"]["BLEU"] == pytest.approx(whole["metrics"]["BLEU"], abs=1e-6)


def test_progress_status_reads_game_and_trl_history_entries():
    from sro_bench.util.progress import step_status

    game = {"pass_rate_raw": 0.5, "pass_rate": 0.4, "loss": 0.7, "log_ratio": 0.1}
    assert step_status(game) == "pass 0.50->0.40  loss 0.7000  log-ratio +0.10"
    assert step_status({"loss": 0.69, "reward_accuracy": 0.75, "log_ratio": None}) == "loss 0.6900  accuracy 0.75"


def test_bad_dpo_backends_are_one_line_errors(data_dir, tmp_path):
    with pytest.raises(UserError, match="--dpo-backend must be auto, trl or game"):
        DPOConfig(dpo_backend="fast")
    config = RunConfig(method="dpo", objective=DPOConfig(), data_dir=data_dir, runs_dir=tmp_path)
    config.objective.dpo_backend = "fast"  # set after construction: the run checks again before any work
    with pytest.raises(UserError, match="--dpo-backend must be auto, trl or game"):
        run(config, progress=False)
    assert not any(tmp_path.iterdir())
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "from sro_bench.cli.main import main; main()", "run", "--method", "dpo",
                           "--leader", "tiny", "--dpo-backend", "trl", "--preset", "smoke", "--eval-limit", "4",
                           "--data-dir", str(data_dir)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "--dpo-backend trl needs a causal leader" in done.stderr
    assert "Traceback" not in done.stderr


def test_trl_dpo_under_lora_uses_the_disabled_adapter_as_reference(causal_dpo):
    causal_dpo.leader.lora_r = 4
    causal_dpo.game.lr = 1e-2
    record = run(causal_dpo, progress=False).record
    assert record["leader"]["lora"]["r"] == 4
    ratios = [h["log_ratio"] for h in record["game"]["history"]]
    assert ratios[0] == pytest.approx(0.0, abs=1e-6) and abs(ratios[-1]) > 1e-2  # B = 0 at init, then moves
