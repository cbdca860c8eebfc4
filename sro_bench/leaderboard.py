"""Leaderboards: markdown and CSV tables generated from run records, never edited by hand."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from rich.table import Table

from .errors import UserError
from .files import atomic_write_text
from .records import find_records, read_record

BASELINES = ("duplicate", "delete", "reference")
# (column, key in the record's metrics)
SCORES = (("STA", "STA"), ("SIM", "SIM"), ("FL", "FL"), ("J", "J"), ("J-chrF", "J_chrF"),
          ("chrF", "chrF"), ("BLEU", "BLEU"), ("self-BLEU", "self-BLEU"))


# (column, key in the record's rewrite_quality): readability beside the judges
QUALITY = (("non-word", "nonword_rate"), ("repeat", "repetition_rate"))
NUMERIC = {c for c, _ in SCORES + QUALITY}
PERCENT_SCALE = {"chrF", "BLEU", "self-BLEU"}  # sacrebleu's 0-100 figures


def _fmt(value, column: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.1f}" if column in PERCENT_SCALE else f"{value:.3f}"


def row(record: dict, relative_to: Path | None = None) -> dict:
    config = record.get("config", {})
    leader = (config.get("leader") or {}).get("name") if record.get("method", {}).get("kind") == "objective" else "-"
    path = record.get("_path", "")
    if relative_to is not None and path not in ("", "-"):
        path = os.path.relpath(path, relative_to)
    metrics = record.get("metrics", {})
    return {
        "method": record.get("method", {}).get("name", "?"),
        "leader": leader or "-",
        "follower": config.get("follower", "-") if record.get("method", {}).get("kind") == "objective" else "-",
        "perturbation": ",".join(record.get("perturbation") or []) or "-",
        "seed": record.get("seed") if record.get("seed") is not None else "-",
        "steps": (record.get("game") or {}).get("steps", "-"),
        "rows": (record.get("evaluation") or {}).get("rows", "-"),
        **{column: metrics.get(key) for column, key in SCORES},
        **{column: (record.get("rewrite_quality") or {}).get(key) for column, key in QUALITY},
        "record": path,
    }


def metric_table(records: list[dict]) -> Table:
    table = Table()
    for column in ("method", "leader", "perturbation", "seed", *(c for c, _ in SCORES)):
        table.add_column(column, justify="right" if column in dict(SCORES) else "left")
    for r in map(row, records):
        table.add_row(r["method"], r["leader"], r["perturbation"], str(r["seed"]), *(_fmt(r[c], c) for c, _ in SCORES))
    return table


def _sort_key(r: dict):
    j = r["J"]
    return (-(j if isinstance(j, (int, float)) and not math.isnan(j) else -1.0), r["method"], str(r["seed"]))


def baseline_records(records: list[dict], out: Path, data_dir: Path | None, cache_dir: Path | None) -> list[dict]:
    """Records of the training-free rows missing from ``records``, run on the same evaluation set."""
    present = {r.get("method", {}).get("name") for r in records}
    missing = [name for name in BASELINES if name not in present]
    if not missing:
        return []
    eval_files = {(r.get("config") or {}).get("eval_file") for r in records if r.get("kind") == "run"}
    if len(eval_files) > 1:
        raise UserError("records were scored on different evaluation sets; cannot add baseline rows to one table")
    eval_file = next(iter(eval_files), None)
    limits = {(r.get("config") or {}).get("eval_limit") for r in records if r.get("kind") == "run"}
    from .config import RunConfig
    from .runner import run

    added = []
    runs_dir = out.parent / f"{out.stem}-records"
    for name in missing:
        config = RunConfig(method=name, eval_file=Path(eval_file) if eval_file else None,
                           eval_limit=next(iter(limits), None), data_dir=data_dir, cache_dir=cache_dir,
                           runs_dir=runs_dir, run_id=name)
        existing = runs_dir / name / "record.json"
        added.append(read_record(existing) if existing.exists() else run(config, progress=False))
    return added


def _markdown_table(md: io.StringIO, rows: list[dict], columns: list[str]) -> None:
    md.write("| " + " | ".join(columns) + " |\n")
    md.write("|" + "|".join("---:" if c in NUMERIC else "---" for c in columns) + "|\n")
    for r in rows:
        md.write("| " + " | ".join(_fmt(r[c], c) if c in NUMERIC else str(r[c]) for c in columns) + " |\n")


def seed_means(rows: list[dict]) -> list[dict]:
    """One row per configuration (all but the seed), its figures averaged over seeds; sorted by J."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(str(r[k]) for k in ("method", "leader", "follower", "perturbation", "steps", "rows")), []).append(r)
    out = []
    for members in groups.values():
        mean = {k: members[0][k] for k in ("method", "leader", "follower", "perturbation", "steps", "rows")}
        mean["seeds"] = len(members)
        for column in NUMERIC:
            values = [m[column] for m in members if isinstance(m[column], (int, float)) and not math.isnan(m[column])]
            mean[column] = sum(values) / len(values) if values else None
        out.append(mean)
    return sorted(out, key=lambda m: (-(m["J"] if m["J"] is not None else -1.0), m["method"]))


def publish(paths: list[Path], out: Path, *, title: str | None = None, command: str = "",
            data_dir: Path | None = None, cache_dir: Path | None = None) -> int:
    """Write ``out`` (markdown) and ``out`` with .csv from records; returns the number of rows."""
    out = Path(out)
    records = [read_record(p) for p in find_records(paths)]
    if not records:
        raise UserError("no run records found in " + ", ".join(map(str, paths)))
    records += baseline_records(records, out, data_dir, cache_dir)
    rows = sorted((row(r, out.parent) for r in records), key=_sort_key)
    columns = ["method", "leader", "follower", "perturbation", "seed", "steps", "rows",
               *(c for c, _ in SCORES + QUALITY), "record"]
    md = io.StringIO()
    md.write(f"# {title or out.stem}\n\n")
    md.write(f"Generated by `{command}` from {len(records)} run records; do not edit by hand.\n")
    md.write("Sorted by J = mean over sentences of STA x SIM x FL. non-word and repeat: shares of the rewrites' words\n"
             "that are not known words, and that repeat a word or trigram of the same rewrite.\n\n")
    means = seed_means(rows)
    if any(m["seeds"] > 1 for m in means):
        md.write("## Mean over seeds\n\n")
        _markdown_table(md, means, ["method", "leader", "follower", "perturbation", "steps", "rows", "seeds",
                                    *(c for c, _ in SCORES + QUALITY)])
        md.write("\n## Every run\n\n")
    _markdown_table(md, rows, columns)
    csv_buffer = io.StringIO()
    writer = csv.DictWriter(csv_buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out, md.getvalue())
    atomic_write_text(out.with_suffix(".csv"), csv_buffer.getvalue())
    return len(rows)
