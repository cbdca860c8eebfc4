"""Rich progress bars for long work; silent when disabled (tests, notebooks that ask for quiet)."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


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


def make_progress(**fields) -> Progress:
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
