"""Run directories: what a run id may be, every file a run directory holds, the one place they are made, and
their one writer at a time.

A run directory is the user's data. Its name is a plain name (never a path), it is created only under
``--runs-dir``, and a process writes to it only while it holds the directory's lock: an OS lock
(``flock``) on ``.lock`` inside it, released by the kernel when its process ends however it ends, so a
crash or a SIGKILL never leaves a run stuck.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Iterator

from ..errors import UserError, one_line
from ..util.dataclass_json import write_json
from ..util.files import atomic_write_text

try:
    import fcntl
except ImportError:  # Windows: no flock; runs are not guarded there
    fcntl = None

RUN_ID_CHARACTERS = "letters, digits, '.', '_' and '-'"
RUN_ID_MAX = 128
_RUN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
SENTENCE_FIGURES = ("STA", "SIM", "FL", "J")


class RunDir:
    """A run's directory: the one place its files are named, and what writes them."""

    CONFIG = "config.json"  # the resolved configuration, written before the game starts
    RECORD = "record.json"  # written last: its presence means the run finished
    REWRITES = "rewrites.tsv"
    SCORES = "scores.tsv"  # per-sentence STA, SIM, FL, J of rewrites.tsv, row for row (the record keeps the means)
    START = "start"  # the untrained leader's rewrites, scores and figures, same decoding (training methods only)
    START_FIGURES = "start/figures.json"  # not record.json: the start is not a run, and boards must not read it as one
    LEADER = "leader"  # the trained leader (training methods only)
    METER = "meter.png"  # the reward-hacking meter's plot (on-policy methods only)
    FAILED = "failed.json"  # the run stopped with an error (removed when a resume finishes)
    CHECKPOINT = "checkpoint"  # whatever loop wrote it (training.checkpoints, trl); removed when the run finishes
    TRACKING = "tracking"  # the trackers' logs (--report-to)
    REPORT = "report.html"  # the run's page (`sro-bench report`)
    LOCK = ".lock"  # held by the one process writing the directory

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    config = property(lambda self: self.path / self.CONFIG)
    record = property(lambda self: self.path / self.RECORD)
    rewrites = property(lambda self: self.path / self.REWRITES)
    scores = property(lambda self: self.path / self.SCORES)
    leader = property(lambda self: self.path / self.LEADER)
    start = property(lambda self: RunDir(self.path / self.START))
    start_figures = property(lambda self: self.path / self.START_FIGURES)
    meter = property(lambda self: self.path / self.METER)
    failed = property(lambda self: self.path / self.FAILED)
    checkpoint = property(lambda self: self.path / self.CHECKPOINT)
    tracking = property(lambda self: self.path / self.TRACKING)
    report = property(lambda self: self.path / self.REPORT)
    lock = property(lambda self: self.path / self.LOCK)

    @property
    def finished(self) -> bool:
        return self.record.is_file()

    def write_config(self, config) -> None:
        write_json(self.config, config)

    def write_record(self, data: dict) -> None:
        write_json(self.record, data)

    def read_start(self) -> dict | None:
        """The untrained leader's figures, or None where they were not scored (yet)."""
        if not self.start_figures.is_file():
            return None
        return json.loads(self.start_figures.read_text(encoding="utf-8"))

    def write_rewrites(self, inputs, rewrites, references) -> None:
        """One row per input: the input, its rewrite and its references (as many columns as the most has)."""
        references = [list(r) for r in references] if references else [[] for _ in inputs]
        width = max((len(r) for r in references), default=0)
        rows = [[x, y, *refs, *[""] * (width - len(refs))] for x, y, refs in zip(inputs, rewrites, references)]
        _write_tsv(self.rewrites, ["input", "rewrite", *[f"reference{i + 1}" for i in range(width)]], rows)

    def write_scores(self, sentence: dict[str, list]) -> None:
        """Per-sentence scores beside rewrites.tsv (the report's source; the record keeps only the means)."""
        keys = [k for k in SENTENCE_FIGURES if k in sentence]
        rows = [["" if v is None else f"{v:.4f}" for v in values] for values in zip(*(sentence[k] for k in keys))]
        _write_tsv(self.scores, keys, rows)

    def mark_failed(self, exc: BaseException) -> None:
        """Write ``failed.json``; where even that cannot be written (a full disk), the error itself still stands."""
        from datetime import datetime, timezone

        interrupted = isinstance(exc, KeyboardInterrupt)
        with contextlib.suppress(OSError):
            write_json(self.failed, {"error": "interrupted" if interrupted else one_line(exc),
                                     "interrupted": interrupted,
                                     "when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     "resume": f"sro-bench run --resume {self.path}"})

    def read_failure(self) -> dict | None:
        """What ``failed.json`` says, or None where the run has not failed."""
        if not self.failed.is_file():
            return None
        try:
            data = json.loads(self.failed.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {"error": f"{self.failed} is unreadable"}
        return data if isinstance(data, dict) else {"error": f"{self.failed} is not a JSON object"}

    def finish(self, record: dict) -> None:
        """Write the record (the run is finished from here on), clear the failure marker, drop the checkpoint."""
        self.failed.unlink(missing_ok=True)
        self.write_record(record)
        # A finished run is never resumed; its optimizer state is the largest thing in the directory.
        shutil.rmtree(self.checkpoint, ignore_errors=True)


def _write_tsv(path: Path, header: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


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
        data = json.loads(RunDir(run_dir).lock.read_text(encoding="utf-8"))
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
    fd = os.open(RunDir(run_dir).lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{run_dir}: in use by {_holder(run_dir)}; wait for it to end, or stop it "
                            "(its lock goes with the process)") from None
        about = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "command": " ".join(["sro-bench", *sys.argv[1:]]) if Path(sys.argv[0]).name == "sro-bench" else ""}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(about).encode())
        except OSError as exc:  # a full disk: a write names no file of itself
            raise OSError(exc.errno, exc.strerror, str(RunDir(run_dir).lock)) from None
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def writing(run_dir: Path, *, new: bool, primary: bool = True) -> Iterator[RunDir]:
    """The block writes ``run_dir``: a new run's (made here, refused where a run already is) or one to resume.

    ``primary`` is False in the other processes of an `accelerate launch`, which write under the main
    process's lock. A new directory that fails before its configuration is written is removed again.
    """
    run = RunDir(run_dir)
    run_dir = run.path
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
    elif not run.config.is_file():
        raise UserError(f"{run_dir}: not a run directory (no config.json)")
    try:
        with one_writer(run_dir) if primary else contextlib.nullcontext():
            if new and primary:
                if run.finished:
                    raise UserError(f"{run_dir}: a finished run is already there (choose another --run-id)")
                if run.config.exists():
                    raise UserError(f"{run_dir}: an unfinished run is already there "
                                    f"(continue it with --resume {run_dir})")
            yield run
    except BaseException:
        if created and primary and not run.config.exists():  # nothing to resume: no lock-only directory left
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
