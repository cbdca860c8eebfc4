"""Run records: one JSON per run (config, versions, git revision, seed, hardware, timings, metrics, data)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import UserError, one_line
from ..util.dataclass_json import jsonable
from ..util.files import atomic_write_text, read_json_object
from ..util.paths import REPO_ROOT

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


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=True) + "\n")


def read_record(path: Path) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / "record.json"
    record = read_json_object(path, "run record")
    if record.get("schema") != SCHEMA:
        raise UserError(f"{path}: not a sro-bench run record (schema {SCHEMA!r} expected)")
    problem = record_problem(record)
    if problem:
        raise UserError(f"{path}: malformed run record: {problem}")
    record["_path"] = str(path)
    return record


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


# field -> (check, what it must be); fields a record may lack are checked only when present
_REQUIRED = {
    "kind": (lambda v: v in ("run", "eval"), '"run" or "eval"'),
    "method": (lambda v: isinstance(v, dict) and isinstance(v.get("name"), str), "an object with a string name"),
    "metrics": (lambda v: isinstance(v, dict) and all(_number_or_none(x) for x in v.values()),
                "an object of numbers"),
    "evaluation": (lambda v: isinstance(v, dict) and isinstance(v.get("rows"), int), "an object with integer rows"),
    "perturbation": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    "seed": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)), "an integer or null"),
    "config": (lambda v: isinstance(v, dict), "an object"),
}
_OPTIONAL = {
    "game": (lambda v: isinstance(v, dict) and isinstance(v.get("steps", 0), int)
             and isinstance(v.get("history", []), list), "an object with integer steps and a history list"),
    "rewrite_quality": (lambda v: isinstance(v, dict) and all(_number_or_none(x) for x in v.values()),
                        "an object of numbers"),
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


FAILED = "failed.json"  # in a run directory: the run stopped with an error (removed when a resume finishes)


def mark_failed(run_dir: Path, exc: BaseException) -> None:
    interrupted = isinstance(exc, KeyboardInterrupt)
    error = "interrupted" if interrupted else one_line(exc)
    write_json(run_dir / FAILED, {"error": error, "interrupted": interrupted, "when": now(),
                                  "resume": f"sro-bench run --resume {run_dir}"})


def read_failure(run_dir: Path) -> dict | None:
    """What ``failed.json`` says, or None where the run has not failed."""
    path = Path(run_dir) / FAILED
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"error": f"{path} is unreadable"}
    return data if isinstance(data, dict) else {"error": f"{path} is not a JSON object"}


def judges_of(record: dict) -> tuple[str, ...]:
    """The trained judges that scored a record; older records name them only through their cache files."""
    suite = record.get("suite") or {}
    if suite.get("judges"):
        return tuple(sorted(suite["judges"].values()))
    info = suite.get("info") or {}
    return tuple(sorted(Path(str(m["cache_file"])).stem for m in info.values()
                        if isinstance(m, dict) and m.get("cache_file")))


def eval_set_key(record: dict) -> str:
    """The evaluation set's identity: its content digest (older records: its name and row count)."""
    evaluation = record.get("evaluation") or {}
    return evaluation.get("digest") or f"{evaluation.get('name')}/{evaluation.get('rows')}"


def find_records(paths: list[Path]) -> list[Path]:
    """Record files named directly or found (recursively) under directories, sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.rglob("record.json")))
        elif path.exists():
            found.append(path)
        else:
            raise UserError(f"{path}: no such file or directory")
    return found


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
