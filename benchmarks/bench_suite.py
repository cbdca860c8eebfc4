"""Suite speed against its floor: one MiniLM encoding pass over the same 671 sentences.

    python benchmarks/bench_suite.py [--data-dir D] [--cache-dir C] [--repeats 5]

Rewrites are the dev split's first human reference per row; inputs are its toxic sentences;
all references are passed, so every built-in metric runs (STA, SIM, FL, BLEU, chrF, self-BLEU).
Model loading (and training, on a cold cache) happens once before any timing. The floor is the
faster of sentence-transformers' ``encode`` and the suite encoder's own uncached pass. "warm" is
the suite's normal state: the inputs' embeddings are cached from an earlier call (they are the
same every run) and the rewrites are not; "cold" drops both. Each figure is a median over
``--repeats`` alternating runs, because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from sro_bench.metrics import MetricContext, Suite
    from sro_bench.metrics.devsplit import splits
    from sro_bench.metrics.embed import get_encoder
    from sro_bench.util.paths import minilm_dir as model_dir
    from sro_bench.util.paths import resolve_cache_dir, resolve_data_dir

    data_dir = Path(resolve_data_dir(args.data_dir)).resolve()
    cache_dir = resolve_cache_dir(args.cache_dir)
    _, dev = splits(data_dir)
    inputs, references = dev.inputs, dev.references
    rewrites = [refs[0] for refs in references]

    start = time.perf_counter()
    suite = Suite(MetricContext(data_dir=data_dir, cache_dir=cache_dir))
    st = SentenceTransformer(str(model_dir()), device="cpu")
    encoder = get_encoder()
    st.encode(rewrites[:32])  # first-call warm-up for both paths
    encoder.encode_views(rewrites[:32], cache=False)
    print(f"loading (excluded from timings): {time.perf_counter() - start:.1f}s; metrics: {', '.join(suite.metrics)}")

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    floor_st, floor_own, warm, cold = [], [], [], []
    for _ in range(args.repeats):
        floor_st.append(timed(lambda: st.encode(rewrites)))
        floor_own.append(timed(lambda: encoder.encode_views(rewrites, cache=False)))
        encoder.forget(rewrites)
        suite.prepare(inputs)  # the inputs' cache is warm, as after any earlier run
        warm.append(timed(lambda: suite.score(inputs, rewrites, references)))
        encoder.forget(rewrites + inputs)
        cold.append(timed(lambda: suite.score(inputs, rewrites, references)))
    med = statistics.median
    floor = min(med(floor_st), med(floor_own))
    print(f"sentences: {len(rewrites)}; repeats: {args.repeats} (medians)")
    print(f"floor, sentence-transformers encode: {med(floor_st):.3f}s")
    print(f"floor, suite encoder uncached pass:  {med(floor_own):.3f}s")
    print(f"suite, input cache warm:             {med(warm):.3f}s  ratio {med(warm) / floor:.2f}x (target <= 1.5x)")
    print(f"suite, input cache cold:             {med(cold):.3f}s  ratio {med(cold) / floor:.2f}x")
    result = suite.score(inputs, rewrites, references)
    print("per-metric seconds (last, all cached):", {k: round(v, 3) for k, v in result.seconds.items()})


if __name__ == "__main__":
    main()
