"""How much could a game on the prepared minilm leader gain at all? Its candidates for N toxic training inputs of
ParaDetox (the toxic side only, never dev, never a reference), scored by suite 2's judges for diagnosis only
(nothing here trains on them):

- the greedy fill of the words the follower objects to (what `infill` and the main job's untrained start write),
  the same words deleted, and both again with the words objected to at the stricter P(toxic) 0.2;
- K - 4 samples of the fill (temperature 1, what the game's groups hold).

Prints the mean J of each kind, the best-of-K oracle (the most any reranker or any policy over these
candidates could reach), and what picking by each of the game's own signals reaches: the follower's verdict
and P(toxic), the kept share (kept_overlap), the copier's fluency exp(l(y|y)/|y|) and its reconstruction
exp(l(x|y)/|x|), alone and as products.

    .venv/bin/python benchmarks/candidate_headroom.py [N] [K]     # default 300 8; about 5 CPU-minutes
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from scipy.stats import spearmanr

from sro_bench.context import Context
from sro_bench.data import load_dataset
from sro_bench.followers import FollowerContext, build_follower
from sro_bench.followers.objections import masked_texts, objectionable_words
from sro_bench.followers.perturb import Perturbation, Threshold
from sro_bench.leaders import LeaderConfig, LeaderContext, build_leader
from sro_bench.metrics import MetricContext, Suite
from sro_bench.training.rewards import kept_overlap
from sro_bench.util.paths import resolve_data_dir

KINDS = ("fill", "delete", "fill (P 0.2)", "delete (P 0.2)")


def per_token(leader, conditions: list[str], targets: list[str]) -> np.ndarray:
    out = []
    for a in range(0, len(targets), 64):
        with torch.no_grad():
            logp = leader.sequence_logprobs(conditions[a:a + 64], targets[a:a + 64]).float()
        out += (logp / torch.tensor(leader.target_lengths(targets[a:a + 64]), dtype=torch.float32)).tolist()
    return np.array(out)


def main(n: int = 300, k: int = 8) -> None:
    torch.manual_seed(0)
    context = Context.resolved(seed=0, data_dir=resolve_data_dir(None), cache_dir=None, progress=False)
    leader = build_leader(LeaderConfig(name="minilm"), context.as_(LeaderContext))
    follower = build_follower("nblr-char", context.as_(FollowerContext))
    train = load_dataset("paradetox-train", context.data_dir)
    xs = [train.inputs[i] for i in np.random.default_rng(1).choice(len(train), n, replace=False)]
    strict = Threshold(follower, Perturbation("threshold", 0.2))
    masks = [objectionable_words(follower, xs), objectionable_words(strict, xs)]

    def deleted(objected):
        return [" ".join(w for j, w in enumerate(x.split()) if j not in m) for x, m in zip(xs, objected)]

    conditions = [masked_texts(xs, m, leader.infill_token) for m in masks]
    leader.model.eval()
    with torch.no_grad():
        fills = [leader.generate(c, do_sample=False, max_new_tokens=48) for c in conditions]
        samples = [s.text for s in leader.sample(conditions[0], num_return_sequences=k - 4, max_new_tokens=48)]
    candidates = [[fills[0][i], deleted(masks[0])[i], fills[1][i], deleted(masks[1])[i],
                   *samples[i * (k - 4):(i + 1) * (k - 4)]] for i in range(n)]
    flat_x = [x for x, c in zip(xs, candidates) for _ in c]
    flat_y = [y for c in candidates for y in c]
    suite = Suite(context.as_(MetricContext), ["sta", "sim", "fl"])
    J = np.array(suite.score(flat_x, flat_y, None).sentence_dict()["J"], dtype=float).reshape(n, k)
    p = np.asarray(follower.predict_proba(flat_y)).reshape(n, k)
    passes = (p <= follower.threshold).astype(float)
    kept = np.array([kept_overlap(x, y) for x, y in zip(flat_x, flat_y)]).reshape(n, k)
    fluency = np.exp(per_token(leader, flat_y, flat_y)).reshape(n, k)
    reconstruction = np.exp(per_token(leader, flat_y, flat_x)).reshape(n, k)

    print(f"{n} training inputs, {k} candidates each; suite 2 J (diagnosis only)")
    for j, kind in enumerate(KINDS):
        print(f"  {kind:16s} J {J[:, j].mean():.4f}")
    print(f"  {'samples':16s} J {J[:, 4:].mean():.4f}")
    print(f"  oracle over the fill and its deletion (the decoding's masks, what a leader filling them could learn by"
          f" leaving a mask empty) {J[:, :2].max(1).mean():.4f}")
    print(f"  oracle over the greedy fill and the {k - 4} samples {J[:, [0, *range(4, k)]].max(1).mean():.4f}")
    print(f"  oracle over the 4 deterministic candidates {J[:, :4].max(1).mean():.4f}; over all {k} {J.max(1).mean():.4f}")
    signals = {
        "verdict x kept x fluency (grpo-fluent)": passes * kept * fluency,
        "(1 - P) x kept x fluency": (1 - p) * kept * fluency,
        "verdict x kept x fluency x reconstruction": passes * kept * fluency * reconstruction,
        "kept": kept, "reconstruction": reconstruction, "fluency": fluency, "1 - P": 1 - p,
    }
    rows = np.arange(n)
    print("picking by a signal: among the 4 deterministic candidates, among all; within-input Spearman with J")
    for name, s in signals.items():
        four, every = J[rows, s[:, :4].argmax(1)].mean(), J[rows, s.argmax(1)].mean()
        rho = np.nanmean([spearmanr(s[i], J[i]).statistic for i in range(n) if np.ptp(J[i]) > 0 and np.ptp(s[i]) > 0])
        print(f"  {name:44s} {four:.4f}  {every:.4f}  {rho:+.3f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
