"""Scoring any system's outputs, and rewriting any file with a trained leader."""

from __future__ import annotations

from pathlib import Path

from .data import read_text
from .errors import DataError, UserError
from .paths import resolve_data_dir
from .files import atomic_write_text
from .records import new_record, write_json


def read_aligned_lines(path: Path, *, allow_empty: bool) -> list[str]:
    """Every line; empty lines are errors unless ``allow_empty`` (an empty rewrite is still a rewrite)."""
    lines = read_text(path, allow_blank=allow_empty).split("\n")
    if lines and lines[-1] == "":  # the file's final newline ends the last line, it does not add one
        lines.pop()
    if not allow_empty:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                raise DataError(path, "empty line", number)
    return [line.strip() for line in lines]


def read_references(path: Path) -> list[list[str]]:
    """One reference a line, or several a line separated by tabs."""
    rows = [[cell.strip() for cell in line.split("\t") if cell.strip()] for line in read_aligned_lines(path, allow_empty=False)]
    return rows


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
) -> dict:
    """Score ``predictions`` (aligned with ``inputs``) and return (and optionally write) a record."""
    sources = read_aligned_lines(inputs, allow_empty=False)
    rewrites = read_aligned_lines(predictions, allow_empty=True)
    if len(rewrites) != len(sources):
        raise DataError(predictions, f"{len(rewrites)} lines, but {inputs} has {len(sources)}")
    refs = None
    if references is not None:
        refs = read_references(references)
        if len(refs) != len(sources):
            raise DataError(references, f"{len(refs)} lines, but {inputs} has {len(sources)}")
    from .metrics import MetricContext, Suite

    context = MetricContext(data_dir=resolve_data_dir(data_dir), cache_dir=cache_dir)
    from .runner import split_scores

    scores = split_scores(Suite(context, metrics).score(sources, rewrites, refs).to_dict())
    system = name or Path(predictions).stem
    record = new_record(
        "eval",
        run_id=system,
        seed=None,
        method={"name": system, "kind": "external", "distribution": None},
        config={"inputs": str(inputs), "predictions": str(predictions), "references": str(references) if references else None},
        perturbation=[],
        evaluation={"name": Path(inputs).stem, "source": str(inputs), "rows": len(sources),
                    "pairs": sum(len(r) for r in refs) if refs else 0},
        **scores,
    )
    if json_out is not None:
        write_json(json_out, record)
        record["_path"] = str(json_out)
    else:
        record["_path"] = "-"
    return record


def rewrite_file(run_dir: Path, input_file: Path, output: Path, batch_size: int = 64) -> int:
    """Rewrite every line of ``input_file`` with the leader saved in ``run_dir``; returns the count."""
    from .leaders import load_leader

    leader_dir = Path(run_dir) / "leader"
    if not leader_dir.is_dir():
        raise UserError(f"{run_dir}: no trained leader here (only runs of training methods save one)")
    sources = read_aligned_lines(input_file, allow_empty=False)
    leader = load_leader(leader_dir)
    leader.model.eval()
    rewrites = leader.generate(sources, do_sample=False, batch_size=batch_size)
    atomic_write_text(output, "".join(f"{' '.join(r.split())}\n" for r in rewrites))
    return len(rewrites)
