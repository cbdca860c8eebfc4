"""Writing files so that no reader ever sees half of one, with the user's umask; reading back what was written."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator


def read_json_object(path: Path, what: str) -> dict:
    """A JSON object from ``path``; anything else is a one-line error naming the file and ``what`` it should be."""
    from ..errors import UserError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no {what} here") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a readable {what} ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a {what} (expected a JSON object)")
    return data


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[IO], None], *, binary: bool = False) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place.

    mkstemp creates files 0600; the result gets the mode any new file of the user's would (0666 less the
    umask), so records and tables are as readable as the user's other files.
    """
    path = Path(path)
    tmp = _written_beside(path, write, binary=binary)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _written_beside(path: Path, write: Callable[[IO], None], *, binary: bool = False) -> str:
    """A temporary file beside ``path`` that ``write`` has filled (removed again if it fails): its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            write(handle)
        os.chmod(tmp, 0o666 & ~_umask())
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):  # name the file meant, not the hidden temporary one (a write names none)
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise
    return tmp


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text))


def write_text_set(files: dict[Path, str]) -> None:
    """Write several files as one set: every one to a temporary file first (where a full disk fails), and
    only when all are written, each renamed into place; a failure leaves the old set whole and no debris,
    and names the file that could not be written."""
    from ..errors import UserError

    written: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path = Path(path)
            try:
                written.append((_written_beside(path, lambda handle: handle.write(text)), path))
            except OSError as exc:
                raise UserError(f"{path}: cannot write ({exc.strerror or exc}); none of the "
                                f"{len(files)} files was replaced") from None
        for tmp, path in written:
            os.replace(tmp, path)
    finally:
        for tmp, _ in written:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda handle: handle.write(data), binary=True)


def new_directory_beside(final: Path) -> Path:
    """An empty hidden directory next to ``final``, to build its replacement in."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))


@contextlib.contextmanager
def building(final: Path) -> Iterator[Path]:
    """An empty directory beside ``final`` to build its replacement in: put in place whole when the block ends
    (:func:`replace_directory`), removed with whatever was written when it fails (a full disk stays no fuller)."""
    tmp = new_directory_beside(final)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_directory(tmp, final)


def restore_replaced(final: Path) -> bool:
    """Where a process was killed between moving ``final`` aside and renaming its replacement in, put the
    one it moved aside (whole: it was ``final``) back; True when something was restored."""
    final = Path(final)
    if final.exists():
        return False
    moved = sorted(final.parent.glob(f".{final.name}-old-*/entry"), key=lambda p: p.stat().st_mtime)
    if not moved:
        return False
    os.rename(moved[-1], final)
    return True


def remove_leftovers(final: Path) -> None:
    """Remove the hidden build directories that interrupted writes left beside ``final`` (after restoring a
    ``final`` a kill left moved aside). Only for a directory that one process writes (a run's checkpoint):
    elsewhere they may be another's work in progress."""
    restore_replaced(final)
    for stale in Path(final).parent.glob(f".{Path(final).name}-*"):
        shutil.rmtree(stale, ignore_errors=True)


def replace_directory(tmp: Path, final: Path) -> Path:
    """Put the finished directory ``tmp`` in place of ``final``: a reader finds the old one or the new one, whole.

    The old one is moved aside, the new one renamed in, and only then the old one deleted: interrupted in
    between, the old one goes back (a kill leaves it aside for :func:`restore_replaced`). Where another
    process put its own copy there first, that copy stays (it is as good) and ``tmp`` goes."""
    tmp, final = Path(tmp), Path(final)
    aside = None
    try:
        if final.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{final.name}-old-", dir=final.parent)) / "entry"
            os.replace(final, aside)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
    except BaseException:
        if aside is not None and aside.exists() and not final.exists():
            os.rename(aside, final)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if aside is not None and final.exists():
            shutil.rmtree(aside.parent, ignore_errors=True)
    return final


def output_problem(path: Path, *, directory: bool = False) -> str | None:
    """Why ``path`` could not be written (as a file, or as a directory to create files in), or None.

    Checked before the work that produces the output, so a bad path never costs the results.
    """
    path = Path(path)
    if path.exists():
        if directory and not path.is_dir():
            return "exists and is not a directory"
        if not directory and path.is_dir():
            return "is a directory, expected a file name"
        target = path if directory else path.parent
        return None if os.access(target, os.W_OK | os.X_OK) else f"{target} is not writable"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {parent} is not a directory"
    return None if os.access(parent, os.W_OK | os.X_OK) else f"cannot be created: {parent} is not writable"
