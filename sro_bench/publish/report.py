"""A run's report: one self-contained HTML page (no network at view time) with its settings, its figures
beside the training-free rows of the same evaluation set, its training curves and its rewrites.

A run is judged by its rewrites and curves first, its averages second: the page shows the best and the
worst rewrites by J (per-sentence STA, SIM, FL) and a seeded random sample, not only the means.
"""

from __future__ import annotations

import csv
import html
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..run.records import eval_set_key, judges_of, read_record
from ..run.run_dirs import SENTENCE_FIGURES, RunDir
from ..util.files import atomic_write_text
from ..util.paths import DataPaths
from ..util.settings import setting

BASELINES = ("reference", "delete", "duplicate")
FIGURES = ("STA", "SIM", "FL", "J", "chrF", "BLEU", "deletion", "addition", "identical")
# Training curves: (title, history keys); a panel is drawn only where the history has its keys.
CURVES = (
    ("loss", ("loss",)),
    ("pass rates: training screener vs independent judge", ("screener_pass", "judge_pass")),
    ("log-ratio to the reference", ("log_ratio",)),
    ("length (rewrite / input words)", ("length_ratio",)),
    ("output quality", ("cut_rate", "nonword_rate", "repetition_rate", "empty_rate")),
    ("edits", ("identical_rate", "deletion_rate", "addition_rate")),
)
SHOWN = 10  # rewrites in each of the best, worst and random samples


def _read_tsv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


def read_rewrites(run_dir: Path) -> list[dict] | None:
    """rewrites.tsv (and scores.tsv where written) as rows; None where the run kept no rewrites."""
    path = RunDir(run_dir).rewrites
    if not path.is_file():
        return None
    table = _read_tsv(path)
    if not table or table[0][:2] != ["input", "rewrite"]:
        raise UserError(f"{path}: not a rewrites file (expected the columns input, rewrite, reference1, ...)")
    rows = [{"input": r[0], "rewrite": r[1] if len(r) > 1 else "", "references": [x for x in r[2:] if x]}
            for r in table[1:]]
    scores = RunDir(run_dir).scores
    if scores.is_file():
        header, *values = _read_tsv(scores)
        if len(values) != len(rows):
            raise UserError(f"{scores}: {len(values)} rows for the {len(rows)} rewrites in {path}")
        for row, line in zip(rows, values):
            row.update({k: float(v) if v else None for k, v in zip(header, line)})
    return rows


def score_rows(rows: list[dict], data_dir: Path | None, cache_dir: Path | None) -> None:
    """Per-sentence STA, SIM, FL and J for rows that lack them (runs made before scores.tsv), in place."""
    from ..metrics import MetricContext, Suite

    suite = Suite(MetricContext.resolved(data_dir=data_dir, cache_dir=cache_dir), ["sta", "sim", "fl"])
    result = suite.score([r["input"] for r in rows], [r["rewrite"] for r in rows])
    for key in SENTENCE_FIGURES:
        for row, value in zip(rows, result.sentence_dict().get(key, [])):
            row[key] = value


def baselines_beside(run_dir: Path, record: dict) -> list[dict]:
    """The reference, delete and duplicate records among the run's siblings, scored on its evaluation set
    by its judges."""
    found = []
    for path in sorted(run_dir.parent.glob("*/record.json")):
        if path.parent == run_dir:
            continue
        try:
            other = read_record(path)
        except UserError:
            continue
        if (other.get("method", {}).get("name") in BASELINES and eval_set_key(other) == eval_set_key(record)
                and judges_of(other) == judges_of(record)):
            found.append(other)
    return sorted(found, key=lambda r: BASELINES.index(r["method"]["name"]))


def curves_svg(history: list[dict]) -> str | None:
    """The training curves as one inline SVG (None for a run without training history)."""
    from matplotlib.figure import Figure

    panels = [(title, [k for k in keys if any(isinstance(e.get(k), (int, float)) for e in history)])
              for title, keys in CURVES]
    panels = [(title, keys) for title, keys in panels if keys]
    if not panels:
        return None
    fig = Figure(figsize=(8, 2.2 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            points = [(e.get("step", i + 1), e[key]) for i, e in enumerate(history)
                      if isinstance(e.get(key), (int, float)) and math.isfinite(e[key])]
            ax.plot([p[0] for p in points], [p[1] for p in points], label=key, linewidth=1.2,
                    marker="." if len(points) < 50 else None)
        if title.startswith("log-ratio"):
            ax.axhline(0.0, color="grey", linewidth=0.5)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1].set_xlabel("step")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]  # inline: without the XML prolog and doctype


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 80em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; vertical-align: top; }
th { border-bottom: 2px solid #444; }
td.text, th.text { text-align: left; }
tr.this td { font-weight: bold; }
table.rewrites td.text { max-width: 28em; }
.muted { color: #777; }
figure.curves svg { max-width: 100%; height: auto; }
"""


def _figures_table(record: dict, baselines: list[dict]) -> str:
    start = [("the same leader, untrained", record["start"])] if record.get("start") else []
    rows = [("this run", record), *start, *((b["method"]["name"], b) for b in baselines)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in FIGURES)
    body = []
    for label, rec in rows:
        metrics = rec.get("metrics") or {}
        cells = "".join(f"<td>{_fmt(metrics.get(c), '.1f' if c in ('chrF', 'BLEU') else '.3f')}</td>" for c in FIGURES)
        css = ' class="this"' if rec is record else ""
        body.append(f'<tr{css}><td class="text">{html.escape(label)}</td>{cells}</tr>')
    return f'<table class="figures"><thead><tr><th class="text">system</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _fmt(value, fmt: str = ".3f") -> str:
    return "-" if not isinstance(value, (int, float)) or (isinstance(value, float) and math.isnan(value)) \
        else format(value, fmt)


def _settings_table(record: dict) -> str:
    config = record.get("config") or {}
    flat: list[tuple[str, object]] = []
    for key, value in config.items():
        if isinstance(value, dict):
            flat += [(f"{key}.{k}", v) for k, v in value.items() if not isinstance(v, dict) or v]
        else:
            flat.append((key, value))
    rows = "".join(f'<tr><td class="text">{html.escape(k)}</td><td class="text">{html.escape(str(v))}</td></tr>'
                   for k, v in flat)
    return f'<table class="settings"><tbody>{rows}</tbody></table>'


def _rewrites_table(rows: list[dict], caption: str) -> str:
    head = "".join(f'<th class="text" data-column="{c}">{c}</th>' for c in ("input", "rewrite", "reference"))
    head += "".join(f'<th data-column="{c}">{c}</th>' for c in SENTENCE_FIGURES)
    body = []
    for row in rows:
        texts = (row["input"], row["rewrite"], " | ".join(row["references"]) or "-")
        cells = "".join(f'<td class="text">{html.escape(t)}</td>' for t in texts)
        cells += "".join(f'<td data-value="{"" if row.get(k) is None else repr(float(row[k]))}">'
                         f"{_fmt(row.get(k), '.0f' if k == 'STA' else '.2f')}</td>" for k in SENTENCE_FIGURES)
        body.append(f"<tr>{cells}</tr>")
    return (f"<h3>{html.escape(caption)}</h3><table class=\"rewrites\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def run_report(run_dir: Path, *, data_dir: Path | None = None, cache_dir: Path | None = None) -> str:
    """The report page of the finished run in ``run_dir`` (HTML text)."""
    run_dir = Path(run_dir)
    record = read_record(run_dir)
    rows = read_rewrites(run_dir)
    if rows and any(r.get("J") is None for r in rows):
        score_rows(rows, data_dir, cache_dir)
    method = record.get("method", {}).get("name", "?")
    title = f"{method}: {record.get('run_id', run_dir.name)}"
    history = (record.get("game") or {}).get("history") or []
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f'<p class="muted">Generated by <code>sro-bench report</code> from {html.escape(str(run_dir))}; '
             f"{html.escape(str(record.get('created', '')))}; evaluation set "
             f"{html.escape(str((record.get('evaluation') or {}).get('name', '?')))} "
             f"({(record.get('evaluation') or {}).get('rows', '?')} rows).</p>",
             "<h2>Figures</h2>", _figures_table(record, baselines_beside(run_dir, record))]
    svg = curves_svg(history) if history else None
    parts.append("<h2>Training</h2>")
    if svg:
        steps = (record.get("game") or {}).get("steps", len(history))
        parts.append(f'<figure class="curves" aria-label="training curves">{svg}</figure>'
                     f'<p class="muted">{steps} steps; the independent judge is logged beside the training '
                     "screener, never trained on.</p>")
    else:
        parts.append('<p class="muted">No training curves: a training-free system.</p>')
    parts.append("<h2>Rewrites</h2>")
    if rows:
        scored = [r for r in rows if r.get("J") is not None]
        by_j = sorted(scored, key=lambda r: r["J"])
        sample = random.Random(0).sample(rows, min(SHOWN, len(rows)))
        parts += [_rewrites_table(sample, f"{len(sample)} at random (of {len(rows)})"),
                  _rewrites_table(by_j[::-1][:SHOWN], "best by J"), _rewrites_table(by_j[:SHOWN], "worst by J")]
    else:
        parts.append('<p class="muted">This run directory keeps no rewrites.tsv.</p>')
    parts.append("<h2>Settings</h2>")
    parts.append(_settings_table(record))
    parts.append("</body></html>")
    return "\n".join(parts)


@dataclass
class ReportConfig(DataPaths):
    """`sro-bench report`: :func:`write_reports`' settings."""

    runs: list[Path] = setting(default_factory=list, help="finished run directories", argument=True, required=True,
                               path="dir")
    out: Path | None = setting(None, "a directory for the pages, one RUN-ID.html each (None: report.html in each "
                                     "run directory)")


def write_reports(config: ReportConfig, on_page: Callable[[Path, Path], None] | None = None) -> list[Path]:
    """One page per run of ``config``; every run is checked finished and readable before the first is written."""
    from ..run.preflight import check_output

    names = [Path(run).resolve().name for run in config.runs]
    if config.out is not None and len(set(names)) < len(names):
        raise UserError(f"--out {config.out}: two runs share a directory name; give them separate --out directories")
    pages = [RunDir(run).report if config.out is None else Path(config.out) / f"{name}.html"
             for run, name in zip(config.runs, names)]
    for run, page in zip(config.runs, pages):
        read_record(run)
        check_output(page, "--out")
    for run, page in zip(config.runs, pages):
        write_run_report(run, page, data_dir=config.data_dir, cache_dir=config.cache_dir)
        if on_page is not None:
            on_page(run, page)
    return pages


def write_run_report(run_dir: Path, out: Path | None = None, **paths) -> Path:
    """Write the report of ``run_dir`` to ``out`` (default: ``run_dir/report.html``)."""
    out = Path(out) if out is not None else RunDir(run_dir).report
    return atomic_write_text(out, run_report(Path(run_dir), **paths))

