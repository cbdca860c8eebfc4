"""People's labels of rewrites, read from any TSV/CSV: the yardstick every judge is held against."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

JUDGES = ("STA", "SIM", "FL", "J")
#: the shared Dale et al. (2021) file's column names, the defaults of ``read_human``
SHARED_COLUMNS = {"input": "original", "rewrite": "rewritten", "system": "source",
                  "STA": "style", "SIM": "meaning", "FL": "fluency"}
HUMAN_FILE = Path("human-eval") / "emnlp2021_manual_mean.tsv"  # below the data directory


@dataclass
class HumanLabels:
    """Rewrites with people's labels in [0, 1]; ``J`` is the product of STA, SIM and FL when not given."""

    path: str
    inputs: list[str]
    rewrites: list[str]
    systems: list[str] | None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # judge -> the column it was read from

    def __len__(self) -> int:
        return len(self.rewrites)

    def groups(self) -> np.ndarray:
        """One integer per row naming its input: folds and bootstrap samples keep an input's rows together."""
        ids: dict[str, int] = {}
        return np.array([ids.setdefault(x, len(ids)) for x in self.inputs])


def read_human(path: str | Path, *, input_col: str = SHARED_COLUMNS["input"],
               rewrite_col: str = SHARED_COLUMNS["rewrite"], system_col: str | None = SHARED_COLUMNS["system"],
               label_cols: dict[str, str] | None = None, optional: frozenset[str] = frozenset({"system"})) -> HumanLabels:
    """Read ``path`` (tab-separated if it ends in .tsv, else comma; standard CSV quoting).

    ``label_cols`` maps judges (STA, SIM, FL, J) to column names; the shared file's by default. Roles in
    ``optional`` ("system", "STA", ...) are dropped when their column is absent; any other must exist."""
    path = Path(path)
    label_cols = dict(SHARED_COLUMNS if label_cols is None else label_cols)
    label_cols = {k: v for k, v in label_cols.items() if k in JUDGES and v}
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise DataError(path, exc.strerror or str(exc)) from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(path, f"not readable as {'TSV' if delimiter == chr(9) else 'CSV'}: {exc}", 1) from None
        if not header:
            raise DataError(path, "empty file (a header line is needed)", 1)
        where = {name: i for i, name in enumerate(header)}
        if system_col not in where and "system" in optional:
            system_col = None
        label_cols = {k: v for k, v in label_cols.items() if v in where or k not in optional}
        if not label_cols:
            raise DataError(path, f"no label column: give one of STA, SIM, FL, J (the header has "
                                  f"{', '.join(map(repr, header))})", 1)
        wanted = {"input": input_col, "rewrite": rewrite_col, **({"system": system_col} if system_col else {}),
                  **label_cols}
        missing = [f"{col!r} ({role})" for role, col in wanted.items() if col not in where]
        if missing:
            raise DataError(path, f"no column {', '.join(missing)} in the header; it has {', '.join(map(repr, header))}", 1)
        inputs, rewrites, systems = [], [], []
        values = {judge: [] for judge in label_cols}
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise DataError(path, f"{len(row)} fields, the header has {len(header)}", line)
                inputs.append(row[where[input_col]])
                rewrites.append(row[where[rewrite_col]])
                if system_col:
                    systems.append(row[where[system_col]])
                for judge, col in label_cols.items():
                    values[judge].append(_label(row[where[col]], path, line, col))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(path, f"not readable: {exc}", reader.line_num) from None
    if not rewrites:
        raise DataError(path, "no labelled rows below the header")
    labels = {judge: np.array(v, dtype=np.float64) for judge, v in values.items()}
    if "J" not in labels and {"STA", "SIM", "FL"} <= labels.keys():
        labels["J"] = labels["STA"] * labels["SIM"] * labels["FL"]
    return HumanLabels(str(path), inputs, rewrites, systems or None,
                       {k: labels[k] for k in JUDGES if k in labels}, label_cols)


def _label(cell: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(path, f"column {column!r}: {cell!r} is not a number", line) from None
    if not 0.0 <= value <= 1.0:
        raise DataError(path, f"column {column!r}: {cell} is outside [0, 1]", line)
    return value
