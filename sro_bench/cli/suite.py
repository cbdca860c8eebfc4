"""`sro-bench suite ...`: the suite held against people (agreement) and against damage, and the STA check."""

from __future__ import annotations

import click
from rich.table import Table

from ..errors import UserError
from ..metrics.people import AgreementConfig
from .options import console, options_for, take


@click.group()
def suite():
    """The evaluation suite's own checks: against people's labels, against damage, STA on the dev split."""


def _interval(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "-"
    low, high = entry["ci95"]
    return f"{entry['value']:.3f} [{low:.2f}, {high:.2f}]" if low is not None else f"{entry['value']:.3f}"


def _system_cell(entry: dict) -> str:
    within = "-" if entry["spearman"] is None else f"{entry['spearman']:.3f}"
    return f"{entry['judge']:.3f} / {entry['people']:.3f}, rho {within}"


@suite.command("agreement")
@options_for(AgreementConfig, "agreement")
def suite_agreement(**options):
    """How well the suite's judges agree with people: sentence-level Spearman and AUC, system-level Spearman
    and Kendall, each with a bootstrap 95% interval over inputs; calibrated judges are scored held out."""
    from ..metrics.people import run_agreement

    config = AgreementConfig(**take(options, "agreement"))
    report = run_agreement(config)
    systems = report["systems"]
    table = Table(title=f"Agreement with people: {report['file']} ({report['rows']} rewrites of {report['inputs']} "
                        f"inputs{f', {len(systems)} systems' if systems else ''}; folds by {report['split']}; "
                        f"judge set {report['judge_set']})")
    columns = ["judge", "people's label", "Spearman", "AUC (label >= 0.5)"]
    if systems:
        columns += ["system Spearman", "system Kendall"]
    for column in columns:
        table.add_column(column)
    for judge, entry in report["judges"].items():
        row = [judge, entry["label"], _interval(entry["spearman"]), _interval(entry["auc"])]
        if systems:
            row += [_interval(entry.get("system_spearman")), _interval(entry.get("system_kendall"))]
        table.add_row(*row)
    console.print(table)
    if systems:
        means = Table(title="Each system: mean by judge / by people, and Spearman within the system")
        means.add_column("system")
        for judge in report["judges"]:
            means.add_column(judge)
        for system in systems:
            means.add_row(system, *(_system_cell(e["systems"][system]) for e in report["judges"].values()))
        console.print(means)
    for judge, entry in report["judges"].items():
        console.print(f"{judge}: {entry['method']}")
        for row in entry["worst"]:
            by = f" ({row['system']})" if "system" in row else ""
            console.print(f"  judge {row['judge']:.2f}, people {row['people']:.2f}{by}: {row['input']!r} -> {row['rewrite']!r}",
                          markup=False, highlight=False)
    if config.json_out:
        console.print(f"report: {config.json_out}")


@suite.command("damage")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the damage")
@click.option("--limit", type=int, default=None, help="only the first N dev rows (quick look)")
@click.option("--data-dir", type=click.Path(file_okay=False), help="the data directory")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="cache for the judges' trained models")
def suite_damage(seed, limit, data_dir, cache_dir):
    """Break each dev reference in one small way (a doubled word, two words swapped, a content word dropped, a
    random word in place of one, the last 40% cut) and show how often each judge's score falls."""
    from ..metrics import damage_check

    if limit is not None and limit < 1:
        raise UserError(f"--limit: must be >= 1, got {limit}")
    figures = damage_check(data_dir, cache_dir, seed=seed, limit=limit)
    table = Table(title=f"Share of rows whose score falls: {figures['n_references']} {figures['text']}")
    judges = ("STA", "SIM", "FL", "J")
    for column in ("damage", "rows", *judges, "example"):
        table.add_column(column)
    for name, entry in figures["damages"].items():
        example = entry["example"]["damaged"] if entry["example"] else ""
        table.add_row(name, str(entry["rows"]), *(f"{entry.get(j, float('nan')):.3f}" for j in judges), example)
    console.print(table)


@suite.command("check-sta")
@click.option("--data-dir", type=click.Path(file_okay=False), help="the data directory")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="cache for the judges' trained models")
def suite_check_sta(data_dir, cache_dir):
    """The STA base model on the dev split's human references (target >= 0.9) and toxic inputs (<= 0.3)."""
    from ..metrics import sta_check
    from ..util.paths import resolve_data_dir

    figures = sta_check(resolve_data_dir(data_dir), cache_dir)
    table = Table(title="STA base model (char n-grams, P(toxic) <= 0.5) on the dev split")
    for column in ("text", "non-toxic", "target"):
        table.add_column(column)
    table.add_row(f"human references ({figures['n_references']})", f"{figures['references']:.3f}", figures["targets"]["references"])
    table.add_row(f"toxic inputs ({figures['n_inputs']})", f"{figures['toxic_inputs']:.3f}", figures["targets"]["toxic_inputs"])
    console.print(table)
    if not figures["passes"]:
        raise UserError("the STA base model is outside its targets")
