"""Game throughput: the batched game (B = 8, 16, 32) against a batch-1 loop in the released code's style.

Both use the same leader, follower, loss and inputs in one process. The batch-1 loop does what the
released code does per input: one sampled generation (train mode), three forward passes (policy on y,
policy on x, reference on both), one update. Prints toxic inputs per second, the ratio, the time of each
part of a step (milliseconds per input and share) and peak memory.

    .venv/bin/python benchmarks/bench_game.py --leader minilm --inputs 64
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sro_bench.training.config import GameConfig  # noqa: E402
from sro_bench.data import load_dataset  # noqa: E402
from sro_bench.followers import FollowerContext, build_follower  # noqa: E402
from sro_bench.training.game import Game, make_optimizer  # noqa: E402
from sro_bench.leaders import LeaderConfig, LeaderContext, build_leader  # noqa: E402
from sro_bench.objectives import SRO, LossTerms  # noqa: E402
from sro_bench.util.paths import resolve_data_dir  # noqa: E402


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def seed_style_loop(leader, follower, objective, inputs, lr, max_new_tokens, timings) -> float:
    """The released code's schedule: one input at a time, nothing cached, nothing batched."""
    optimizer = make_optimizer(leader.trainable_parameters(), lr, 0.01)
    rng = np.random.default_rng(0)

    def timed(name, fn):
        start = time.perf_counter()
        out = fn()
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start
        return out

    start = time.perf_counter()
    for x in inputs:
        leader.model.train()
        y = timed("generate", lambda: leader.generate([x], do_sample=True, max_new_tokens=max_new_tokens))[0]
        fails = timed("screen", lambda: follower.verdicts([y]))
        if rng.random() < objective.p_flip:
            fails = 1 - fails
        with leader.autocast():
            policy_y = timed("policy_forward", lambda: leader.sequence_logprobs([x], [y]))
            policy_x = timed("policy_forward", lambda: leader.sequence_logprobs([x], [x]))
            with torch.no_grad(), leader.reference():
                ref = timed("reference_forward", lambda: leader.sequence_logprobs([x, x], [y, x]))
        terms = LossTerms(policy_y.float(), ref[:1].float(), torch.tensor(fails, dtype=torch.float32, device=leader.device),
                          policy_x.float(), ref[1:].float())
        loss, _ = objective.loss(terms)
        optimizer.zero_grad()
        timed("backward", loss.backward)
        timed("optimizer", optimizer.step)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leader", default="minilm")
    parser.add_argument("--inputs", type=int, default=64, help="toxic inputs per measurement")
    parser.add_argument("--batch-sizes", default="8,16,32")
    parser.add_argument("--batch1-inputs", type=int, default=None, help="inputs for the batch-1 loop (default: --inputs)")
    parser.add_argument("--lora-r", type=int, default=0)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    args = parser.parse_args()

    console = Console(width=150)
    data_dir = resolve_data_dir(args.data_dir)
    config = LeaderConfig(name=args.leader, lora_r=args.lora_r, precision=args.precision, device=args.device)
    context = LeaderContext(data_dir=data_dir)
    follower = build_follower("nblr", FollowerContext(data_dir=data_dir))
    dirty = load_dataset("dirty", data_dir)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    n = args.inputs
    data = dirty.subset(range(n))
    objective = SRO()

    results, parts = {}, {}
    for b in batch_sizes:
        torch.manual_seed(0)
        leader = build_leader(config, context)
        game = Game(leader, follower, objective, data, GameConfig(batch_size=b, max_steps=None, epochs=1.0,
                                                                   max_new_tokens=args.max_new_tokens), seed=0)
        game.play_step(0)  # warm-up: kernels, allocator, the reference copy
        game.timings.clear()
        game.step = 0
        start = time.perf_counter()
        game.play()
        seconds = time.perf_counter() - start
        results[f"batched B={b}"] = n / seconds
        parts[f"batched B={b}"] = dict(game.timings)

    n1 = args.batch1_inputs or n
    torch.manual_seed(0)
    leader = build_leader(config, context)
    timings: dict[str, float] = {}
    seed_style_loop(leader, follower, objective, dirty.inputs[n : n + 2], 2e-5, args.max_new_tokens, {})  # warm-up
    seconds = seed_style_loop(leader, follower, objective, dirty.inputs[:n1], 2e-5, args.max_new_tokens, timings)
    results["batch-1 (released code's loop)"] = n1 / seconds
    parts["batch-1 (released code's loop)"] = timings

    baseline = results["batch-1 (released code's loop)"]
    table = Table(title=f"game throughput: leader {args.leader}, device {leader.device}, "
                        f"precision {getattr(leader, 'precision', '?')}, LoRA r={args.lora_r}, {torch.get_num_threads()} threads")
    for column in ("loop", "inputs/s", "x batch-1", "generate", "screen", "policy fwd", "reference fwd", "backward", "optimizer"):
        table.add_column(column, justify="right")
    for name, rate in results.items():
        t = parts[name]
        total = sum(t.values()) or 1.0
        inputs = n1 if name.startswith("batch-1") else n
        # Each part as milliseconds per toxic input and share of the step: loops of any B compare directly.
        cells = [f"{1000 * t.get(k, 0.0) / inputs:.0f} ms {100 * t.get(k, 0.0) / total:.0f}%" for k in
                 ("generate", "screen", "policy_forward", "reference_forward", "backward", "optimizer")]
        table.add_row(name, f"{rate:.2f}", f"{rate / baseline:.1f}x", *cells)
    console.print(table)
    console.print(f"peak memory: {peak_memory_mb(leader.device):.0f} MiB "
                  f"({'GPU allocated' if leader.device.type == 'cuda' else 'process max RSS'})")
    if leader.device.type == "cuda":
        best = max(v for k, v in results.items() if k.startswith("batched"))
        hours = 15 * 14_869 / best / 3600
        console.print(f"projected paper schedule (15 epochs x 14,869 inputs) at the best batched rate: {hours:.2f} h")


if __name__ == "__main__":
    main()
