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
                       "--max-new-tokens", "4", "--data-dir", str(data_dir)])
    assert [r["loop"] for r in rows] == ["trl GRPOTrainer", "harness grpo"]
    assert all(r["inputs_per_s"] > 0 for r in rows) and rows[1]["ratio_vs_trl"] > 0
    assert set(rows[1]["parts"]) >= {"generate", "screen", "backward", "optimizer"}
