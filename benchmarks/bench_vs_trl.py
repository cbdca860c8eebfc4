"""The harness's game against trl's GRPOTrainer: the same causal leader, inputs, batch, samples per input,
generation length, precision and number of updates, the follower as trl's reward function.

Prints inputs/s for each loop, the harness/trl ratio, each loop's per-part breakdown (generate, screen,
forward passes, backward, optimizer, and the rest as "other") and the tokens it generated per sample (random
weights end samples at random lengths, and the length is the work), in one run on one machine; then the rates
of rewriting the dev split with ``--rewrite-leader`` (the prepared minilm copier by default; skipped when it is not prepared) under the
cpu preset's budgets, and of scoring it with the suite, against one MiniLM pass over the same rewrites.

    python benchmarks/bench_vs_trl.py [--leaders tiny,minilm-size] [--updates 8] [--batch 8] [--k 4]
                                      [--max-new-tokens 16] [--objectives grpo,sro] [--threads N]

``tiny`` is the 2-layer tiny-causal test leader; ``minilm-size`` is a GPT-2 of MiniLM-L6's shape (6 layers,
384 wide, 12 heads) built from config with the tiny word-level vocabulary. Both are randomly initialised:
the text is noise, the work per token is the point.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from sro_bench import data as datamod  # noqa: E402
from sro_bench.training.config import GameConfig  # noqa: E402
from sro_bench.followers import FollowerContext, build_follower  # noqa: E402
from sro_bench.training.game import Game  # noqa: E402
from sro_bench.leaders import LeaderConfig, LeaderContext, build_leader  # noqa: E402
from sro_bench.objectives import SRO  # noqa: E402
from sro_bench.objectives.group import GRPO  # noqa: E402
from sro_bench.util.paths import resolve_data_dir  # noqa: E402
from sro_bench.util.progress import timed  # noqa: E402

SHAPES = {"tiny": {}, "minilm-size": {"d_model": 384, "layers": 6, "heads": 12}}
PARTS = ("generate", "screen", "judge", "reference_forward", "policy_forward", "backward", "optimizer")


def leader(shape: str, texts: list[str]):
    return build_leader(LeaderConfig(name="tiny-causal", extra={**SHAPES[shape], "texts": texts}), LeaderContext(seed=0))


class Parts:
    """Seconds per part of a loop, from timers around the loop's own methods, and tokens generated per sample."""

    def __init__(self):
        self.seconds = dict.fromkeys(PARTS, 0.0)
        self.lengths: list[int] = []

    def timing(self, part: str):
        return timed(self.seconds, part)

    def wrap(self, part: str, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            with self.timing(part):
                return method(*args, **kwargs)

        return timed

    def result(self, seconds: float, args) -> dict:
        parts = {**self.seconds, "other": seconds - sum(self.seconds.values())}
        return {"seconds": seconds, "inputs_per_s": args.updates * args.batch / seconds, "parts": parts,
                "tokens_per_sample": sum(self.lengths) / max(1, len(self.lengths))}


def parts_text(row: dict) -> str:
    parts = "  ".join(f"{p} {s:.1f}s" for p, s in row["parts"].items() if s)
    return f"{parts}; {row['tokens_per_sample']:.1f} tokens/sample"


def harness(shape: str, objective: str, inputs: list[str], follower, args) -> dict:
    torch.manual_seed(0)
    policy = leader(shape, inputs)
    config = GameConfig(max_steps=args.updates, batch_size=args.batch, samples_per_input=args.k,
                        max_new_tokens=args.max_new_tokens, lr=1e-5, checkpoint_every=0, max_grad_norm=1.0)
    loss = GRPO() if objective == "grpo" else SRO()
    game = Game(policy, follower, loss, datamod.Dataset("bench", inputs), config, seed=0)
    parts = Parts()
    sample = policy.sample

    def counted(*args, **kwargs):  # tokens as trl counts them: the ids, and the end token when generated
        samples = sample(*args, **kwargs)
        parts.lengths += [len(s.ids) + s.ended for s in samples]
        return samples

    policy.sample = counted
    start = time.perf_counter()
    game.play()
    seconds = time.perf_counter() - start
    parts.seconds.update({p: game.timings.get(p, 0.0) for p in PARTS})
    return parts.result(seconds, args)


def trl_grpo(shape: str, inputs: list[str], follower, args) -> dict:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    torch.manual_seed(0)
    policy = leader(shape, inputs)
    tokenizer = policy.tokenizer

    def reward(completions, **kwargs):  # 1 where the follower passes the completion
        return [1.0 - float(v) for v in follower.verdicts([str(c) for c in completions])]

    with tempfile.TemporaryDirectory() as out:
        # trl builds its KL reference from a path: the same initial weights, saved
        policy.model.save_pretrained(Path(out) / "model")
        tokenizer.save_pretrained(Path(out) / "model")
        # trl's defaults otherwise, but for gradient checkpointing (on by default: its backward recomputes the
        # forward to save memory, which the harness does not do); --trl-gradient-checkpointing measures trl as shipped.
        config = GRPOConfig(
            output_dir=out, per_device_train_batch_size=args.batch * args.k, num_generations=args.k,
            max_completion_length=args.max_new_tokens, max_steps=args.updates, learning_rate=1e-5, beta=0.04,
            temperature=1.0, top_k=50, max_grad_norm=1.0, logging_strategy="no", save_strategy="no", report_to=[],
            use_cpu=True, bf16=False, disable_tqdm=True, seed=0, dataloader_num_workers=0,
            model_init_kwargs={"dtype": torch.float32}, gradient_checkpointing=args.trl_gradient_checkpointing,
        )
        trainer = GRPOTrainer(model=str(Path(out) / "model"), reward_funcs=reward, args=config, processing_class=tokenizer,
                              train_dataset=Dataset.from_dict({"prompt": inputs}))
        parts = timed_trl(trainer)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # trl prints its summary dict; the table below says it
            trainer.train()
        seconds = time.perf_counter() - start
    return parts.result(seconds, args)


def timed_trl(trainer) -> Parts:
    """Parts for a GRPOTrainer, timed by wrapping its methods on the instance (the installed trl is untouched):
    generate = ``_generate`` (tokenise, sample, decode), screen = ``_calculate_rewards``, reference_forward =
    ``_get_per_token_logps_and_entropies`` on the reference model, policy_forward = ``compute_loss`` (the policy's
    forward and the loss), backward = ``accelerator.backward``, optimizer = from ``training_step``'s return to the
    ``on_step_end`` callback (clipping, the optimizer and scheduler steps, zeroing the gradients)."""
    from transformers import TrainerCallback

    parts = Parts()
    generate, logps = trainer._generate, trainer._get_per_token_logps_and_entropies
    training_step = trainer.training_step

    def generated(prompts):
        out = generate(prompts)
        parts.lengths += [len(ids) for ids in out[1]]  # completion ids, cut after the first end token
        return out

    def scored(model, *args, **kwargs):
        if model is not trainer.ref_model:
            return logps(model, *args, **kwargs)
        with parts.timing("reference_forward"):
            return logps(model, *args, **kwargs)

    stepped = 0.0

    def step(*args, **kwargs):
        nonlocal stepped
        loss = training_step(*args, **kwargs)
        stepped = time.perf_counter()
        return loss

    class Optimizer(TrainerCallback):  # the Trainer steps the optimizer inline: no method of its own to wrap
        def on_step_end(self, args, state, control, **kwargs):
            parts.seconds["optimizer"] += time.perf_counter() - stepped

    trainer._generate = parts.wrap("generate", generated)
    trainer._calculate_rewards = parts.wrap("screen", trainer._calculate_rewards)
    trainer._get_per_token_logps_and_entropies = scored
    trainer.compute_loss = parts.wrap("policy_forward", trainer.compute_loss)
    trainer.accelerator.backward = parts.wrap("backward", trainer.accelerator.backward)
    trainer.training_step = step
    trainer.add_callback(Optimizer)
    return parts


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaders", default="tiny,minilm-size")
    parser.add_argument("--objectives", default="grpo,sro")
    parser.add_argument("--updates", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--trl-gradient-checkpointing", action="store_true",
                        help="leave trl's gradient checkpointing on, its default (the harness does not checkpoint)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--rewrite-leader", default="minilm", help="leader for the rewrite/suite rates (none: skip)")
    parser.add_argument("--rewrite-rows", type=int, default=671, help="dev rows to rewrite and score")
    parser.add_argument("--suite-metrics", default=None, help="comma-separated (default: every registered metric)")
    parser.add_argument("--data-dir")
    parser.add_argument("--cache-dir")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    data_dir = resolve_data_dir(args.data_dir)
    inputs = datamod.load_dataset("paradetox-train", data_dir).inputs[: args.updates * args.batch]
    follower = build_follower("nblr", FollowerContext(data_dir=data_dir))
    rows = []
    print(f"# {args.updates} updates, B={args.batch} inputs x k={args.k} samples, {args.max_new_tokens} new tokens, "
          f"fp32, {torch.get_num_threads()} torch threads, trl gradient checkpointing "
          f"{'on' if args.trl_gradient_checkpointing else 'off'}")
    for shape in args.leaders.split(","):
        peer = trl_grpo(shape, inputs, follower, args)
        rows.append({"leader": shape, "loop": "trl GRPOTrainer", **peer})
        print(f"{shape:12s} trl GRPOTrainer   {peer['inputs_per_s']:7.2f} inputs/s ({peer['seconds']:.1f} s); "
              f"{parts_text(peer)}")
        for objective in args.objectives.split(","):
            ours = harness(shape, objective, inputs, follower, args)
            rows.append({"leader": shape, "loop": f"harness {objective}", **ours,
                         "ratio_vs_trl": ours["inputs_per_s"] / peer["inputs_per_s"]})
            print(f"{shape:12s} harness {objective:9s} {ours['inputs_per_s']:7.2f} inputs/s ({ours['seconds']:.1f} s), "
                  f"{ours['inputs_per_s'] / peer['inputs_per_s']:.2f}x trl; {parts_text(ours)}")
    if args.rewrite_leader != "none":
        rows.append(rewrite_and_score(args, data_dir))
    return rows


def rewrite_and_score(args, data_dir: Path) -> dict:
    from sro_bench.training.config import apply_preset
    from sro_bench.leaders.minilm import cache_path
    from sro_bench.metrics import MetricContext, Suite
    from sro_bench.metrics.embed import get_encoder
    from sro_bench.training.decoding import rewrite

    config = LeaderConfig(name=args.rewrite_leader)
    context = LeaderContext(data_dir=data_dir, cache_dir=args.cache_dir)
    if args.rewrite_leader == "minilm" and not (cache_path(config, context) / "leader.json").is_file():
        print("rewrite/suite: skipped, the minilm copier is not prepared (sro-bench leader prepare minilm)")
        return {"loop": "rewrite", "skipped": True}
    dev = datamod.load_dataset("paradetox-dev", data_dir)
    dev = dev.subset(range(min(args.rewrite_rows, len(dev))))
    game = apply_preset(GameConfig(), "cpu")
    policy = build_leader(config, context)
    start = time.perf_counter()
    rewrites = rewrite(policy, dev.inputs, game)
    rewrite_s = time.perf_counter() - start
    metrics = args.suite_metrics.split(",") if args.suite_metrics else None
    suite = Suite(MetricContext(data_dir=data_dir, cache_dir=args.cache_dir), metrics)  # loads (or trains) first
    suite.prepare(dev.inputs)  # the inputs' embeddings are cached between runs, as in any run after the first
    encoder = get_encoder()
    encoder.encode_views(rewrites[:32], cache=False)  # warm-up
    start = time.perf_counter()
    encoder.encode_views(rewrites, cache=False)
    floor_s = time.perf_counter() - start
    encoder.forget(rewrites)
    start = time.perf_counter()
    suite.score(dev.inputs, rewrites, dev.references)
    suite_s = time.perf_counter() - start
    print(f"rewrite ({args.rewrite_leader}, {len(rewrites)} dev rows, cpu preset budgets): {len(rewrites) / rewrite_s:.1f} rows/s; "
          f"suite ({', '.join(suite.metrics)}): {len(rewrites) / suite_s:.1f} rows/s, {suite_s / floor_s:.2f}x one MiniLM pass")
    return {"loop": "rewrite", "rows": len(rewrites), "rewrite_rows_per_s": len(rewrites) / rewrite_s,
            "suite_rows_per_s": len(rewrites) / suite_s, "suite_vs_minilm_pass": suite_s / floor_s}


if __name__ == "__main__":
    main()
