"""Leaderboards: markdown and CSV tables generated from run records, never edited by hand.

Rendering only: a leaderboard never trains, rewrites or scores (baseline rows are `sro_bench.grids.baselines`)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import statistics
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from ..errors import UserError
from ..run.records import (
    Record,
    eval_set_key,
    find_records,
    judges_of,
    read_record,
    same_run,
    start_metrics,
    unnamed_records,
    without_retired,
)
from ..run.run_dirs import RunDir
from ..training.meter import pass_trend
from ..util.files import write_text_set
from ..util.paths import DataPaths
from ..util.settings import setting
from .table_formats import TEXT_COLUMNS, Group, html_page, latex

# (column, key in the record's metrics)
SCORES = (("STA", "STA"), ("SIM", "SIM"), ("FL", "FL"), ("J", "J"), ("J-chrF", "J_chrF"),
          ("chrF", "chrF"), ("BLEU", "BLEU"), ("self-BLEU", "self-BLEU"),
          ("deletion", "deletion"), ("addition", "addition"), ("identical", "identical"))


# (column, key in the record's rewrite_quality): readability beside the judges
QUALITY = (("non-word", "nonword_rate"), ("repeat", "repetition_rate"))
# (column, key in the record's start metrics): the same leader untrained, same decoding (what the training added)
START = (("start J", "J"),)
# the independent judge's pass rate on the training samples over the game's first and last 10 steps
JUDGE_TREND = ("judge first 10", "judge last 10")
PERCENT_SCALE = {"chrF", "BLEU", "self-BLEU"}  # sacrebleu's 0-100 figures
NOT_SHOWN = {"STA_soft"}


def score_columns(records: list[dict]) -> list[tuple[str, str, str]]:
    """(column, key in the record's metrics, format): the built-in figures, then any other metric's (a plugin's)
    in name order, formatted as its metric declares (``Metric.figures``, kept in ``suite.figures``)."""
    columns = [(c, k, ".1f" if c in PERCENT_SCALE else ".3f") for c, k in SCORES]
    known, extra = {k for _, k in SCORES} | NOT_SHOWN, {}
    for record in records:
        declared = (record.get("suite") or {}).get("figures") or {}
        for key in record.get("metrics") or {}:
            if key not in known and key not in extra:
                extra[key] = (declared.get(key) or {}).get("format", ".3f")
    return columns + [(key, key, fmt) for key, fmt in sorted(extra.items())]


LOWER_IS_BETTER = {c for c, _ in QUALITY}
# copying and the kinds of edit: neither more nor less is better in itself (the reference row is the yardstick)
NO_DIRECTION = {"self-BLEU", "deletion", "addition", "identical"}


def directions(records: list[dict], columns: list[tuple[str, str, str]]) -> dict[str, bool | None]:
    """Whether higher is better, per number column (True / False / None), as each metric declares it."""
    declared = {}
    for record in records:
        for key, meta in ((record.get("suite") or {}).get("figures") or {}).items():
            if isinstance(meta, dict) and "higher_is_better" in meta:
                declared[key] = meta["higher_is_better"]
    out = {c: declared.get(k, None if c in NO_DIRECTION else True) for c, k, _ in columns}
    undirected = [c for c, _ in START] + list(JUDGE_TREND)  # about the training, not the rewrites
    return {**out, **{c: False for c in LOWER_IS_BETTER}, **{c: None for c in undirected}}


def numeric(columns: list[tuple[str, str, str]]) -> dict[str, str]:
    """Every number column and its format (scores, the untrained start's J after J, the readability figures)."""
    out: dict[str, str] = {}
    for c, _, fmt in columns:
        out[c] = fmt
        if c == "J":
            out.update({s: ".3f" for s, _ in START})
            out.update({s: ".3f" for s in JUDGE_TREND})
    return {**out, **{c: ".3f" for c, _ in QUALITY}}


def _fmt(value, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, fmt)


def row(record: Record, relative_to: Path | None = None, columns: list[tuple[str, str, str]] | None = None) -> dict:
    config = record.get("config", {})
    kind = record.get("method", {}).get("kind")
    # a rewriter that uses the leader (infill) names it; the others have none
    leader = ((config.get("leader") or {}).get("name") if kind == "objective"
              else ((record.get("rewriter") or {}).get("leader") or {}).get("name", "-"))
    path = "" if record.path is None else str(record.path)
    if relative_to is not None and path:
        path = os.path.relpath(path, relative_to)
    metrics = record.get("metrics", {})
    return {
        "method": record.get("method", {}).get("name", "?") + _variant(config.get("game") or {}) + _parallel(record),
        "leader": leader or "-",
        # a pairs method (dpo, sft) never meets the follower its configuration names
        "follower": (config.get("follower", "-") if kind == "objective"
                     and (record.get("objective") or {}).get("source") != "pairs" else "-"),
        "perturbation": ",".join(record.get("perturbation") or []) or "-",
        "seed": record.get("seed") if record.get("seed") is not None else "-",
        "steps": (record.get("game") or {}).get("steps", "-"),
        "rows": (record.get("evaluation") or {}).get("rows", "-"),
        "eval_set": eval_set_label(record),
        "eval_key": eval_set_key(record),
        "judges": " ".join(judges_of(record)) or "-",
        "agreement": agreement_line(record),
        "config": config_key(record),
        **{column: metrics.get(key) for column, key, _ in (columns or score_columns([record]))},
        **{column: (record.get("rewrite_quality") or {}).get(key) for column, key in QUALITY},
        **{column: start_metrics(record).get(key) for column, key in START},
        **dict(zip(JUDGE_TREND, pass_trend((record.get("game") or {}).get("history") or []).get("judge_pass", (None, None)))),
        "record": path,
        "report": _report_link(record, relative_to),
    }


def _parallel(record: dict) -> str:
    """A method trained on the human pairs is marked wherever it is ranked beside methods that never see them."""
    return " (parallel data)" if (record.get("objective") or {}).get("source") == "pairs" else ""


def agreement_line(record: dict) -> str:
    """How far the record's judges agree with people, as their calibration measured it (suite 2 on), or ''; for a
    published judge set, which one, its J and where it departs from the published protocol."""
    suite = record.get("suite") or {}
    if suite.get("judge_set", "offline") != "offline":
        definition = ((suite.get("info") or {}).get("J") or {}).get("definition", "not computed")
        notes = "".join(f" {note[0].upper()}{note[1:]}." for note in suite.get("judge_set_notes") or [])
        return f"Judge set {suite['judge_set']} (docs/published.md): J = {definition}.{notes}"
    info = suite.get("info") or {}
    agreement = next((m["agreement"] for m in info.values() if isinstance(m, dict) and m.get("agreement")), None)
    if not agreement:
        return ""
    figures = ", ".join(f"{j} {agreement[j]['auc' if j == 'STA' else 'spearman']:.3f}" for j in ("STA", "SIM", "FL", "J")
                        if j in agreement)
    return (f"These judges' agreement with people, held out ({agreement.get('folds', '')}; STA: AUC, the others: "
            f"Spearman; `{agreement.get('command', 'sro-bench suite agreement')}`, docs/suite.md): {figures}.")


def _variant(game: dict) -> str:
    """The game settings that change how the leader rewrites, named beside the method (" (decode infill)")."""
    parts = []
    if game.get("decode", "greedy") != "greedy":
        parts.append(f"decode {game['decode']}")
    if game.get("guided_samples"):
        parts.append(f"guided {game['guided_samples']}")
    if game.get("temperature", 1.0) != 1.0:
        parts.append(f"temperature {game['temperature']:g}")
    return f" ({', '.join(parts)})" if parts else ""


def _report_link(record: Record, relative_to: Path | None) -> str:
    """The run's report page beside its record, where one was written ('' otherwise)."""
    if record.run_dir is None or not RunDir(record.run_dir).report.is_file():
        return ""
    page = RunDir(record.run_dir).report
    return os.path.relpath(page, relative_to) if relative_to is not None else str(page)


def eval_set_label(record: dict) -> str:
    evaluation = record.get("evaluation") or {}
    digest = f", digest {evaluation['digest']}" if evaluation.get("digest") else ""
    return f"{evaluation.get('name', '?')} ({evaluation.get('rows', '?')} rows{digest})"


# Settings that name places or the seed, not the configuration being measured.
_NOT_CONFIG = {"seed", "run_id", "runs_dir", "data_dir", "cache_dir", "device", "sta_model", "sim_model", "fl_model"}


def config_key(record: dict) -> str:
    """A short digest of the run's configuration less its seed and paths: seeds of one configuration share it."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _NOT_CONFIG}
        return value

    config = strip(_as_read_today(record.get("config") or {})) if record.get("kind") == "run" else {"method": record.get("method")}
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _as_read_today(config: dict) -> dict:
    """A stored configuration as today's ``RunConfig`` reads it, so that a run stored before a setting was added
    or a section reshaped (the objective's own settings) groups with today's runs of the same configuration;
    as stored where it no longer reads (a method whose plugin is gone)."""
    from ..run.config import from_dict
    from ..util.dataclass_json import jsonable

    try:
        return jsonable(from_dict(config))
    except UserError:
        return without_retired(config)


def metric_table(records: list[dict]) -> Table:
    columns = score_columns(records)
    table = Table()
    for column in ("method", "leader", "perturbation", "seed"):
        table.add_column(column)
    for column, _, _ in columns:
        table.add_column(column, justify="right")
    for r in (row(record, columns=columns) for record in records):
        table.add_row(r["method"], r["leader"], r["perturbation"], str(r["seed"]), *(_fmt(r[c], f) for c, _, f in columns))
    return table


def _sort_key(r: dict):
    j = r["J"]
    return (-(j if isinstance(j, (int, float)) and not math.isnan(j) else -1.0), r["method"], str(r["seed"]))


def _markdown_table(md: io.StringIO, rows: list[dict], columns: list[str], formats: dict[str, str]) -> None:
    md.write("| " + " | ".join(columns) + " |\n")
    md.write("|" + "|".join("---:" if c in formats else "---" for c in columns) + "|\n")
    def cell(r: dict, c: str) -> str:
        if c not in formats:
            return str(r[c])
        spread = r.get(f"{c}_std")
        return _fmt(r[c], formats[c]) + ("" if spread is None else f" ± {_fmt(spread, formats[c])}")

    for r in rows:
        md.write("| " + " | ".join(cell(r, c) for c in columns) + " |\n")


def seed_means(rows: list[dict], numbers: list[str] | None = None) -> list[dict]:
    """One row per configuration (all but the seed), its figures averaged over seeds; sorted by J."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        key = tuple(str(r.get(k)) for k in ("method", "leader", "follower", "perturbation", "steps", "rows", "config"))
        groups.setdefault(key, []).append(r)
    out = []
    for members in groups.values():
        mean = {k: members[0][k] for k in ("method", "leader", "follower", "perturbation", "steps", "rows")}
        mean["seeds"] = len(members)
        mean["records"] = [m.get("record", "") for m in members]
        mean["links"] = [m.get("report") or m.get("record", "") for m in members]
        for column in numbers or numeric(score_columns([])):
            values = [m[column] for m in members if isinstance(m[column], (int, float)) and not math.isnan(m[column])]
            mean[column] = sum(values) / len(values) if values else None
            mean[f"{column}_std"] = statistics.stdev(values) if len(values) > 1 else None
        out.append(mean)
    return sorted(out, key=lambda m: (-(m["J"] if m["J"] is not None else -1.0), m["method"]))


@dataclass
class LeaderboardConfig(DataPaths):
    """`sro-bench leaderboard`: :func:`publish`'s settings."""

    records: list[Path] = setting(default_factory=list, help="run records, or directories holding them",
                                  argument=True, required=True, path="existing")
    out: Path | None = setting(None, "markdown table to write (a CSV, LaTeX and HTML are written beside it)",
                               path="output-file", required=True)
    title: str | None = setting(None, "the table's title (None: from the file name)")
    plot: Path | None = setting(None, "a PNG to embed in the HTML page (e.g. a robustness grid's robustness.png)",
                                path="file")
    reports: bool = setting(False, "also write each run's report.html beside its record (the HTML board's rows "
                                   "link to them)")


def publish(paths: list[Path], out: Path, *, title: str | None = None, command: str = "",
            plot: Path | None = None, reports: bool = False, data_dir: Path | None = None,
            cache_dir: Path | None = None) -> dict:
    """Write ``out`` (markdown) and beside it ``.csv`` (every run), ``-means.csv``, ``.tex`` and ``.html`` (one row
    per configuration, mean ± std over seeds) from records, one table per evaluation set and judges; ``plot``
    (a PNG, e.g. the robustness plot) is embedded in the HTML page; ``reports`` first writes each run's report
    page beside its record (the HTML rows link to a run's report where there is one, else to its record).

    Returns ``{"rows": n, "tables": n, "failed": [run directories that failed, skipped], "duplicates": [copies
    of a record already read, skipped], "unnamed": [records not named record.json, not read]}``."""
    out = Path(out)
    if out.suffix.lower() == ".csv":
        raise UserError(f"--out {out}: name the markdown file (e.g. {out.with_suffix('.md').name}); "
                        "the CSV is written beside it")
    from ..run.preflight import check_output

    for path in (out, out.with_suffix(".csv"), out.with_name(f"{out.stem}-means.csv"), out.with_suffix(".tex"),
                 out.with_suffix(".html")):
        check_output(path, "--out")
    if plot is not None and not Path(plot).is_file():
        raise UserError(f"--plot {plot}: no such file")
    records, duplicates, seen = [], [], set()
    for path in find_records(paths):
        record = read_record(path)
        if same_run(record) in seen:  # a copy of a record already read would count as another seed
            duplicates.append(path)
            continue
        seen.add(same_run(record))
        records.append(record)
    failed = find_failed_runs(paths)
    if not records:
        raise UserError("no run records found in " + ", ".join(map(str, paths)))
    if reports:  # each run's page beside its record, so that the board's rows link to them
        from .report import write_run_report

        for record in records:
            write_run_report(record.run_dir, data_dir=data_dir, cache_dir=cache_dir)
    scores = score_columns(records)
    formats = numeric(scores)
    rows = sorted((row(r, out.parent, scores) for r in records), key=_sort_key)
    tables: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        tables.setdefault((r["eval_key"], r["judges"]), []).append(r)
    groups = [Group(f"{members[0]['eval_set']}, judges {judges}", seed_means(members, list(formats)))
              for (_, judges), members in tables.items()]
    columns = ["method", "leader", "follower", "perturbation", "seed", "steps", "rows",
               *formats, "record"]
    md = io.StringIO()
    md.write(f"# {title or out.stem}\n\n")
    md.write(f"Generated by `{command}` from {len(records)} run records; do not edit by hand.\n")
    md.write("Sorted by J = mean over sentences of STA x SIM x FL. start J: J of the same leader before training, same\n"
             "decoding. judge first 10 / last 10: the independent STA judge's pass rate on the training samples over\n"
             "the game's first and last 10 steps. non-word and repeat: shares of the rewrites' words that are not\n"
             "known words, and that repeat a word or trigram of the same rewrite.\n")
    if len(tables) > 1:
        md.write(f"\nThe records were scored on {len(tables)} different evaluation sets or by different judges: "
                 "one table each, never ranked together.\n")
    for ((_, judges), members), group in zip(tables.items(), groups):
        eval_set = members[0]["eval_set"]
        level = "##" if len(tables) > 1 else ""
        if level:
            md.write(f"\n{level} {eval_set}, judges {judges}\n")
        else:
            md.write(f"\nEvaluation set: {eval_set}; judges: {judges}.\n")
        if members[0]["agreement"]:
            md.write(f"{members[0]['agreement']}\n")
        sub = level + "#" if level else "##"
        means = group.rows
        md.write("\n")
        if any(m["seeds"] > 1 for m in means):
            md.write(f"{sub} Mean over seeds\n\n")
            _markdown_table(md, means, ["method", "leader", "follower", "perturbation", "steps", "rows", "seeds",
                                        *formats], formats)
            md.write(f"\n{sub} Every run\n\n")
        _markdown_table(md, members, columns, formats)
    csv_buffer = io.StringIO()
    writer = csv.DictWriter(csv_buffer, fieldnames=[*columns[:-1], "eval_set", "judges", "config", "record"],
                            lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(r for members in tables.values() for r in members)
    means_buffer = io.StringIO()
    fields = ["eval_set", "judges", *TEXT_COLUMNS[:-1], "seeds", *(x for c in formats for x in (c, f"{c}_std")), "records"]
    writer = csv.DictWriter(means_buffer, fieldnames=fields, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for group, ((_, judges), members) in zip(groups, tables.items()):
        writer.writerows({**r, "eval_set": members[0]["eval_set"], "judges": judges, "records": " ".join(r["records"])}
                         for r in group.rows)
    higher = directions(records, scores)
    name = title or out.stem
    write_text_set({  # one set: a board whose formats disagree would be worse than the old board
        out: md.getvalue(),
        out.with_suffix(".csv"): csv_buffer.getvalue(),
        out.with_name(f"{out.stem}-means.csv"): means_buffer.getvalue(),
        out.with_suffix(".tex"): latex(groups, formats, higher, title=name, command=command),
        out.with_suffix(".html"): html_page(groups, formats, higher, title=name, command=command, plot=plot),
    })
    return {"rows": len(rows), "tables": len(tables), "failed": failed, "duplicates": duplicates,
            "unnamed": unnamed_records(paths)}


def find_failed_runs(paths: list[Path]) -> list[tuple[Path, str]]:
    """Run directories under ``paths`` that failed (or were interrupted) and have no record."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            for marker in sorted(path.rglob(RunDir.FAILED)):
                run_dir = RunDir(marker.parent)
                if not run_dir.finished:
                    found.append((run_dir.path, (run_dir.read_failure() or {}).get("error", "?")))
    return found
