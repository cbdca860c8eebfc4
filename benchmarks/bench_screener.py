"""Screening throughput of the nblr follower: prints sentences/s (a benchmark, not a test).

    python benchmarks/bench_screener.py [--data-dir DIR] [--cache-dir DIR] [--n 20000] [--repeats 5] [--compare]

Trains the screener on first use (cached), then scores ``--n`` dev-style sentences (the ParaDetox
dev split's toxic inputs and references, cycled) and reports the best of ``--repeats`` runs.
``--compare`` also times scikit-learn's own TfidfVectorizer + LogisticRegression path on the same
model with the seed's tokenizer, and checks that both give the same probabilities.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sro_bench import data as d
from sro_bench.followers import FollowerContext, train_screener
from sro_bench.util.paths import resolve_data_dir


def best_rate(fn, texts, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn(texts)
        best = min(best, time.perf_counter() - start)
    return len(texts) / best


def sklearn_scorer(model):
    """The seed's own scoring path, rebuilt around the saved vocabulary and idf."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sro_bench.followers.tokenize import seed_tokenize

    vec = TfidfVectorizer(ngram_range=(1, 2), tokenizer=seed_tokenize, token_pattern=None, lowercase=True,
                          strip_accents="unicode", sublinear_tf=True,
                          vocabulary={g: j for j, g in enumerate(model.vocabulary)})
    vec.idf_ = model.idf

    def score(texts):
        z = vec.transform(texts).multiply(model.r).tocsr() @ model.coef + model.intercept
        return 1.0 / (1.0 + np.exp(-z))

    return score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--cache-dir")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compare", action="store_true")
    args = ap.parse_args()

    data_dir = resolve_data_dir(args.data_dir)
    screener = train_screener(FollowerContext(data_dir=data_dir, cache_dir=args.cache_dir))
    _, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    pool = dev.inputs + [r for refs in dev.references for r in refs]
    texts = [pool[i % len(pool)] for i in range(args.n)]
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"{len(texts):,} dev-style sentences, {words:.1f} words on average")
    print(f"nblr predict_proba: {best_rate(screener.predict_proba, texts, args.repeats):,.0f} sentences/s")
    print(f"nblr verdicts:      {best_rate(screener.verdicts, texts, args.repeats):,.0f} sentences/s")
    if args.compare:
        ref = sklearn_scorer(screener.model)
        print(f"scikit-learn path:  {best_rate(ref, texts, args.repeats):,.0f} sentences/s")
        diff = np.abs(ref(texts) - screener.predict_proba(texts)).max()
        print(f"max |P difference| against scikit-learn: {diff:.2e}")


if __name__ == "__main__":
    main()
