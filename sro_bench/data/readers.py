"""Strict readers for text, TSV and CSV files: every problem becomes a one-line DataError."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Iterator

from ..errors import DataError

_WORDS = re.compile(r"[^a-z0-9]+")
# The one rule for where a line ends, in every command: "\n", "\r\n" or a lone "\r" (Python's universal newlines,
# and what the csv module splits on). Form feeds, U+2028 and the other characters str.splitlines() also
# splits on are text inside a line.
_LINE_END = re.compile(r"\r\n|\r|\n")
MAX_LINE = 10_000  # characters; sentences and comments are far shorter, a longer line is a wrong file


def normalise(text: str) -> str:
    """The matching key for exclusion and de-duplication: lowercase, runs of ``[^a-z0-9]`` to one space."""
    return _WORDS.sub(" ", text.lower()).strip()


def squash(text: str) -> str:
    """Collapse all whitespace (including the newlines inside quoted comments) to single spaces."""
    return " ".join(text.split())


def read_text(path: Path, allow_blank: bool = False) -> str:
    """The file decoded as UTF-8 (a BOM is allowed); undecodable bytes name their line.

    A file with no visible text is an error unless ``allow_blank`` (e.g. predictions that are all empty)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(path, "file not found") from None
    except IsADirectoryError:
        raise DataError(path, "is a directory, expected a file") from None
    except OSError as exc:
        raise DataError(path, f"cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(path, f"undecodable bytes (not UTF-8) at byte {exc.start}", line) from None
    if not text.strip() and not (allow_blank and text):
        raise DataError(path, "empty file")
    nul = text.find("\x00")
    if nul >= 0:
        raise DataError(path, "NUL byte (a binary file?)", text.count("\n", 0, nul) + 1)
    if len(text) > MAX_LINE:
        for number, line in enumerate(split_lines(text), start=1):
            if len(line) > MAX_LINE:
                raise DataError(path, f"line of {len(line):,} characters (at most {MAX_LINE:,}: one sentence a line)", number)
    return text


def split_lines(text: str) -> list[str]:
    """``text``'s lines by the one rule (a final line end ends the last line; it does not add an empty one)."""
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_lines(path: Path) -> tuple[list[tuple[int, str]], int]:
    """Non-empty lines as ``(line_number, text)``, and how many blank lines were skipped."""
    lines, blank = [], 0
    for number, line in enumerate(split_lines(read_text(path)), start=1):
        if line.strip():
            lines.append((number, line.strip()))
        else:
            blank += 1
    return lines, blank


def read_table(
    path: Path, delimiter: str, required: tuple[str, ...] = ()
) -> tuple[list[str], list[tuple[int, list[str]]], int]:
    """Header, data records as ``(first_line, fields)`` and the count of skipped empty records.

    Standard CSV quoting (records may span lines). Quoting errors, ragged rows and missing
    columns are errors naming the line.
    """
    text = read_text(path)
    _check_delimiter(path, (split_lines(text.lstrip("\r\n")) or [""])[0], delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records = _records(reader, path)
    try:
        _, header = next(records)
    except StopIteration:
        raise DataError(path, "empty file") from None
    header = [name.strip() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise DataError(path, f"missing column {missing[0]!r} (header: {' | '.join(header)})", 1)
    rows, empty = [], 0
    for line, fields in records:
        if not any(field.strip() for field in fields):
            empty += 1
            continue
        if len(fields) > len(header):
            raise DataError(path, f"{len(fields)} fields, header has {len(header)} (bad quoting or delimiter?)", line)
        rows.append((line, fields + [""] * (len(header) - len(fields))))
    return header, rows, empty


_DELIMITERS = {"\t": ("tab", ".tsv"), ",": ("comma", ".csv")}


def _check_delimiter(path: Path, header: str, delimiter: str) -> None:
    """A header with none of the expected delimiter but another's is the other format under the wrong name."""
    for other, (name, suffix) in _DELIMITERS.items():
        if other != delimiter and other in header and delimiter not in header:
            expected = _DELIMITERS[delimiter][0]
            raise DataError(path, f"the header is {name}-separated, not {expected}-separated as the file's name says: "
                                  f"rename it {suffix}, or convert it", 1)


def _records(reader, path: Path) -> Iterator[tuple[int, list[str]]]:
    start = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(path, f"malformed quoting: {exc}", start) from None
        yield start, fields
        start = reader.line_num + 1
