"""Training-free baseline rows for leaderboards: an explicit step, so that `leaderboard` only renders.

For each evaluation set the given run records were scored on, the built-in rewriters (``duplicate``,
``delete``, ``reference``) that are not among them are run on that same set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..run.config import RunConfig
from ..run.records import eval_set_key, find_records, read_record
from ..run.run_dirs import RunDir
from ..util.paths import DataPaths
from ..util.settings import setting

BASELINES = ("duplicate", "delete", "reference")


def _judged_by(record: dict) -> tuple:
    """The judge set (and local copies of its models) a record was scored by: its baselines are scored alike."""
    config = (record.get("config") or {}) if record.get("kind") == "run" else {}
    return (config.get("judges") or "offline", config.get("sta_model"), config.get("sim_model"), config.get("fl_model"))


@dataclass
class BaselinesConfig(DataPaths):
    """`sro-bench baselines`: :func:`run_baselines`' settings."""

    records: list[Path] = setting(default_factory=list, help="run records, or directories holding them",
                                  argument=True, required=True, path="existing")
    runs_dir: Path | None = setting(None, "where the baseline runs go (usually beside the records)", required=True)


def run_baselines(paths: list[Path], runs_dir: Path, *, data_dir: Path | None = None, cache_dir: Path | None = None,
                  on_run: Callable[[str, str], None] | None = None) -> list[dict]:
    """Run each missing baseline on each evaluation set of the run records under ``paths``; returns
    the baseline records (existing ones under ``runs_dir`` are reused). Records of `eval` get none: their
    inputs are outside the harness."""
    from ..run.preflight import check_output
    from ..run.runner import run

    check_output(Path(runs_dir), "--runs-dir", directory=True)
    records = [read_record(p) for p in find_records(paths)]
    sets: dict[tuple, tuple[str | None, int | None]] = {}
    present: dict[tuple, set[str]] = {}
    for r in records:
        key = (eval_set_key(r), *_judged_by(r))
        present.setdefault(key, set()).add(r["method"]["name"])
        if r["kind"] == "run":
            sets.setdefault(key, (r["config"].get("eval_file"), r["config"].get("eval_limit")))
    done = []
    several = len({key[0] for key in sets}) > 1
    for key, (eval_file, eval_limit) in sets.items():
        judges, models = key[1], dict(zip(("sta_model", "sim_model", "fl_model"), key[2:]))
        suffix = "-" + re.sub(r"[^A-Za-z0-9]+", "-", key[0]).strip("-")[:24] if several else ""
        suffix += "" if judges == "offline" else f"-{judges}"
        for name in BASELINES:
            if name in present[key]:
                continue
            existing = RunDir(Path(runs_dir) / f"{name}{suffix}").record
            if existing.exists():
                done.append(read_record(existing))
                status = "exists"
            else:
                config = RunConfig(method=name, eval_file=Path(eval_file) if eval_file else None, eval_limit=eval_limit,
                                   data_dir=data_dir, cache_dir=cache_dir, runs_dir=Path(runs_dir),
                                   run_id=f"{name}{suffix}", judges=judges, **models)
                done.append(run(config, progress=False).record)
                status = "ran"
            if on_run is not None:
                on_run(str(done[-1].path), status)
    return done
