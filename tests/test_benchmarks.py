"""The peer benchmark runs (tiny leaders, one update): a smoke test, not a performance target."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def test_bench_vs_trl_runs_with_the_tiny_leader(data_dir):
    pytest.importorskip("trl")
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_vs_trl.py"
    spec = importlib.util.spec_from_file_location("bench_vs_trl", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--leaders", "tiny", "--objectives", "grpo", "--updates", "1", "--batch", "2", "--k", "2",
                       "--max-new-tokens", "4", "--rewrite-leader", "tiny", "--rewrite-rows", "8",
                       "--suite-metrics", "bleu,chrf", "--data-dir", str(data_dir)])
    assert [r["loop"] for r in rows] == ["trl GRPOTrainer", "harness grpo", "rewrite"]
    assert rows[2]["rows"] == 8 and rows[2]["rewrite_rows_per_s"] > 0 and rows[2]["suite_vs_minilm_pass"] > 0
    assert all(r["inputs_per_s"] > 0 for r in rows[:2]) and rows[1]["ratio_vs_trl"] > 0
    assert set(rows[1]["parts"]) >= {"generate", "screen", "backward", "optimizer"}
