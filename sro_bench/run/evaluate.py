"""Scoring any system's outputs, and rewriting any file with a trained leader."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UserError
from ..util.dataclass_json import write_json
from ..util.files import atomic_write_text
from ..metrics.judge_sets import JudgeOptions
from ..util.paths import DataPaths
from ..util.progress import busy
from ..util.settings import Settings, check_ranges, setting
from .records import Record, figures_text, new_record, split_scores
from .run_dirs import RunDir


@dataclass
class EvalConfig(JudgeOptions, DataPaths):
    """`sro-bench eval`: :func:`evaluate_files`'s settings."""

    inputs: Path | None = setting(None, "source sentences, one a line", path="file", required=True)
    predictions: Path | None = setting(None, "the system's rewrites, one a line", path="file", required=True)
    references: Path | None = setting(None, "human references, one a line (or TSV: several a line)", path="file")
    json_out: Path | None = setting(None, "write a run record of the same schema as a run's", flag="--json",
                                    path="output-file")
    name: str | None = setting(None, "the system's name in the record (None: the predictions file's stem)")
    metrics: list[str] | None = setting(None, "suite metrics (None: every registered metric)", comma=True)


@dataclass
class RewriteConfig(Settings):
    """`sro-bench rewrite`: :func:`rewrite_file`'s settings."""

    run_dir: Path | None = setting(None, "a finished run directory", flag="--run", path="dir", required=True)
    input_file: Path | None = setting(None, "sentences to rewrite, one a line", flag="--input", path="file",
                                      required=True)
    output: Path | None = setting(None, "rewrites, one a line", path="output-file", required=True)
    batch_size: int = setting(64, "inputs rewritten at once")

    def __post_init__(self) -> None:
        check_ranges(self, [(self.batch_size > 0, f"--batch-size must be > 0, got {self.batch_size}")])


def read_aligned_lines(path: Path, *, allow_empty: bool) -> list[str]:
    """Every line; empty lines are errors unless ``allow_empty`` (an empty rewrite is still a rewrite)."""
    from ..data.readers import read_text, split_lines  # the data package loads numpy: not for `eval --help`

    lines = split_lines(read_text(path, allow_blank=allow_empty))
    if not allow_empty:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                raise DataError(path, "empty line", number)
    return [line.strip() for line in lines]


def read_references(path: Path) -> list[list[str]]:
    """One reference a line, or several a line: tab-separated, or comma-separated (CSV quoting) in a .csv."""
    lines = read_aligned_lines(path, allow_empty=False)
    if Path(path).suffix.lower() == ".csv":
        try:
            cells = [next(csv.reader([line], strict=True)) for line in lines]
        except csv.Error as exc:
            raise DataError(path, f"malformed CSV: {exc}") from None
    else:
        cells = [line.split("\t") for line in lines]
    return [[cell.strip() for cell in row if cell.strip()] for row in cells]


def evaluate_files(
    inputs: Path,
    predictions: Path,
    references: Path | None = None,
    *,
    name: str | None = None,
    json_out: Path | None = None,
    metrics: list[str] | None = None,
    data_dir: Path | None = None,
    cache_dir: Path | None = None,
    judges: str = "offline",
    sta_model: str | None = None,
    sim_model: str | None = None,
    fl_model: str | None = None,
    progress: bool = False,
) -> Record:
    """Score ``predictions`` (aligned with ``inputs``) and return (and optionally write) a record; ``judges`` names
    the judge set (``sta_model`` and the like: local copies of its published models)."""
    from ..data import datasets
    from .preflight import check_metrics, check_output

    check_metrics(metrics)
    options = JudgeOptions(judges=judges, sta_model=sta_model, sim_model=sim_model, fl_model=fl_model)
    judge_set = options.checked_judge_set()
    if json_out is not None:
        check_output(json_out, "--json")
    sources = read_aligned_lines(inputs, allow_empty=False)
    rewrites = read_aligned_lines(predictions, allow_empty=True)
    if len(rewrites) != len(sources):
        raise DataError(predictions, f"{len(rewrites)} lines, but {inputs} has {len(sources)}")
    refs = None
    if references is not None:
        refs = read_references(references)
        if len(refs) != len(sources):
            raise DataError(references, f"{len(refs)} lines, but {inputs} has {len(sources)}")
    from ..metrics import MetricContext, Suite

    with busy("scoring (the judges are trained on first use: about a minute)", enabled=progress):
        suite = Suite(MetricContext.resolved(data_dir=data_dir, cache_dir=cache_dir, models=options.judge_models()),
                      metrics, judges=judge_set)
        scores = split_scores(suite.score(sources, rewrites, refs).to_dict())
    system = name or Path(predictions).stem
    record = new_record(
        "eval",
        run_id=system,
        seed=None,
        method={"name": system, "kind": "external", "distribution": None},
        config={"inputs": str(inputs), "predictions": str(predictions), "references": str(references) if references else None},
        perturbation=[],
        evaluation={"name": Path(inputs).stem, "source": str(inputs), "rows": len(sources),
                    "digest": datasets.content_digest(sources, refs or []),
                    "pairs": sum(len(r) for r in refs) if refs else 0},
        **scores,
    )
    if json_out is not None:
        try:
            write_json(json_out, record)
        except OSError as exc:
            raise UserError(f"--json {json_out}: cannot write ({exc.strerror}); "
                            f"the scores were {figures_text(scores['metrics'])}") from None
    return Record(record, json_out)


def rewrite_file(run_dir: Path, input_file: Path, output: Path, batch_size: int = 64) -> int:
    """Rewrite every line of ``input_file`` with the leader saved in ``run_dir``, under the run's token
    budgets (as its own evaluation was rewritten); returns the count."""
    import dataclasses

    from .config import read_run_config
    from ..leaders import load_leader
    from .preflight import check_output
    from ..training.decoding import rewrite

    leader_dir = RunDir(run_dir).leader
    if not leader_dir.is_dir():
        raise UserError(f"{run_dir}: no trained leader here (only runs of training methods save one)")
    check_output(output, "--output")
    config = read_run_config(Path(run_dir))
    game = dataclasses.replace(config.game, eval_batch_size=batch_size)
    sources = read_aligned_lines(input_file, allow_empty=False)
    follower = None
    if game.decode == "infill":  # the leader fills what its own follower objects to, as in its game
        from .runner import build_follower, exclusion_keys, load_eval_set, run_context

        follower = build_follower(config, run_context(config, progress=False), *exclusion_keys(config, load_eval_set(config)))
    leader = load_leader(leader_dir)
    rewrites = rewrite(leader, sources, game, follower=follower)
    try:
        atomic_write_text(output, "".join(f"{' '.join(r.split())}\n" for r in rewrites))
    except OSError as exc:
        raise UserError(f"--output {output}: cannot write ({exc.strerror})") from None
    return len(rewrites)
