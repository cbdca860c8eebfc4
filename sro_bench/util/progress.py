"""Progress for long work: rich bars on a terminal; where none is attached (a scheduler's log, nohup, CI) a
plain line at a steady pace, so that a slow job can be told from a hung one; silent when disabled (tests,
notebooks that ask for quiet)."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from typing import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


PLAIN_EVERY = 30.0  # seconds between plain progress lines
HEARTBEAT_EVERY = 60.0  # seconds between "still working" lines for work of unknown length


def on_terminal() -> bool:
    from rich.console import Console

    return Console(stderr=True).is_terminal


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _plain_stage(label: str) -> Iterator[None]:
    """``label ...`` now, ``label: still working (elapsed)`` every minute, ``label: done in ...`` at the end."""
    start, stop = time.monotonic(), threading.Event()

    def beat():
        while not stop.wait(HEARTBEAT_EVERY):
            _line(f"{label}: still working ({_clock(time.monotonic() - start)})")

    _line(f"{label} ...")
    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    _line(f"{label}: done in {_clock(time.monotonic() - start)}")


class PlainProgress:
    """The part of rich's ``Progress`` the harness uses, as a plain line every :data:`PLAIN_EVERY` seconds:
    what, how far, time spent and left, and the status."""

    def __init__(self) -> None:
        self.tasks: dict[int, dict] = {}

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc) -> None:
        for task in self.tasks.values():
            self._print(task)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields) -> int:
        now = time.monotonic()
        self.tasks[len(self.tasks)] = {"description": description, "total": total, "completed": completed,
                                       "start": now, "first": completed, "last": now, "fields": fields}
        _line(f"{description}: {completed}/{total} ...")
        return len(self.tasks) - 1

    def update(self, task_id: int, *, completed: float | None = None, **fields) -> None:
        task = self.tasks[task_id]
        if completed is not None:
            task["completed"] = completed
        task["fields"].update(fields)
        if time.monotonic() - task["last"] >= PLAIN_EVERY:
            self._print(task)

    def _print(self, task: dict) -> None:
        now = time.monotonic()
        task["last"] = now
        spent, done = now - task["start"], task["completed"] - task["first"]
        left = (spent / done * (task["total"] - task["completed"])) if task["total"] and done > 0 else None
        status = task["fields"].get("status") or ""
        _line(f"{task['description']}: {task['completed']}/{task['total']}, {_clock(spent)} spent"
              + (f", ~{_clock(left)} left" if left is not None else "") + (f"  {status}" if status else ""))


def notice(message: str) -> None:
    """One line on stderr, beside the progress bars (never into piped results on stdout)."""
    from rich.console import Console

    Console(stderr=True).print(message, markup=False, highlight=False)


@contextlib.contextmanager
def busy(description: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with elapsed time for work of unknown length (e.g. training the judges on first use)."""
    if not enabled:
        yield
        return
    if not on_terminal():
        with _plain_stage(description):
            yield
        return
    from rich.console import Console
    from rich.progress import SpinnerColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        progress.add_task(description, total=None)
        yield


@contextlib.contextmanager
def stages(enabled: bool) -> Iterator[Callable[[str], contextlib.AbstractContextManager]]:
    """Yields ``stage(label)``: a context manager shown as one spinner line per stage of a long job."""
    if not enabled:
        yield lambda label: contextlib.nullcontext()
        return
    if not on_terminal():
        yield _plain_stage
        return
    from rich.console import Console
    from rich.progress import SpinnerColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:

        @contextlib.contextmanager
        def stage(label: str) -> Iterator[None]:
            task = bar.add_task(label, total=1)
            yield
            bar.update(task, completed=1)

        yield stage


def make_progress(**fields) -> Progress | PlainProgress:
    if not fields.get("disable") and not on_terminal():
        return PlainProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        transient=False,
        **fields,
    )


def step_status(entry: dict) -> str:
    """One step's figures for the bar: pass rates (screener before/after flips, judge), loss, log-ratio, meter."""
    parts = []
    if entry.get("pass_rate_raw") is not None:
        parts.append(f"pass {entry['pass_rate_raw']:.2f}->{entry['pass_rate']:.2f}")
    if entry.get("judge_pass") is not None:
        parts.append(f"judge {entry['judge_pass']:.2f}")
    parts.append(f"loss {entry['loss']:.4f}")
    if entry.get("reward_accuracy") is not None:
        parts.append(f"accuracy {entry['reward_accuracy']:.2f}")
    if entry.get("log_ratio") is not None:
        parts.append(f"log-ratio {entry['log_ratio']:+.2f}")
    # Reward-hacking meter (sro_bench.meter), compact: the bar column is narrow.
    meter = [(name, entry.get(key)) for name, key in (("cut", "cut_rate"), ("len", "length_ratio"),
                                                      ("nonword", "nonword_rate"), ("rep", "repetition_rate"),
                                                      ("del", "deletion_rate"), ("add", "addition_rate"))]
    if any(value is not None for _, value in meter):
        parts.append(" ".join(f"{name} {value:.2f}" for name, value in meter if value is not None))
    return "  ".join(parts)


@contextlib.contextmanager
def game_progress(total: int, done: int, *, enabled: bool, label: str) -> Iterator[Callable[[dict, int], None]]:
    """A per-step callback showing pass rate (before/after flips), loss and the log-ratio."""
    if not enabled:
        yield lambda entry, total: None
        return
    with make_progress() as progress:
        task = progress.add_task(f"game ({label})", total=total, completed=done, status="")

        def on_step(entry: dict, total: int) -> None:
            progress.update(task, completed=entry["step"], status=step_status(entry))

        yield on_step


@contextlib.contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    import time

    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 3)
