"""Datasets: toxic inputs with 0..n human references each, loaded from the files in ../shared/data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..errors import DataError
from .readers import normalise, read_lines, read_table, read_text, squash

PARADETOX = "paradetox.tsv"
DIRTY = "dirty.csv"
CANNOT_REWRITE = "paradetox_cannot_rewrite.dedup.tsv"
NORMAL_FILES = ("detox_emnlp2021_dev_normal.txt", "detox_emnlp2021_test_10k_normal.txt")
TOXIC_FILES = ("detox_emnlp2021_dev_toxic.dedup.txt", "detox_emnlp2021_test_10k_toxic.dedup.txt")

ID_COLUMNS = ("id", "idx", "index", "row", "#")
DEV_SIZE = 671  # the size of the official ParaDetox test set, which this split stands in for
DEV_SEED = 20241026  # fixed forever: changing it changes every published dev-split number


@dataclass
class Dataset:
    """Inputs, each with zero or more human references, plus where they came from."""

    name: str
    inputs: list[str]
    references: list[list[str]] = field(default_factory=list)  # empty, or one list per input
    source: str = ""
    skipped_empty: int = 0  # empty rows skipped while reading
    excluded: int = 0  # rows dropped by an exclusion list

    def __post_init__(self) -> None:
        if self.references and len(self.references) != len(self.inputs):
            raise ValueError("references must be empty or aligned with inputs")

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def has_references(self) -> bool:
        return bool(self.references) and all(self.references)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (input, reference) pair."""
        return [(x, ref) for x, refs in zip(self.inputs, self.references) for ref in refs]

    def subset(self, indices: Iterable[int], name: str | None = None) -> "Dataset":
        idx = list(indices)
        return replace(
            self,
            name=name or self.name,
            inputs=[self.inputs[i] for i in idx],
            references=[self.references[i] for i in idx] if self.references else [],
        )

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "rows": len(self.inputs),
            "digest": content_digest(self.inputs, self.references),
            "pairs": sum(len(r) for r in self.references),
            "skipped_empty": self.skipped_empty,
            "excluded": self.excluded,
        }


def content_digest(inputs: Sequence[str], references: Sequence[Sequence[str]] = ()) -> str:
    """A short digest of an evaluation set's inputs and references: records scored on different sets never
    share a leaderboard table, whatever the files were called."""
    digest = hashlib.sha256()
    for i, text in enumerate(inputs):
        digest.update(text.encode() + b"\x00")
        for ref in (references[i] if references else ()):
            digest.update(b"\x01" + ref.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:12]


def load_paradetox(path: Path, name: str = "paradetox") -> Dataset:
    """paradetox.tsv: ``toxic`` plus 1-3 ``neutral*`` references per row (standard CSV quoting)."""
    header, rows, empty = read_table(path, "\t", required=("toxic", "neutral1"))
    toxic_col = header.index("toxic")
    ref_cols = [i for i, name in enumerate(header) if name.startswith("neutral")]
    inputs, references = [], []
    for line, fields in rows:
        toxic = squash(fields[toxic_col])
        refs = [squash(fields[i]) for i in ref_cols if fields[i].strip()]
        if not toxic:
            raise DataError(path, "empty 'toxic' field in a row that has references", line)
        if not refs:
            raise DataError(path, "row has no neutral reference", line)
        inputs.append(toxic)
        references.append(refs)
    return Dataset(name, inputs, references, source=str(path), skipped_empty=empty)


def load_dirty(path: Path, name: str = "dirty") -> Dataset:
    """dirty.csv: the 14,869 toxic Jigsaw comments SRO trains on (``comment_text`` column)."""
    header, rows, empty = read_table(path, ",", required=("comment_text",))
    col = header.index("comment_text")
    inputs = []
    for _, fields in rows:
        text = squash(fields[col])
        if text:
            inputs.append(text)
        else:
            empty += 1
    return Dataset(name, inputs, source=str(path), skipped_empty=empty)


def load_lines(path: Path, name: str | None = None) -> Dataset:
    """One sentence a line; blank lines are skipped and counted."""
    lines, blank = read_lines(path)
    return Dataset(name or Path(path).stem, [text for _, text in lines], source=str(path), skipped_empty=blank)


def load_cannot_rewrite(path: Path, reasons: Sequence[str] = ("toxic_content",), name: str = "cannot-rewrite") -> Dataset:
    """Sentences crowd workers would not rewrite, kept where any of ``reasons`` is true."""
    header, rows, empty = read_table(path, "\t", required=("INPUT:toxic_comment", "OUTPUT:reasons"))
    text_col, reason_col = header.index("INPUT:toxic_comment"), header.index("OUTPUT:reasons")
    inputs = []
    for line, fields in rows:
        try:
            given = json.loads(fields[reason_col])
        except json.JSONDecodeError as exc:
            raise DataError(path, f"'OUTPUT:reasons' is not JSON ({exc.msg})", line) from None
        if not isinstance(given, dict):
            raise DataError(path, "'OUTPUT:reasons' is not a JSON object", line)
        text = squash(fields[text_col].strip().strip('"'))
        if not text:
            empty += 1
        elif any(given.get(reason) for reason in reasons):
            inputs.append(text)
    return Dataset(name, inputs, source=str(path), skipped_empty=empty)


def load_eval_file(path: Path) -> Dataset:
    """Any evaluation set: ``.txt`` (one input a line) or ``.tsv``/``.csv`` with a header row,
    inputs in the first column and references in the others (empty cells ignored)."""
    path = Path(path)
    if path.suffix.lower() not in (".tsv", ".csv"):
        return load_lines(path)
    header, rows, empty = read_table(path, "\t" if path.suffix.lower() == ".tsv" else ",")
    if len(header) < 1:
        raise DataError(path, "no columns in header", 1)
    if rows and (header[0].lower() in ID_COLUMNS or all(fields[0].strip().isdigit() for _, fields in rows)):
        raise DataError(path, f"the first column {header[0]!r} holds ids, not sentences: put the inputs first, "
                              "then the references", 1)
    inputs, references = [], []
    for line, fields in rows:
        text = squash(fields[0])
        if not text:
            raise DataError(path, f"empty input in column {header[0]!r}", line)
        inputs.append(text)
        references.append([squash(f) for f in fields[1:] if f.strip()])
    if any(references) and not all(references):
        missing = next(i for i, r in enumerate(references) if not r)
        raise DataError(path, f"some rows have references and row {missing + 1} has none")
    return Dataset(path.stem, inputs, references if any(references) else [], source=str(path), skipped_empty=empty)


def load_hub_paradetox(split: str = "train") -> Dataset:
    """The public hub copy ``s-nlp/paradetox`` (needs network and the ``datasets`` package)."""
    try:
        import datasets  # type: ignore[import-not-found]
    except ImportError:
        raise DataError("s-nlp/paradetox", "loading from the hub needs `pip install datasets`") from None
    try:
        table = datasets.load_dataset("s-nlp/paradetox", split=split)
    except Exception as exc:  # network, auth and format problems all end the same way for the user
        raise DataError("s-nlp/paradetox", f"cannot load from the hub ({type(exc).__name__}: {exc})") from None
    grouped: dict[str, list[str]] = {}
    for row in table:
        grouped.setdefault(squash(row["en_toxic_comment"]), []).append(squash(row["en_neutral_comment"]))
    return Dataset("paradetox-hub", list(grouped), list(grouped.values()), source=f"hub:s-nlp/paradetox[{split}]")


# --- the dev split and exclusion -------------------------------------------------------------


def split_dev(paradetox: Dataset, size: int = DEV_SIZE, seed: int = DEV_SEED) -> tuple[Dataset, Dataset]:
    """(train, dev): a fixed, seeded split by toxic row. Rows whose toxic sentences normalise alike
    go to the same side, so no pair straddles the split."""
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(paradetox.inputs):
        groups.setdefault(normalise(text), []).append(i)
    keys = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(keys))
    dev_idx: list[int] = []
    for k in order:
        if len(dev_idx) >= size:
            break
        dev_idx.extend(groups[keys[k]])
    dev_set = set(dev_idx)
    train_idx = [i for i in range(len(paradetox)) if i not in dev_set]
    return (
        paradetox.subset(train_idx, name=f"{paradetox.name}-train"),
        paradetox.subset(sorted(dev_idx), name=f"{paradetox.name}-dev"),
    )


def read_exclusion_list(path: Path) -> frozenset[str]:
    """``--exclude FILE``: one sentence a line, compared after :func:`normalise`."""
    lines, _ = read_lines(path)
    keys = frozenset(filter(None, (normalise(text) for _, text in lines)))
    if not keys:
        raise DataError(path, "no sentences to exclude (every line normalises to nothing)")
    return keys


def exclude(dataset: Dataset, keys: frozenset[str]) -> Dataset:
    """Drop inputs whose normalised text is in ``keys``; ``excluded`` counts them."""
    if not keys:
        return dataset
    kept = [i for i, text in enumerate(dataset.inputs) if normalise(text) not in keys]
    out = dataset.subset(kept)
    out.excluded = dataset.excluded + len(dataset) - len(kept)
    return out


__all__ = [
    "Dataset",
    "load_paradetox",
    "load_dirty",
    "load_lines",
    "load_cannot_rewrite",
    "load_eval_file",
    "load_hub_paradetox",
    "split_dev",
    "read_exclusion_list",
    "exclude",
    "normalise",
    "read_text",
]
