"""Where a robustness grid's cells run: here one after another (the default), N side by side on this machine
(``--jobs N``), or as Ray tasks on a cluster (``--executor ray``), each with the GPUs it asks for.

A cell travels as its resolved configuration in JSON (or the run directory it resumes) and comes back as
the path of its record, or its error: a cell that fails never stops the others.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import UserError, one_line, signal_number, stop_on_signals

EXECUTORS = ("local", "ray")


@dataclass
class CellTask:
    run_id: str
    config: dict | None = None  # a resolved RunConfig as JSON (a new cell)
    resume: str | None = None  # or the run directory it continues
    threads: int = 0  # torch threads in a worker process (0: leave as is)


@dataclass
class CellResult:
    run_id: str
    record: str | None = None  # the record's path
    error: str | None = None


def run_cell(task: CellTask, progress: bool = False) -> CellResult:
    """Play one cell to its record, in whatever process this is; errors come back as text."""
    from ..run.config import RunConfig, from_dict
    from ..run.runner import run

    if task.threads:
        import torch

        torch.set_num_threads(task.threads)
    try:
        if task.resume is not None:
            result = run(RunConfig(), resume=Path(task.resume), progress=progress)
        else:
            result = run(from_dict(task.config, f"cell {task.run_id}"), progress=progress)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # reported with the cell; the grid goes on
        return CellResult(task.run_id, error=one_line(exc))
    return CellResult(task.run_id, record=str(result.record.path))


def check_executor(executor: str, jobs: int, gpus_per_cell: float, address: str | None = None) -> None:
    if executor not in EXECUTORS:
        raise UserError(f"--executor: unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    if jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {jobs}")
    if gpus_per_cell < 0:
        raise UserError(f"--gpus-per-cell must be >= 0, got {gpus_per_cell}")
    # An option the executor would not use is refused, not ignored: the user expected it to do something.
    if executor == "local" and address is not None:
        raise UserError("--address is a Ray cluster's; it needs --executor ray")
    if executor == "local" and gpus_per_cell > 0:
        raise UserError("--gpus-per-cell is what a Ray task asks for; it needs --executor ray "
                        "(local cells use the device each run chooses)")
    if executor == "ray" and address is not None and jobs != 1:
        raise UserError("--jobs sizes a local Ray; with --address the cluster decides how many cells run at once")
    if executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UserError("--executor ray needs Ray: pip install -c constraints.txt 'sro-bench[ray]'")


def execute(tasks: list[CellTask], on_done: Callable[[CellResult], None], *, executor: str = "local", jobs: int = 1,
            address: str | None = None, gpus_per_cell: float = 0.0, progress: bool = True) -> list[CellResult]:
    """Run ``tasks``; ``on_done`` hears of each as it finishes (in completion order)."""
    if executor == "ray":
        return _on_ray(tasks, on_done, address=address, gpus_per_cell=gpus_per_cell, jobs=jobs)
    if jobs == 1:
        results = []
        for task in tasks:
            results.append(run_cell(task, progress=progress))
            on_done(results[-1])
        return results
    import concurrent.futures
    import multiprocessing

    threads = max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) // jobs)
    results = []
    pool = concurrent.futures.ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_end_with_parent, initargs=(os.getpid(),))
    try:
        futures = [pool.submit(_run_cell_in_worker, CellTask(t.run_id, t.config, t.resume, t.threads or threads))
                   for t in tasks]
        for future in concurrent.futures.as_completed(futures):
            results.append(future.result())
            on_done(results[-1])
    except BaseException:  # Ctrl-C, SIGTERM: the cells stop too, each marking itself to resume
        _stop_workers(multiprocessing.active_children())
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def _end_with_parent(parent: int) -> None:
    """A pool worker's start: SIGTERM and SIGHUP stop its cell as they stop a run (marked, resumable), and on Linux
    the kernel sends it SIGTERM when the grid's process dies, however it dies (even by SIGKILL)."""
    stop_on_signals()
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the grid died before the line above
        os.kill(os.getpid(), signal.SIGTERM)


def _run_cell_in_worker(task: CellTask) -> CellResult:
    """:func:`run_cell` in a pool worker, which ends when its cell is interrupted (the pool would otherwise catch
    the interruption and hand the worker the next cell)."""
    try:
        return run_cell(task)
    except KeyboardInterrupt as exc:  # the cell has marked itself; its checkpoint is kept
        os._exit(128 + signal_number(exc))


def _stop_workers(workers: list, grace: float = 60.0) -> None:
    """SIGTERM each worker (its cell saves its mark and exits), then SIGKILL any still running after ``grace`` s."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(grace)
        if worker.is_alive():
            worker.kill()
            worker.join()


def _on_ray(tasks: list[CellTask], on_done: Callable[[CellResult], None], *, address: str | None,
            gpus_per_cell: float, jobs: int) -> list[CellResult]:
    import ray

    started_here = not ray.is_initialized()
    if started_here:  # a cluster at --address, else a local Ray with --jobs CPUs
        ray.init(address=address, **({} if address else {"num_cpus": jobs}), include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    try:
        remote = ray.remote(num_cpus=1, num_gpus=gpus_per_cell, max_retries=0)(run_cell)
        pending = [remote.remote(CellTask(t.run_id, t.config, t.resume, t.threads or 1)) for t in tasks]
        results = []
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            results.append(ray.get(done[0]))
            on_done(results[-1])
        return results
    finally:
        if started_here:
            ray.shutdown()
