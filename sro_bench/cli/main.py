"""The `sro-bench` command: a thin layer over the Python API (options in, library calls out)."""

from __future__ import annotations

import os
import shlex

# Before torch loads: spinning OpenMP threads make a busy 2-core machine many times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# transformers' per-load and per-save bars drown our own rich progress; set to 0 to see them again.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from ..errors import Interrupted, UserError, signal_number, stop_on_signals
from ..followers.config import ScreenerConfig
from ..grids.baselines import BaselinesConfig
from ..grids.config import RobustnessConfig
from ..leaders.config import LeaderConfig, LeaderContext, PrepareConfig
from ..publish.leaderboard import LeaderboardConfig
from ..publish.report import ReportConfig
from ..run.config import RunConfig
from ..run.evaluate import EvalConfig, RewriteConfig
from ..training.config import GameConfig
from .options import SettingsByMethod, console, fields, options_for, path_type, settings_given, take

if TYPE_CHECKING:
    from ..run.records import Record

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="sro-bench")
def cli():
    """sro-bench: train and compare detoxifying rewriters (SRO, DPO, baselines) on equal terms."""


@cli.command("list")
def list_cmd():
    """Every registered leader, follower, objective, rewriter, metric and dataset, and broken plugins."""
    from ..plugins import loaded_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = loaded_registry()
    table = Table(title="sro-bench components")
    for column in ("kind", "name", "description", "distribution"):
        table.add_column(column)
    for component in reg:
        table.add_row(component.kind, component.name, component.description, component.distribution)
    for failure in reg.failures:
        table.add_row("[red]broken[/red]", failure.entry_point, f"[red]failed to load: {failure.error}[/red]",
                      failure.distribution)
    for conflict in reg.conflicts:
        table.add_row("[red]clash[/red]", "", f"[red]{conflict}[/red]", "")
    console.print(table)


def _objective_settings() -> dict[str, type]:
    from ..plugins import registry
    from ..run.config import objective_settings

    return {name: objective_settings(name) for kind, name in registry().components if kind == "objective"}


@cli.command(cls=SettingsByMethod, settings=_objective_settings, prefix="objective")
@options_for(RunConfig, "run", only=("method",))
@options_for(LeaderConfig, "leader")
@options_for(RunConfig, "run", only=("follower", "perturb", "preset", "train_dataset"))
@options_for(GameConfig, "game", note=", or the preset's")
@options_for(RunConfig, "run", only=("eval_file", "eval_limit", "exclude", "score_start", "metrics", "judges", "sta_model",
                                     "sim_model", "fl_model", "data_dir", "cache_dir", "runs_dir", "run_id", "seed",
                                     "report_to"))
@click.option("--resume", type=path_type("dir"),
              help="continue an interrupted run directory with its saved settings (--steps may extend it; "
                   "other options given must match them)")
@click.option("--quiet", is_flag=True, help="no progress bars")
def run(resume, quiet, **options):
    """Train a leader with METHOD (or apply a training-free rewriter), rewrite the evaluation set, score it."""
    from ..run.runner import run as run_api

    from ..run.config import objective_settings, read_run_config

    overrides, run_options = take(options, "game"), take(options, "run")
    method = run_options.get("method") or (read_run_config(resume).method if resume else RunConfig.method)
    objective = settings_given(method, objective_settings(method), take(options, "objective"))
    config = RunConfig(leader=LeaderConfig(**take(options, "leader")), objective=objective, **run_options)
    result = run_api(config, resume=resume, progress=not quiet, game_overrides=overrides)
    if result.record is not None:  # under `accelerate launch` the main process prints
        print_metrics(result.record)


def print_metrics(record: Record) -> None:
    from ..publish.leaderboard import metric_table

    from ..run.records import start_metrics
    from ..training.meter import deletion_note, final_warning, learning_note

    console.print(metric_table([record]))
    if record.path is not None:
        console.print(f"record: {record.path}")
    learned = learning_note(record.get("metrics", {}), start_metrics(record),
                            (record.get("game") or {}).get("history", []))
    if learned:
        console.print(learned, highlight=False)
    for line in (deletion_note(record.get("metrics", {})), final_warning(record.get("game", {}).get("history", []))):
        if line:
            console.print(f"[yellow]{line}[/yellow]")


@cli.command("eval")
@options_for(EvalConfig, "eval")
def eval_cmd(**options):
    """Score any system's outputs against the inputs (and references)."""
    from ..run.evaluate import evaluate_files

    print_metrics(evaluate_files(**fields(EvalConfig(**take(options, "eval"))), progress=True))


@cli.command("rewrite")
@options_for(RewriteConfig, "rewrite")
def rewrite_cmd(**options):
    """Rewrite any file with a trained leader."""
    from ..run.evaluate import rewrite_file

    config = RewriteConfig(**take(options, "rewrite"))
    count = rewrite_file(**fields(config))
    console.print(f"{count} rewrites -> {config.output}")


@cli.command("leaderboard")
@options_for(LeaderboardConfig, "board")
def leaderboard_cmd(**options):
    """Publish a leaderboard from run records (markdown, CSV, LaTeX, HTML), sorted by J; never trains."""
    from ..publish.leaderboard import publish

    config = LeaderboardConfig(**take(options, "board"))
    out = config.out
    result = publish(**fields(config, records="paths"), command=shlex.join(["sro-bench", *sys.argv[1:]]))
    tables = f" in {result['tables']} tables (different evaluation sets or judges)" if result["tables"] > 1 else ""
    written = ", ".join(str(out.with_name(out.stem + suffix)) for suffix in (".csv", "-means.csv", ".tex", ".html"))
    console.print(f"{result['rows']} rows{tables} -> {out}, {written}")
    for run_dir, error in result["failed"]:
        console.print(f"[yellow]skipped a failed run: {run_dir} ({error})[/yellow]", highlight=False)
    for path in result["duplicates"]:
        console.print(f"[yellow]skipped a copy of a record already read: {path}[/yellow]", highlight=False)
    for path in result["unnamed"]:
        console.print(f"[yellow]not read: {path} (a record in a directory is read when named record.json; "
                      "or give the file itself)[/yellow]", highlight=False)


@cli.command("report")
@options_for(ReportConfig, "report")
def report_cmd(**options):
    """One self-contained HTML page per finished run: figures beside the baselines, curves, rewrites, settings."""
    from ..publish.report import write_reports

    write_reports(ReportConfig(**take(options, "report")),
                  on_page=lambda run, page: console.print(f"{run} -> {page}", highlight=False))


@cli.command("baselines")
@options_for(BaselinesConfig, "baselines")
def baselines_cmd(**options):
    """Run the training-free rows (duplicate, delete, reference) missing from RECORDS, on their evaluation sets."""
    from ..grids.baselines import run_baselines

    config = BaselinesConfig(**take(options, "baselines"))
    done = run_baselines(**fields(config, records="paths"),
                         on_run=lambda path, status: console.print(f"{path}: {status}", highlight=False))
    console.print(f"{len(done)} baseline records under {config.runs_dir}")


@cli.command("robustness")
@options_for(RobustnessConfig, "grid")
@options_for(RunConfig, "run", only=("preset", "follower", "eval_limit", "eval_file", "metrics", "judges", "sta_model",
                                     "sim_model", "fl_model", "data_dir", "cache_dir"))
@options_for(LeaderConfig, "leader", only=("name",))
@options_for(GameConfig, "game", only=("batch_size", "samples_per_input", "lr"), note=", or the preset's")
@click.option("--quiet", is_flag=True, help="no progress bars")
def robustness_cmd(quiet, **options):
    """Run a method x perturbation x seed grid of ordinary runs; write a table (md + CSV) and a plot."""
    from ..grids.robustness import publish

    base = RunConfig(leader=LeaderConfig(**take(options, "leader")), **take(options, "run"))
    config = RobustnessConfig(base=base, game_overrides=take(options, "game"), **take(options, "grid"))
    paths = publish(config, shlex.join(["sro-bench", *sys.argv[1:]]), progress=not quiet,
                    on_cell=lambda cell, status: console.print(f"{cell.run_id}: {status}"))
    for name, path in paths.items():
        console.print(f"{name}: {path}")


@cli.group()
def screener():
    """Train and evaluate the NB-LR screener (the default follower)."""


@screener.command("train")
@options_for(ScreenerConfig, "screener")
def screener_train(**options):
    """Train the NB-LR screener (cached; a second call loads it)."""
    _print_screener(_screener(ScreenerConfig(**take(options, "screener"))))


@screener.command("eval")
@options_for(ScreenerConfig, "screener", only=("data_dir", "cache_dir", "seed"))
def screener_eval(**options):
    """Held-out accuracy, ROC-AUC, F1 and pass rate on dirty.csv of the NB-LR screener."""
    _print_screener(_screener(ScreenerConfig(**take(options, "screener"))))


def _screener(config: ScreenerConfig):
    from ..followers import FollowerContext
    from ..followers.nblr import train_screener

    context = FollowerContext.resolved(data_dir=config.data_dir, cache_dir=config.cache_dir, seed=config.seed)
    return train_screener(context, force=config.force, progress=True)


def _print_screener(screener_obj) -> None:
    from ..followers.nblr import screener_report

    table = Table(title="NB-LR screener, held-out split")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in screener_report(screener_obj).items():
        table.add_row(key, f"{value:.4f}" if isinstance(value, float) else str(value))
    console.print(table)


@cli.group()
def leader():
    """Prepare leaders (the default minilm leader is pre-trained once and cached)."""


@leader.command("prepare")
@options_for(PrepareConfig, "prepare")
def leader_prepare(**options):
    """Pre-train the minilm leader as a denoising copier on clean sentences; prints copy-BLEU."""
    config = PrepareConfig(**take(options, "prepare"))
    if config.name != "minilm":
        raise UserError(f"only the minilm leader needs preparing, not {config.name!r}")
    from ..leaders.minilm import prepare_minilm

    context = LeaderContext.resolved(data_dir=config.data_dir, cache_dir=config.cache_dir)
    leader_config = LeaderConfig(name="minilm", extra={} if config.steps is None else {"copier": {"steps": config.steps}})
    meta = prepare_minilm(leader_config, context, force=config.force, progress=True)
    console.print(f"minilm copier: copy-BLEU {meta.get('copy_bleu', float('nan')):.1f} on "
                  f"{meta.get('holdout_sentences', 200)} held-out clean sentences "
                  f"({meta.get('steps', '?')} steps, {meta.get('train_seconds', 0):.0f} s)")


def add_plugin_commands() -> None:
    """Plugins' verbs (the ``register_commands`` hook); a built-in of the same name is kept, with a warning."""
    from ..plugins import loaded_registry

    builtins = dict(cli.commands)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `list` reports broken plugins; every command would repeat it
        loaded_registry().manager.hook.register_commands(cli=cli)
    for name, command in builtins.items():
        if cli.commands.get(name) is not command:
            cli.add_command(command, name)
            click.echo(f"warning: a plugin tried to replace the built-in command {name!r}; kept the built-in", err=True)


from .suite import suite  # noqa: E402 - the group needs `console` above

cli.add_command(suite)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Deprecation notices inside transformers/trl are for their maintainers, not for people running benchmarks.
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl)\.")
    stop_on_signals()
    try:
        add_plugin_commands()
        cli.main(args=argv, prog_name="sro-bench", standalone_mode=False)
    except click.exceptions.Abort as exc:  # click turns Ctrl-C into Abort; a run's says what it saved
        cause = exc.__cause__
        click.echo(str(cause) if isinstance(cause, Interrupted) else "aborted", err=True)
        sys.exit(128 + (signal_number(cause) if isinstance(cause, KeyboardInterrupt) else 2))
    except click.UsageError as exc:  # one line, like every other error; --help has the rest
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"error: {' '.join(exc.format_message().split())}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt as exc:
        click.echo(str(exc) if isinstance(exc, Interrupted) else "interrupted", err=True)
        sys.exit(128 + signal_number(exc))
    except OSError as exc:  # a full disk or a vanished directory: the environment, not a bug
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # a bug: one line unless asked for the traceback
        if os.environ.get("SRO_BENCH_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set SRO_BENCH_DEBUG=1 for the traceback)", err=True)
        sys.exit(1)
