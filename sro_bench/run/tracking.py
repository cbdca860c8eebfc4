"""Experiment tracking (``--report-to``) through accelerate's trackers: TensorBoard, Weights & Biases, MLflow.

A run logs its configuration as hyperparameters, every game step's history entry (losses, pass rates,
the log-ratio, the reward-hacking meter) at that step, and the suite's figures at the end. Nothing here
needs a network: TensorBoard writes event files under the run directory, MLflow a local SQLite store
there unless ``MLFLOW_TRACKING_URI`` says otherwise, and W&B honours ``WANDB_MODE=offline``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import UserError

TRACKERS = ("tensorboard", "wandb", "mlflow")
MLFLOW_DB = "mlflow.db"  # MLflow's local store there (its plain-file store is deprecated)


def check_trackers(names: list[str]) -> None:
    """Known names whose package is installed; else a one-line error saying what to install."""
    from accelerate.utils import is_mlflow_available, is_tensorboard_available, is_wandb_available

    available = {"tensorboard": is_tensorboard_available, "wandb": is_wandb_available, "mlflow": is_mlflow_available}
    for name in names:
        if name not in TRACKERS:
            raise UserError(f"--report-to: unknown tracker {name!r} (known: {', '.join(TRACKERS)})")
        if not available[name]():
            raise UserError(f"--report-to {name}: the {name} package is not installed "
                            f"(pip install -c constraints.txt 'sro-bench[tracking]')")


def flat(config: dict, prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``a.b`` keys with values every tracker takes (str, int, float, bool)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        elif isinstance(value, (bool, int, float, str)):
            out[f"{prefix}{key}"] = value
        else:
            out[f"{prefix}{key}"] = "none" if value is None else str(value)
    return out


def scalars(entry: dict) -> dict[str, float]:
    """The numbers of a history entry (the step itself is the x axis, not a series)."""
    return {k: float(v) for k, v in entry.items()
            if k != "step" and isinstance(v, (int, float)) and not isinstance(v, bool)}


class Tracking:
    """The trackers of one run; does nothing when ``names`` is empty."""

    def __init__(self, names: list[str], logging_dir: Path, run_name: str, config: dict):
        self.trackers = []
        if not names:
            return
        from accelerate.tracking import MLflowTracker, TensorBoardTracker, WandBTracker

        logging_dir = Path(logging_dir)
        for name in names:
            if name == "tensorboard":
                tracker = TensorBoardTracker(run_name, logging_dir)
            elif name == "wandb":
                tracker = WandBTracker(run_name, dir=str(logging_dir), name=run_name)
            else:
                import mlflow

                if not os.environ.get("MLFLOW_TRACKING_URI"):  # a local store in the run directory
                    logging_dir.mkdir(parents=True, exist_ok=True)
                    mlflow.set_tracking_uri(f"sqlite:///{(logging_dir / MLFLOW_DB).resolve()}")
                tracker = MLflowTracker(experiment_name="sro-bench", run_name=run_name,
                                        logging_dir=(logging_dir / "mlartifacts").resolve().as_uri())
            logging_dir.mkdir(parents=True, exist_ok=True)
            tracker.start()
            tracker.store_init_configuration(flat(config))
            self.trackers.append(tracker)

    def log(self, values: dict[str, float], step: int) -> None:
        for tracker in self.trackers:
            tracker.log(values, step=step)

    def finish(self) -> None:
        for tracker in self.trackers:
            tracker.finish()
        self.trackers = []
