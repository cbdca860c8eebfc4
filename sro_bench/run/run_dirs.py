"""Run directories: what a run id may be, the one place they are made, and their one writer at a time.

A run directory is the user's data. Its name is a plain name (never a path), it is created only under
``--runs-dir``, and a process writes to it only while it holds the directory's lock: an OS lock
(``flock``) on ``.lock`` inside it, released by the kernel when its process ends however it ends, so a
crash or a SIGKILL never leaves a run stuck.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from ..errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None

RUN_ID_CHARACTERS = "letters, digits, '.', '_' and '-'"
RUN_ID_MAX = 128
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
LOCK = ".lock"
SCORES = "scores.tsv"  # per-sentence STA, SIM, FL, J of rewrites.tsv, row for row (the record keeps the means)
SENTENCE_FIGURES = ("STA", "SIM", "FL", "J")


def run_id_problem(run_id: str) -> str | None:
    """Why ``run_id`` is not a run directory's name, or None."""
    if not run_id:
        return "is empty"
    if len(run_id) > RUN_ID_MAX:
        return f"is {len(run_id)} characters long (at most {RUN_ID_MAX})"
    if not _RUN_ID.fullmatch(run_id):
        what = "a path" if ("/" in run_id or "\\" in run_id or run_id in (".", "..")) else "not a plain name"
        return f"is {what}: a run id is one name of {RUN_ID_CHARACTERS}, not starting with '.'"
    return None


def check_run_id(run_id: str, option: str = "--run-id") -> None:
    problem = run_id_problem(run_id)
    if problem:
        raise UserError(f"{option} {run_id!r} {problem}")


def _holder(run_dir: Path) -> str:
    try:
        data = json.loads((run_dir / LOCK).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "another process"
    if not isinstance(data, dict):
        return "another process"
    where = "" if data.get("host") == socket.gethostname() else f" on {data.get('host', '?')}"
    command = f": {data['command']}" if data.get("command") else ""
    return f"process {data.get('pid', '?')}{where} (since {data.get('since', '?')}{command})"


@contextlib.contextmanager
def one_writer(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block; a second writer gets a one-line error naming the first."""
    if fcntl is None:
        yield
        return
    fd = os.open(run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{run_dir}: in use by {_holder(run_dir)}; wait for it to end, or stop it "
                            "(its lock goes with the process)") from None
        about = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "command": " ".join(["sro-bench", *sys.argv[1:]]) if Path(sys.argv[0]).name == "sro-bench" else ""}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(about).encode())
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def writing(run_dir: Path, *, new: bool, primary: bool = True) -> Iterator[Path]:
    """The block writes ``run_dir``: a new run's (made here, refused where a run already is) or one to resume.

    ``primary`` is False in the other processes of an `accelerate launch`, which write under the main
    process's lock. A new directory that fails before its configuration is written is removed again.
    """
    run_dir = Path(run_dir)
    created = False
    if new:
        if run_dir.exists() and not run_dir.is_dir():
            raise UserError(f"{run_dir}: exists and is not a run directory")
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            run_dir.mkdir()
            created = True
        except FileExistsError:
            pass
    elif not (run_dir / "config.json").is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.json)")
    with one_writer(run_dir) if primary else contextlib.nullcontext():
        try:
            if new and primary:
                if (run_dir / "record.json").exists():
                    raise UserError(f"{run_dir}: a finished run is already there (choose another --run-id)")
                if (run_dir / "config.json").exists():
                    raise UserError(f"{run_dir}: an unfinished run is already there "
                                    f"(continue it with --resume {run_dir})")
            yield run_dir
        except BaseException:
            if created and primary and not (run_dir / "config.json").exists():
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
