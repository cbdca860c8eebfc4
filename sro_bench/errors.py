"""User-facing errors: one line, naming the file, line and problem; the CLI prints them without a traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or options. ``str(error)`` is the whole message shown to the user."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's stop, a closed terminal), raised where the signal lands so that it is
    handled as Ctrl-C is; ``signum`` is the signal's number."""

    def __init__(self, signum: int):
        super().__init__(f"signal {signum}")
        self.signum = signum


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, SIGHUP) during a run; ``str(error)`` says what was saved and the command that
    continues it; the process exits with 128 + ``signum``."""

    def __init__(self, message: str, signum: int = 2):
        super().__init__(message)
        self.signum = signum


def stop_on_signals() -> None:
    """SIGTERM (a scheduler's stop) and SIGHUP (a closed terminal) raise :class:`Terminated` where they land, so
    that they end a command as Ctrl-C does (what was saved, the failure mark, exit 128 + the signal)."""
    import signal
    import threading

    def stop(signum, frame):
        raise Terminated(signum)

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        return
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):  # no SIGHUP on Windows
            signal.signal(getattr(signal, name), stop)


def signal_number(exc: KeyboardInterrupt) -> int:
    """The signal behind an interruption: SIGINT (2) for Ctrl-C."""
    return exc.signum if isinstance(exc, (Terminated, Interrupted)) else 2


def one_line(exc: BaseException) -> str:
    """A user error's own message; anything else with its type (for failed.json and failed grid cells)."""
    return str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"


class DataError(UserError):
    """A data file that cannot be read as documented."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
