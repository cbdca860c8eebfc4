"""Robustness grids on other executors: N local processes or Ray tasks give the sequential grid's records,
bit for bit in the metrics; a cell that fails is reported and the others finish."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.errors import UserError
from sro_bench.leaders import LeaderConfig
from sro_bench.grids.robustness import RobustnessConfig, publish

METRICS = ["bleu", "chrf", "self-bleu"]  # no judge to train in the workers: this is about where cells run


def grid(base: RunConfig, out: Path, methods=("sro", "rs-sft"), **executor) -> RobustnessConfig:
    return RobustnessConfig(methods=list(methods), axes=["flip:0,0.3"], seeds=[0], out=out, base=base,
                            game_overrides={}, **executor)


@pytest.fixture
def base(data_dir) -> RunConfig:
    return RunConfig(leader=LeaderConfig(name="tiny"), eval_limit=8, data_dir=data_dir, metrics=METRICS,
                     game=GameConfig(max_steps=2, batch_size=4, max_train_inputs=16, max_new_tokens=8, checkpoint_every=0))


def metrics(out: Path) -> dict[str, dict]:
    return {cell.name: json.loads((cell / "record.json").read_text())["metrics"] for cell in (out / "cells").iterdir()}


@pytest.fixture
def sequential(base, tmp_path) -> dict[str, dict]:
    publish(grid(base, tmp_path / "seq"), "test", progress=False)
    return metrics(tmp_path / "seq")


def test_local_processes_give_the_sequential_grids_metrics(base, tmp_path, sequential):
    statuses = []
    publish(grid(base, tmp_path / "jobs", jobs=2), "test", progress=False, on_cell=lambda c, s: statuses.append(s))
    assert sorted(statuses) == ["ran"] * 4
    assert metrics(tmp_path / "jobs") == sequential and len(sequential) == 4


def test_ray_gives_the_sequential_grids_metrics(base, tmp_path, sequential):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'sro-bench[ray]')")
    paths = publish(grid(base, tmp_path / "ray", executor="ray", jobs=2), "test", progress=False)
    assert metrics(tmp_path / "ray") == sequential
    assert "| sro | flip:0.3 | 1 |" in paths["table"].read_text()


@pytest.mark.parametrize("executor", ["local", "ray"])
def test_a_failing_cell_is_reported_and_the_others_finish(base, tmp_path, executor):
    if executor == "ray":
        pytest.importorskip("ray", reason="ray is not installed (pip install 'sro-bench[ray]')")
    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # passes validation (a model directory), fails to load
    base.leader = LeaderConfig(name=f"hf:{broken}")
    statuses = {}
    with pytest.raises(UserError, match=r"2 of 4 cells failed \(sro--none--s0, sro--flip-0.3--s0\)"):
        publish(grid(base, tmp_path / "g", methods=("sro", "duplicate"), executor=executor, jobs=2), "test",
                progress=False, on_cell=lambda cell, status: statuses.setdefault(cell.run_id, status))
    assert statuses["duplicate--none--s0"] == "ran" and statuses["sro--none--s0"].startswith("failed: ")
    assert "| duplicate | flip:0.3 | 1 |" in (tmp_path / "g" / "robustness.md").read_text()
    assert (tmp_path / "g" / "cells" / "sro--none--s0" / "failed.json").is_file()


def test_the_grid_config_checks_itself_and_reads_method_settings(tmp_path):
    from sro_bench.errors import UserError
    from sro_bench.grids.config import RobustnessConfig

    with pytest.raises(UserError, match="--methods: no method given"):
        RobustnessConfig(methods=[], out=tmp_path)
    config = RobustnessConfig(methods=["sro", "grpo"], budget=3, method_settings=["grpo:samples_per_input=2"], out=tmp_path)
    assert config.game_overrides == {"max_steps": 3} and config.method_overrides == {"grpo": {"samples_per_input": 2}}
    with pytest.raises(UserError, match="'kto' is not one of --methods"):
        RobustnessConfig(methods=["sro"], method_settings=["kto:lr=0.1"], out=tmp_path)
