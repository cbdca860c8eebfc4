"""A run's per-sentence scores and its report page, without a browser (tests/test_browser.py renders them)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from sro_bench.run.config import RunConfig
from sro_bench.publish.report import read_rewrites, run_report
from sro_bench.run.runner import run


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    runs_dir = tmp_path_factory.mktemp("runs")
    for method in ("delete", "duplicate"):
        run(RunConfig(method=method, eval_limit=12, data_dir=data_dir, runs_dir=runs_dir, run_id=method), progress=False)
    return runs_dir


def test_a_run_writes_per_sentence_scores_whose_means_are_the_records(runs):
    record = json.loads((runs / "delete" / "record.json").read_text())
    with open(runs / "delete" / "scores.tsv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 12 and list(rows[0]) == ["STA", "SIM", "FL", "J"]
    for figure in ("STA", "SIM", "FL", "J"):
        assert sum(float(r[figure]) for r in rows) / 12 == pytest.approx(record["metrics"][figure], abs=1e-3)
    read = read_rewrites(runs / "delete")
    assert read[0]["J"] == pytest.approx(float(rows[0]["J"])) and read[0]["references"]


def test_an_older_run_without_scores_is_scored_again_alike(runs, data_dir):
    from sro_bench.publish.report import score_rows

    stored = read_rewrites(runs / "duplicate")
    again = [{k: row[k] for k in ("input", "rewrite", "references")} for row in stored]
    score_rows(again, data_dir, None)
    for figure in ("STA", "SIM", "FL", "J"):
        assert [r[figure] for r in again] == pytest.approx([r[figure] for r in stored], abs=1e-4)
    assert "<h3>worst by J</h3>" in run_report(runs / "duplicate", data_dir=data_dir)


def test_report_command_refuses_a_directory_without_a_record_before_writing(runs, tmp_path):
    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, "-c", "from sro_bench.cli.main import main; main()", "report",
                           str(runs / "delete"), str(tmp_path / "empty"), "--out", str(tmp_path / "pages")],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2 and "empty/record.json: no run record here" in done.stderr, done.stderr
    assert not (tmp_path / "pages").exists()
