"""Run records: one JSON per run (config, versions, git revision, seed, hardware, timings, metrics, data)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..util.files import read_json_object
from ..util.paths import REPO_ROOT
from .run_dirs import RunDir

SCHEMA = "sro-bench/run-record/v1"
PACKAGES = ("sro-bench", "torch", "transformers", "trl", "peft", "accelerate", "sacrebleu", "scikit-learn", "numpy")


# Copies of run settings that run directories written before LeaderContext kept under "leader".
RETIRED_LEADER_FIELDS = ("seed", "data_dir", "cache_dir", "max_new_tokens")


def without_retired(data: Any) -> Any:
    """A saved configuration less the leader fields that were only copies of the run's (older runs have them)."""
    if isinstance(data, dict) and isinstance(data.get("leader"), dict):
        leader = {k: v for k, v in data["leader"].items() if k not in RETIRED_LEADER_FIELDS}
        return {**data, "leader": leader}
    return data


class Record(Mapping):
    """A run record: its fields (schema :data:`SCHEMA`, checked by :func:`record_problem`) and, kept apart
    from them, the file it was read from or written to (None where it was not written)."""

    def __init__(self, data: dict, path: Path | None = None):
        self.data, self.path = data, None if path is None else Path(path)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        return f"Record({self.data.get('run_id', '?')!r}, path={None if self.path is None else str(self.path)!r})"

    @property
    def run_dir(self) -> Path | None:
        """The run directory the record was written in (None for a record written elsewhere or nowhere)."""
        return None if self.path is None else self.path.parent


def read_record(path: Path) -> Record:
    path = Path(path)
    if path.is_dir():
        path = RunDir(path).record
    record = read_json_object(path, "run record")
    if record.get("schema") != SCHEMA:
        raise UserError(f"{path}: not a sro-bench run record (schema {SCHEMA!r} expected)")
    problem = record_problem(record)
    if problem:
        raise UserError(f"{path}: malformed run record: {problem}")
    return Record(record, path)


def _number_or_none(value: Any) -> bool:
    """A finite number or null: an Infinity or NaN figure would sort first, or nowhere, on a board."""
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


# field -> (check, what it must be); fields a record may lack are checked only when present
_REQUIRED = {
    "kind": (lambda v: v in ("run", "eval"), '"run" or "eval"'),
    "method": (lambda v: isinstance(v, dict) and isinstance(v.get("name"), str), "an object with a string name"),
    "metrics": (lambda v: isinstance(v, dict) and all(_number_or_none(x) for x in v.values()),
                "an object of finite numbers (or null)"),
    "evaluation": (lambda v: isinstance(v, dict) and isinstance(v.get("rows"), int), "an object with integer rows"),
    "perturbation": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    "seed": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)), "an integer or null"),
    "config": (lambda v: isinstance(v, dict), "an object"),
}
_OPTIONAL = {
    "game": (lambda v: isinstance(v, dict) and isinstance(v.get("steps", 0), int)
             and isinstance(v.get("history", []), list), "an object with integer steps and a history list"),
    "rewrite_quality": (lambda v: isinstance(v, dict) and all(_number_or_none(x) for x in v.values()),
                        "an object of finite numbers (or null)"),
    "suite": (lambda v: isinstance(v, dict), "an object"),
}


def record_problem(record: dict) -> str | None:
    """What is wrong with a record's fields (the ones leaderboards and resumes read), or None."""
    for name, (check, what) in _REQUIRED.items():
        if name not in record:
            return f"no {name!r} field"
        if not check(record[name]):
            return f"{name!r} must be {what}"
    for name, (check, what) in _OPTIONAL.items():
        if name in record and not check(record[name]):
            return f"{name!r} must be {what}"
    return None


def judges_of(record: dict) -> tuple[str, ...]:
    """The trained judges that scored a record; older records name them only through their cache files."""
    suite = record.get("suite") or {}
    published = () if suite.get("judge_set", "offline") == "offline" else (f"set {suite['judge_set']}:",)
    if suite.get("judges"):
        return published + tuple(sorted(suite["judges"].values()))
    info = suite.get("info") or {}
    return tuple(sorted(Path(str(m["cache_file"])).stem for m in info.values()
                        if isinstance(m, dict) and m.get("cache_file")))


def start_metrics(record: dict) -> dict:
    """The figures of the run's untrained start (the same leader and decoding, before training); {} where none was scored."""
    return (record.get("start") or {}).get("metrics") or {}


def eval_set_key(record: dict) -> str:
    """The evaluation set's identity: its content digest (older records: its name and row count)."""
    evaluation = record.get("evaluation") or {}
    return evaluation.get("digest") or f"{evaluation.get('name')}/{evaluation.get('rows')}"


def find_records(paths: list[Path]) -> list[Path]:
    """Record files named directly or found (recursively) under directories, sorted; a file reached twice
    (a directory and a file in it) once."""
    found: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            for record in sorted(path.rglob(RunDir.RECORD)):
                found.setdefault(record.resolve(), record)
        elif path.exists():
            found.setdefault(path.resolve(), path)
        else:
            raise UserError(f"{path}: no such file or directory")
    return list(found.values())


def unnamed_records(paths: list[Path]) -> list[Path]:
    """Records under the directories in ``paths`` that :func:`find_records` does not read because they are not
    named record.json (an ``eval --json`` output, say): a board says it skipped them."""
    out, given = [], {Path(p).resolve() for p in paths if Path(p).is_file()}
    for path in map(Path, paths):
        for candidate in sorted(path.rglob("*.json")) if path.is_dir() else []:
            if (candidate.name in (RunDir.RECORD, RunDir.CONFIG, RunDir.FAILED) or RunDir.CHECKPOINT in candidate.parts
                    or candidate.resolve() in given):
                continue
            try:
                head = candidate.read_text(encoding="utf-8", errors="replace")[:2000]
            except OSError:
                continue
            if f'"schema": "{SCHEMA}"' in head:
                out.append(candidate)
    return out


def same_run(record: Record) -> str:
    """What makes two records one: the same content (a record copied, or reached by two paths)."""
    return hashlib.sha256(json.dumps(record.data, sort_keys=True, default=str).encode()).hexdigest()


def figures_text(metrics: dict) -> str:
    """``STA 0.7, J 0.41, ...``: a record's figures in one line (for errors that must not lose them)."""
    return ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if isinstance(v, float))


def split_scores(suite: dict) -> dict:
    """The suite's result as record fields: ``metrics`` (corpus figures) and ``suite`` (models, timings)."""
    return {"metrics": suite.pop("corpus"), "suite": suite}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.is_available()
        if torch.cuda.is_available():
            info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    return info


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_record(kind: str, **fields: Any) -> dict:
    """A record skeleton with the provenance every record carries."""
    return {
        "schema": SCHEMA,
        "kind": kind,
        "created": now(),
        "versions": versions(),
        "git": git_revision(),
        "hardware": hardware(),
        **fields,
    }
