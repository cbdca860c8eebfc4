"""How much the FL judge moved with the run's seed before judges were fixed (records older than suite.judges).

Trains (or loads) the FL judge with seeds 0 and 1 and scores the dev split's toxic inputs and human
references with both: the mean FL of each and the largest per-sentence difference.

    python benchmarks/judge_seed_effect.py [--data-dir DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse

import numpy as np

from sro_bench.metrics.devsplit import splits
from sro_bench.metrics.fl import load_or_train_fl
from sro_bench.util.paths import resolve_data_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.data_dir)
    _, dev = splits(data_dir)
    texts = {"dev inputs (toxic)": dev.inputs, "dev references": [r for rs in dev.references for r in rs]}
    judges = {seed: load_or_train_fl(data_dir, args.cache_dir, seed=seed) for seed in (0, 1)}
    for name, sentences in texts.items():
        scores = {seed: judge.score(sentences) for seed, judge in judges.items()}
        gap = np.abs(scores[0] - scores[1])
        print(f"{name}: {len(sentences)} sentences; mean FL seed 0 {scores[0].mean():.4f}, seed 1 "
              f"{scores[1].mean():.4f} (difference {scores[1].mean() - scores[0].mean():+.4f}); "
              f"per sentence |difference| mean {gap.mean():.4f}, max {gap.max():.4f}")


if __name__ == "__main__":
    main()
