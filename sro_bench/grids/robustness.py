"""Robustness to screener noise: a grid of ordinary runs (method x perturbation x seed), then a table and a plot.

Each cell is a normal `run` whose follower is perturbed; the evaluation classifier never is. Cells whose
record exists are skipped and interrupted cells resume from their checkpoint, so a grid can be stopped
and started again.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import UserError
from ..run.config import RunConfig, objective_settings
from ..run.records import judges_of, read_record, start_metrics
from ..run.run_dirs import RunDir
from ..util.files import atomic_write, atomic_write_text
from .config import RobustnessConfig

NONE = "none"
COLUMNS = ("STA", "SIM", "FL", "J")


@dataclass(frozen=True)
class Cell:
    method: str
    perturbation: str  # a follower perturbation spec, or "none"
    seed: int

    @property
    def run_id(self) -> str:
        name = lambda text: re.sub(r"[^A-Za-z0-9.]+", "-", text).strip(".")  # a run id is a name, never a path
        return f"{name(self.method)}--{name(self.perturbation)}--s{self.seed}"

    @property
    def kind(self) -> str:
        return self.perturbation.split(":", 1)[0]

    @property
    def strength(self) -> float | None:
        try:
            return float(self.perturbation.split(":", 1)[1])
        except (IndexError, ValueError):
            return None


def expand_axis(axis: str) -> list[str]:
    """``flip:0,0.1,0.2`` -> [``none``, ``flip:0.1``, ``flip:0.2``]: a zero-strength perturbation is no perturbation."""
    if ":" not in axis:
        raise UserError(f"bad --perturb {axis!r}: expected KIND:VALUE[,VALUE...], e.g. flip:0,0.1,0.2")
    kind, values = axis.split(":", 1)
    specs = []
    for value in filter(None, (v.strip() for v in values.split(","))):
        try:
            zero = float(value) == 0.0 and kind.startswith("flip")
        except ValueError:
            zero = False
        specs.append(NONE if zero else f"{kind}:{value}")
    if not specs:
        raise UserError(f"bad --perturb {axis!r}: no values")
    return specs


def grid(methods: list[str], axes: list[str], seeds: list[int]) -> list[Cell]:
    perturbations = [NONE]
    for axis in axes:
        perturbations += [p for p in expand_axis(axis) if p not in perturbations]
    return [Cell(m, p, s) for m in methods for p in perturbations for s in seeds]


def combined_flip(p_own: float, p_screen: float) -> float:
    """The rate at which two independent flips (the objective's and the screener's) change a verdict."""
    return p_own + p_screen - 2 * p_own * p_screen


def cell_config(config: RobustnessConfig, cell: Cell) -> RunConfig:
    base = config.base
    settings = objective_settings(cell.method)
    objective = None if settings is None else settings()  # each cell its method's defaults
    if cell.method == "sro-robust" and config.robust_knows_noise and cell.kind == "flip" and cell.strength is not None:
        objective.assumed_flip = min(combined_flip(objective.p_flip, cell.strength), 0.49)
    return dataclasses.replace(
        base,
        method=cell.method,
        perturb=[] if cell.perturbation == NONE else [cell.perturbation],
        objective=objective,
        leader=dataclasses.replace(base.leader),
        seed=cell.seed,
        runs_dir=Path(config.out) / "cells",
        run_id=cell.run_id,
    )


def run_grid(config: RobustnessConfig, *, progress: bool = True,
             on_cell: Callable[[Cell, str], None] | None = None) -> tuple[list[dict], list[tuple[Cell, str]]]:
    """Run every cell that has no record yet (resuming interrupted ones) on the configured executor; return
    the records (grid order) and the cells that failed, with their errors.

    Every cell's configuration is validated before the first cell runs; a cell that fails never stops the others."""
    from .executors import CellTask, check_executor, execute
    from ..run.preflight import check_output, check_run
    from ..util.dataclass_json import jsonable
    from ..run.config import read_run_config
    from ..run.runner import resolve

    check_output(Path(config.out), "--out", directory=True)
    check_executor(config.executor, config.jobs, config.gpus_per_cell, config.address)
    cells = grid(config.methods, config.axes, config.seeds)
    records: dict[str, dict] = {}
    tasks, status = [], {}
    for cell in cells:
        run_dir = Path(config.out) / "cells" / cell.run_id
        overrides = {**config.game_overrides, **config.method_overrides.get(cell.method, {})}
        if RunDir(run_dir).finished:
            records[cell.run_id] = read_record(run_dir)
            status[cell.run_id] = "skipped (done)"
        elif RunDir(run_dir).config.exists():
            check_run(read_run_config(run_dir))
            tasks.append(CellTask(cell.run_id, resume=str(run_dir)))
            status[cell.run_id] = "resumed"
        else:
            tasks.append(CellTask(cell.run_id, config=jsonable(resolve(cell_config(config, cell), overrides))))
            status[cell.run_id] = "ran"
    by_id = {cell.run_id: cell for cell in cells}
    failures: list[tuple[Cell, str]] = []
    for cell in cells:
        if status[cell.run_id] == "skipped (done)" and on_cell is not None:
            on_cell(cell, status[cell.run_id])

    def finished(result) -> None:
        cell = by_id[result.run_id]
        if result.error is not None:
            failures.append((cell, result.error))
        else:
            records[cell.run_id] = read_record(result.record)
        if on_cell is not None:
            on_cell(cell, f"failed: {result.error}" if result.error is not None else status[cell.run_id])

    execute(tasks, finished, executor=config.executor, jobs=config.jobs, address=config.address,
            gpus_per_cell=config.gpus_per_cell, progress=progress)
    order = {cell.run_id: i for i, cell in enumerate(cells)}
    return [records[c.run_id] for c in cells if c.run_id in records], sorted(failures, key=lambda f: order[f[0].run_id])


def summarise(records: list[dict]) -> list[dict]:
    """Mean and spread over seeds per (method, perturbation), and the drop in J from the method's unperturbed cell."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        perturb = ",".join(record.get("perturbation") or []) or NONE
        groups.setdefault((record["method"]["name"], perturb), []).append(record)
    rows = []
    def order(key: tuple[str, str]):
        strength = strength_of(key[1])
        return (key[0], key[1] != NONE, strength or (key[1], 0.0), key[1])

    for (method, perturb), group in sorted(groups.items(), key=lambda item: order(item[0])):
        row: dict[str, Any] = {"method": method, "perturbation": perturb, "seeds": len(group)}
        for column in COLUMNS:
            values = np.array([g["metrics"].get(column, math.nan) for g in group], dtype=float)
            row[column] = float(values.mean())
            row[f"{column}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        # A decoding that asks the screener (infill's masks) meets its noise before any training: the untrained
        # start, scored with the same perturbed screener, tells the decoding's loss from the game's.
        starts = np.array([start_metrics(g).get("J", math.nan) for g in group], dtype=float)
        row["start_J"] = float(starts.mean())
        row["J_gain"] = row["J"] - row["start_J"]
        rows.append(row)
    unperturbed = {r["method"]: r["J"] for r in rows if r["perturbation"] == NONE}
    for r in rows:
        r["J_drop"] = unperturbed[r["method"]] - r["J"] if r["method"] in unperturbed else math.nan
    return rows


def _cell(value: float, spread: float | None = None) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.3f}" if spread is None else f"{value:.3f} ± {spread:.3f}"


def write_table(rows: list[dict], out: Path, command: str, judges: int = 1) -> tuple[Path, Path]:
    md = io.StringIO()
    md.write("# Robustness to screener noise\n\n")
    md.write(f"Generated by `{command}`; do not edit by hand.\n")
    if judges > 1:
        md.write(f"Warning: the cells were scored by {judges} different sets of judges (records made before the "
                 "judges were fixed); figures of different judges are averaged below.\n")
    md.write("Mean ± sample standard deviation over seeds; J drop = J(unperturbed) - J, same method; start J = the "
             "same leader untrained, same decoding and screener; J - start = what the game added.\n\n")
    md.write("| method | perturbation | seeds | STA | SIM | FL | J | J drop | start J | J - start |\n"
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        cells = [_cell(r[c], r[f"{c}_std"]) for c in COLUMNS]
        md.write(f"| {r['method']} | {r['perturbation']} | {r['seeds']} | " + " | ".join(cells)
                 + f" | {_cell(r['J_drop'])} | {_cell(r['start_J'])} | {_cell(r['J_gain'])} |\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    md_path, csv_path = out / "robustness.md", out / "robustness.csv"
    atomic_write_text(md_path, md.getvalue())
    atomic_write_text(csv_path, buffer.getvalue())
    return md_path, csv_path


def strength_of(perturbation: str) -> tuple[str, float] | None:
    if perturbation == NONE:
        return ("flip", 0.0)
    kind, _, value = perturbation.partition(":")
    try:
        return kind, float(value)
    except ValueError:
        return None


def plot(rows: list[dict], path: Path) -> Path:
    """J and STA against perturbation strength, one line per method, error bars over seeds (flip axes); J's panel
    also draws each method's untrained start (dashed), where the records have one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = sorted({s[0] for r in rows if (s := strength_of(r["perturbation"]))})
    fig, axes = plt.subplots(len(kinds), 2, figsize=(10, 3.6 * len(kinds)), squeeze=False)
    for k, kind in enumerate(kinds):
        for m, method in enumerate(sorted({r["method"] for r in rows})):
            points = []
            for r in rows:
                s = strength_of(r["perturbation"])
                if r["method"] == method and s and (s[0] == kind or r["perturbation"] == NONE):
                    points.append((s[1], r))
            points.sort(key=lambda p: p[0])
            if not points:
                continue
            xs = [p[0] for p in points]
            drawn = [axes[k][a].errorbar(xs, [p[1][column] for p in points],
                                         yerr=[p[1][f"{column}_std"] for p in points], marker="o", capsize=3,
                                         label=method)
                     for a, column in enumerate(("J", "STA"))]
            starts = [p[1].get("start_J", math.nan) for p in points]
            if not all(math.isnan(v) for v in starts):
                axes[k][0].plot(xs, starts, linestyle="--", marker="x", color=drawn[0].lines[0].get_color(),
                                label=f"{method}, untrained start")
        for a, column in enumerate(("J", "STA")):
            axes[k][a].set_xlabel(f"{kind} strength")
            axes[k][a].set_ylabel(column)
            axes[k][a].grid(alpha=0.3)
            axes[k][a].legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=120), binary=True)
    plt.close(fig)
    return path


def publish(config: RobustnessConfig, command: str, *, progress: bool = True,
            on_cell: Callable[[Cell, str], None] | None = None) -> dict[str, Path]:
    """Run the grid and write its table (md + CSV) and plot from the cells that finished; then, if any cell
    failed, a one-line error naming them (their directories say why; the same command retries them)."""
    records, failures = run_grid(config, progress=progress, on_cell=on_cell)
    if not records:
        raise UserError(f"every cell failed; first: {failures[0][0].run_id}: {failures[0][1]}")
    rows = summarise(records)
    out = Path(config.out)
    md_path, csv_path = write_table(rows, out, command, judges=len({judges_of(r) for r in records}))
    paths = {"table": md_path, "csv": csv_path, "plot": plot(rows, out / "robustness.png")}
    if failures:
        raise UserError(f"{len(failures)} of {len(records) + len(failures)} cells failed "
                        f"({', '.join(c.run_id for c, _ in failures)}); the table holds the others; "
                        f"run the same command again to retry them")
    return paths
