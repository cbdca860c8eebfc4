"""--report-to: every step's history and the final figures reach TensorBoard, MLflow and W&B, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.leaders import LeaderConfig
from sro_bench.run.runner import run


@pytest.fixture
def base(data_dir, tmp_path) -> RunConfig:
    return RunConfig(leader=LeaderConfig(name="tiny"), eval_limit=8, data_dir=data_dir, runs_dir=tmp_path / "runs",
                     game=GameConfig(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8, checkpoint_every=0))


def test_tensorboard_event_files_hold_the_records_history(base):
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install 'sro-bench[tracking]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    base.report_to, base.run_id = ["tensorboard"], "tb"
    record = run(base, progress=False).record
    events = EventAccumulator(str(Path(record["tracking"]["dir"]) / "tb"))
    events.Reload()
    history = record["game"]["history"]
    for series in ("loss", "pass_rate", "judge_pass", "log_ratio"):
        logged = events.Scalars(series)
        assert [e.step for e in logged] == [h["step"] for h in history], series
        assert [e.value for e in logged] == pytest.approx([h[series] for h in history], rel=1e-6, abs=1e-7), series
    assert events.Scalars("eval/J")[0].value == pytest.approx(record["metrics"]["J"], rel=1e-6)


def test_mlflow_local_store_holds_the_records_history(base, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="mlflow is not installed (pip install 'sro-bench[tracking]')")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    base.report_to, base.run_id = ["mlflow"], "mlf"
    record = run(base, progress=False).record
    client = mlflow.tracking.MlflowClient(f"sqlite:///{(Path(record['tracking']['dir']) / 'mlflow.db').resolve()}")
    [found] = client.search_runs([client.get_experiment_by_name("sro-bench").experiment_id])
    losses = client.get_metric_history(found.info.run_id, "loss")
    history = record["game"]["history"]
    assert [m.step for m in sorted(losses, key=lambda m: m.step)] == [h["step"] for h in history]
    assert [m.value for m in sorted(losses, key=lambda m: m.step)] == pytest.approx([h["loss"] for h in history], rel=1e-6)
    assert found.data.metrics["eval/J"] == pytest.approx(record["metrics"]["J"], rel=1e-6)
    assert found.data.params["game.batch_size"] == "4"


def test_wandb_runs_offline(base, monkeypatch):
    pytest.importorskip("wandb", reason="wandb is not installed (pip install 'sro-bench[tracking]')")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    base.report_to, base.run_id = ["wandb"], "wb"
    record = run(base, progress=False).record
    runs = list((Path(record["tracking"]["dir"]) / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_an_unknown_tracker_is_refused_before_any_work(base):
    from sro_bench.errors import UserError

    base.report_to = ["comet"]
    with pytest.raises(UserError, match="--report-to: unknown tracker 'comet'"):
        run(base, progress=False)
    assert not base.runs_dir.exists()
