"""User-facing errors: one line, naming the file, line and problem; the CLI prints them without a traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input or options. ``str(error)`` is the whole message shown to the user."""


class DataError(UserError):
    """A data file that cannot be read as documented."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None):
        self.path, self.problem, self.line = str(path), problem, line
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
