"""Does the prepared minilm copier's l_ref(y|y) / |y| (grpo-fluent's fluency weight) tell whole sentences from
broken ones? 200 toxic training inputs of ParaDetox (the toxic side only, never the references), each scored
intact, with one word dropped, and with two adjacent words swapped. Prints the mean weight exp(l/|y|) of each
and the share of pairs in which the intact sentence scores higher.

    .venv/bin/python benchmarks/fluency_signal.py        # needs the copier: sro-bench leader prepare minilm
"""

from __future__ import annotations

import random

import numpy as np
import torch

from sro_bench.data import load_dataset
from sro_bench.leaders import build_leader
from sro_bench.leaders.config import LeaderConfig, LeaderContext
from sro_bench.util.paths import resolve_data_dir


def main() -> None:
    leader = build_leader(LeaderConfig(name="minilm"), LeaderContext())
    rng = random.Random(0)
    inputs = load_dataset("paradetox-train", resolve_data_dir(None)).inputs
    xs = [x for x in rng.sample(inputs, 400) if 6 <= len(x.split()) <= 25][:200]

    def drop(x: str) -> str:
        w = x.split()
        i = rng.randrange(len(w))
        return " ".join(w[:i] + w[i + 1 :])

    def swap(x: str) -> str:
        w = x.split()
        i = rng.randrange(len(w) - 1)
        w[i], w[i + 1] = w[i + 1], w[i]
        return " ".join(w)

    def weight(texts: list[str]) -> np.ndarray:
        with torch.no_grad():
            logprobs = leader.sequence_logprobs(texts, texts)
        # the scored tokens: each text's word pieces and the end token
        tokens = torch.tensor([len(ids) + 1 for ids in leader.tokenizer(texts, add_special_tokens=False)["input_ids"]])
        return (logprobs / tokens).exp().numpy()

    intact = weight(xs)
    for name, broken in (("one word dropped", drop), ("two words swapped", swap)):
        other = weight([broken(x) for x in xs])
        print(f"{name}: mean weight {other.mean():.3f} vs intact {intact.mean():.3f}; "
              f"intact higher in {np.mean(intact > other):.2f} of {len(xs)} pairs")


if __name__ == "__main__":
    main()
