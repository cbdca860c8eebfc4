"""The Python API behind `sro-bench run`: dataset -> game -> rewrites -> suite -> run record."""

from __future__ import annotations

import dataclasses
import re
import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import data as datamod
from ..errors import Interrupted, UserError, signal_number
from ..context import Context
from ..leaders.config import LeaderContext
from ..plugins import registry
from ..training import meter
from ..training.config import GameConfig, apply_preset
from ..util.dataclass_json import jsonable, write_json
from ..util.distributed import world
from ..util.paths import resolve_data_dir
from ..util.progress import busy, game_progress, notice, timed
from .config import DEFAULT_FOLLOWER, RunConfig, preset_run_settings, read_run_config
from .preflight import check_run
from .records import Record, figures_text, new_record, split_scores
from .run_dirs import RunDir, writing
from .tracking import Tracking, scalars


def resolve(config: RunConfig, game_overrides: dict[str, Any] | None = None) -> RunConfig:
    """Apply the preset, then the game settings the user set (or changed from their defaults), then
    ``game_overrides``; resolve paths and validate."""
    defaults = GameConfig()
    changed = {f.name: getattr(config.game, f.name) for f in dataclasses.fields(GameConfig)
               if f.name in config.game.explicit_fields or getattr(config.game, f.name) != getattr(defaults, f.name)}
    game = apply_preset(defaults, config.preset, {**changed, **(game_overrides or {})})
    chosen = preset_run_settings(config.preset)
    config = dataclasses.replace(
        config, game=game, leader=dataclasses.replace(config.leader),
        follower=config.follower or chosen.get("follower", DEFAULT_FOLLOWER),
        train_dataset=config.train_dataset or chosen.get("train_dataset"),
    )
    config.objective = config.method_settings()  # stored whole, the method's defaults included
    config.data_dir = resolve_data_dir(config.data_dir)
    # stored absolute, so that `--resume` works from any directory
    for name in ("eval_file", "exclude", "cache_dir"):
        if getattr(config, name) is not None:
            setattr(config, name, Path(getattr(config, name)).resolve())
    if config.leader.device == "auto" and world()[1] > 1:
        from accelerate import PartialState

        config.leader.device = str(PartialState().device)  # each process its own GPU
    check_run(config)  # every name, value and path: fail now, not after an hour of training
    return config


def run_context(config: RunConfig, progress: bool = True) -> Context:
    """The context every component of the run gets, resolved once: the run's seed, directories and progress."""
    return Context.resolved(seed=config.seed, data_dir=config.data_dir, cache_dir=config.cache_dir, progress=progress)


def load_eval_set(config: RunConfig) -> datamod.Dataset:
    if config.eval_file is not None:
        dataset = datamod.load_eval_file(config.eval_file)
    else:
        dataset = datamod.load_dataset("paradetox-dev", config.data_dir)
    if config.eval_limit is not None:
        dataset = dataset.subset(range(min(config.eval_limit, len(dataset))))
    return dataset


def exclusion_keys(config: RunConfig, eval_set: datamod.Dataset) -> tuple[frozenset[str], frozenset[str]]:
    """(keys from --exclude, keys of the evaluation inputs): neither is ever trained on."""
    given = datamod.read_exclusion_list(config.exclude) if config.exclude else frozenset()
    return given, frozenset(datamod.normalise(x) for x in eval_set.inputs)


def load_training_data(config: RunConfig, objective, given: frozenset[str], evaluation: frozenset[str]):
    name = config.train_dataset or ("paradetox-train" if objective.source == "pairs" else "dirty")
    dataset = datamod.load_dataset(name, config.data_dir)
    counts = {"dataset": name, "rows_read": len(dataset), "skipped_empty": dataset.skipped_empty}
    dataset = datamod.exclude(dataset, given)
    counts["excluded_by_list"] = dataset.excluded
    before = dataset.excluded
    dataset = datamod.exclude(dataset, evaluation)
    counts["excluded_as_eval_inputs"] = dataset.excluded - before
    if config.game.max_train_inputs is not None:
        import numpy as np

        order = np.random.default_rng(config.seed).permutation(len(dataset))[: config.game.max_train_inputs]
        dataset = dataset.subset(sorted(order))
    counts["rows_used"] = len(dataset)
    if not len(dataset):
        raise UserError(f"training dataset {name!r} is empty after exclusions")
    return dataset, counts


def build_follower(config: RunConfig, context: Context, given: frozenset[str], evaluation: frozenset[str]):
    from ..followers import FollowerContext, build_follower as build

    return build(config.follower, context.as_(FollowerContext, exclude=given | evaluation), config.perturb)


def build_judge(context: Context):
    """The suite's STA classifier as a per-step monitor (texts -> 1 where toxic); never a training signal."""
    from ..metrics.base import JUDGE_SEED
    from ..metrics.sta import load_or_train_sta

    model = load_or_train_sta(context.data_dir, context.cache_dir, seed=JUDGE_SEED)
    return lambda texts: (model.p_toxic(list(texts)) > model.threshold).astype("int8")


def new_run_id(config: RunConfig) -> str:
    leader = re.sub(r"[^A-Za-z0-9]+", "-", config.leader.name).strip("-")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{config.method}-{leader}-s{config.seed}-{stamp}"


def shared_run_id(config: RunConfig) -> str:
    """A new run id, the same in every process under `accelerate launch` (the main process's)."""
    run_id = new_run_id(config)
    if world()[1] > 1:
        from accelerate.utils import broadcast_object_list

        run_id = broadcast_object_list([run_id])[0]
    return run_id


def score(config: RunConfig, context: Context, inputs, rewrites, references) -> tuple[dict, dict[str, list]]:
    """(the record's score fields, per-sentence scores)."""
    from ..metrics import MetricContext, Suite

    suite = Suite(context.as_(MetricContext, models=config.judge_models()), config.metrics,
                  judges=config.checked_judge_set())
    result = suite.score(list(inputs), list(rewrites), references or None)
    return split_scores(result.to_dict()), result.sentence_dict()


@dataclass(frozen=True)
class RunResult:
    """What :func:`run` did: the finished run's record, or where it stopped without one."""

    run_dir: RunDir
    record: Record | None = None  # None: stopped by ``stop_after``, or not the main process
    stopped_at: int | None = None  # the step ``stop_after`` stopped the game at
    process: int = 0  # this process's index under `accelerate launch` (only the main one, 0, records)


def run(config: RunConfig, *, resume: Path | None = None, progress: bool = True,
        game_overrides: dict[str, Any] | None = None, stop_after: int | None = None) -> RunResult:
    """Train (or apply) a method, rewrite the evaluation set, score it and write the run record.

    ``resume`` continues an interrupted or failed run directory with its saved configuration.
    ``stop_after`` stops the game after that many steps in total without scoring (an interruption, for tests).
    Nothing is created until the whole request has been validated; a run that fails afterwards leaves
    ``failed.json`` (the error) in its directory.
    """
    started = time.perf_counter()
    primary = world()[0] == 0
    if resume is None:
        config = resolve(config, game_overrides)
        run_dir = Path(config.runs_dir) / (config.run_id or shared_run_id(config))
    else:
        run_dir = Path(resume)
    with writing(run_dir, new=resume is None, primary=primary) as run_dir:
        if resume is not None:
            config = _resumed(run_dir, config, game_overrides, progress=progress and primary)
        method = registry().method(config.method)
        objective = None if method.kind == "rewriter" else method.factory(config.method_settings())
        eval_set = load_eval_set(config)
        given, evaluation = exclusion_keys(config, eval_set)
        training = None if objective is None else load_training_data(config, objective, given, evaluation)
        if primary:
            run_dir.write_config(config)
        tracking = Tracking(config.report_to if primary else [], run_dir.tracking, run_dir.name, jsonable(config))
        context = run_context(config, progress)
        try:
            result = _play_and_score(config, context, run_dir, method, objective, eval_set, given, evaluation, training,
                                     tracking, resume=resume is not None, progress=progress, stop_after=stop_after)
        except KeyboardInterrupt as exc:
            if primary:
                run_dir.mark_failed(exc)
            raise Interrupted(interrupted_message(run_dir), signal_number(exc)) from None
        except OSError as exc:  # a full disk, a vanished directory: say which file, and what is kept
            if primary:
                run_dir.mark_failed(exc)
            raise UserError(f"{exc.filename or run_dir.path}: {exc.strerror or exc}; {kept_message(run_dir)}") from None
        except BaseException as exc:
            if primary:
                run_dir.mark_failed(exc)
            raise
        finally:
            tracking.finish()
        if isinstance(result, RunResult):
            return result
        result["timings"]["total"] = round(time.perf_counter() - started, 3)
        try:
            run_dir.finish(result)
        except OSError as exc:
            raise UserError(f"{run_dir.record}: cannot write ({exc.strerror}); the rewrites are in "
                            f"{run_dir.rewrites} and the scores were {figures_text(result['metrics'])}") from None
    return RunResult(run_dir, Record(result, run_dir.record))


def _resumed(run_dir: RunDir, given: RunConfig | None, game_overrides: dict[str, Any] | None, *,
             progress: bool) -> RunConfig:
    """The stored configuration of the unfinished run in ``run_dir``, with the changes a resume may make."""
    from ..training.checkpoints import checkpoint_problem
    from .resume import resumed_config

    stored = read_run_config(run_dir.path)
    if run_dir.finished:
        raise UserError(f"{run_dir.path}: this run has already finished")
    config, changes = resumed_config(run_dir.path, stored, given, game_overrides)
    check_run(config)
    problem = checkpoint_problem(run_dir.checkpoint)
    if problem:
        raise UserError(problem)
    if progress:
        failed = run_dir.read_failure()
        if failed:
            notice(f"{run_dir.path}: resuming a run that failed earlier ({failed.get('error', '?')})")
        for line in changes:
            notice(f"{run_dir.path}: resuming with {line}")
    return config


def interrupted_message(run_dir: RunDir) -> str:
    """What an interrupted run kept, and the command that continues it."""
    return f"interrupted: {run_dir.path}: {kept_message(run_dir)}"


def kept_message(run_dir: RunDir) -> str:
    """What a stopped run kept, and the command that continues it."""
    from .resume import saved_step

    step = saved_step(run_dir.path)
    kept = (f"its checkpoint at step {step} is saved" if step else "no checkpoint was saved yet (the game starts again)")
    return f"{kept}; continue with: sro-bench run --resume {shlex.quote(str(run_dir.path))}"


def _play_and_score(config: RunConfig, context: Context, run_dir: RunDir, method, objective, eval_set, given, evaluation, training,
                    tracking: Tracking, *,
                    resume: bool, progress: bool, stop_after: int | None) -> dict | RunResult:
    """The record's fields of a finished run, or a RunResult where it stopped without one."""
    timings: dict[str, float] = {}
    record: dict[str, Any] = {"method": {"name": config.method, "kind": method.kind, "distribution": method.distribution}}
    follower = None

    def get_follower():
        nonlocal follower
        if follower is None:
            with timed(timings, "follower_build"):
                follower = build_follower(config, context, given, evaluation)
        return follower

    references = eval_set.references if eval_set.has_references else None
    if method.kind == "rewriter":
        from ..rewriters.base import RewriterContext

        from ..leaders import build_leader
        from ..training.decoding import rewrite

        rewriter = method.factory(context.as_(
            RewriterContext, follower=get_follower, leader=lambda: build_leader(config.leader, context.as_(LeaderContext)),
            rewrite=lambda leader, texts: rewrite(leader, texts, config.game)))
        with timed(timings, "rewrite"):
            rewrites = rewriter.rewrite(eval_set.inputs, references)
        record["rewriter"] = rewriter.describe()
    else:
        from ..leaders import build_leader
        from ..training.loops import build_loop

        train_set, counts = training
        with timed(timings, "leader_build"):
            leader = build_leader(config.leader, context.as_(LeaderContext))
        on_policy = objective.source == "samples"
        game = build_loop(
            objective, leader, train_set, config.game, config.seed, follower=get_follower() if on_policy else None,
            judge=build_judge(context) if on_policy else None,
            lexicon=meter.load_lexicon(context.data_dir) if on_policy else None,
        )
        if resume:
            game.load_checkpoint(run_dir.checkpoint)
        start = (_start(config, context, run_dir, leader, eval_set, get_follower, timings, untrained=game.step == 0,
                        progress=progress) if config.score_start and game.rank == 0 else None)
        if start is not None:
            record["start"] = start
        with timed(timings, "game"), game_progress(game.total_steps, game.step, enabled=progress,
                                                   label=config.method) as show:
            def on_step(entry: dict, total: int) -> None:
                show(entry, total)
                tracking.log(scalars(entry), entry["step"])

            result = game.play(checkpoint_dir=run_dir.checkpoint, on_step=on_step, stop_after=stop_after)
        if game.rank == 0 and any("judge_pass" in h for h in result.history):
            meter.plot_history(result.history, run_dir.meter)
        if stop_after is not None and result.steps < game.total_steps:
            return RunResult(run_dir, stopped_at=result.steps, process=game.rank)
        if game.rank != 0:  # under `accelerate launch` the main process rewrites, scores and records
            return RunResult(run_dir, process=game.rank)
        leader.save(run_dir.leader)
        with timed(timings, "rewrite"):
            rewrites = _leader_rewrites(config, leader, eval_set, get_follower)
        record.update(
            objective=objective.describe(),
            leader=leader.describe(),
            training_data=counts,
            game={"steps": result.steps, "total_steps": game.total_steps, "resumed_from": result.resumed_from,
                  "timings": result.timings, "history": result.history},
        )
    quality, scores = _scored(config, context, run_dir, eval_set, rewrites, timings, progress)
    record["rewrite_quality"] = quality
    if follower is not None:
        record["follower"] = follower.describe()
    steps = record.get("game", {}).get("steps", 0)
    tracking.log({f"eval/{k}": v for k, v in scores["metrics"].items() if isinstance(v, (int, float))}, steps)
    if config.report_to:
        record["tracking"] = {"report_to": list(config.report_to), "dir": str(run_dir.tracking)}
    record = new_record(
        "run",
        run_id=run_dir.name,
        seed=config.seed,
        config=jsonable(config),
        perturbation=list(config.perturb),
        evaluation={**eval_set.describe(), "excluded_list": str(config.exclude) if config.exclude else None,
                    "exclude_list_size": len(given)},
        **record,
        **scores,
        timings=timings,
    )
    return record


def _leader_rewrites(config: RunConfig, leader, eval_set, get_follower) -> list[str]:
    from ..training.decoding import rewrite

    return rewrite(leader, eval_set.inputs, config.game, follower=get_follower() if config.game.decode == "infill" else None)


def _scored(config: RunConfig, context: Context, run_dir: RunDir, eval_set, rewrites, timings: dict,
            progress: bool, what: str = "the rewrites") -> tuple[dict, dict]:
    """Write ``rewrites`` and their per-sentence scores into ``run_dir``: (readability figures, the record's score fields)."""
    references = eval_set.references if eval_set.has_references else None
    run_dir.write_rewrites(eval_set.inputs, rewrites, references)
    # Readability beside the judges: a J bought with garbled or looping text shows here.
    quality = {k: None if v is None else round(v, 4) for k, v in meter.text_figures(
        eval_set.inputs, rewrites, meter.load_lexicon(context.data_dir)).items()}
    with timed(timings, "suite"), busy(f"scoring {what}", enabled=progress):
        scores, sentence = score(config, context, eval_set.inputs, rewrites, references)
    run_dir.write_scores(sentence)
    return quality, scores


def _start(config: RunConfig, context: Context, run_dir: RunDir, leader, eval_set, get_follower, timings: dict, *,
           untrained: bool, progress: bool) -> dict | None:
    """The untrained leader's scores under the run's decoding (the yardstick for what training added), kept in
    ``start/`` so that a resumed run reads them back; None where a resume finds a trained leader and no start."""
    saved = run_dir.read_start()
    if saved is not None or not untrained:
        return saved
    start = run_dir.start
    start.path.mkdir(exist_ok=True)
    clock: dict[str, float] = {}
    with timed(clock, "rewrite"):
        rewrites = _leader_rewrites(config, leader, eval_set, get_follower)
    quality, scores = _scored(config, context, start, eval_set, rewrites, clock, progress, "the untrained leader's rewrites")
    timings["start"] = round(sum(clock.values()), 3)
    result = {"metrics": scores["metrics"], "rewrite_quality": quality}
    write_json(run_dir.start_figures, result)
    return result
