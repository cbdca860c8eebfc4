"""Token-level kernels shared by the Hugging Face leaders: sampling, length grouping, log-likelihood sums."""

from __future__ import annotations

import re
from typing import Sequence

import torch


def _fix_wordpiece_contractions(text: str) -> str:
    # WordPiece splits "don 't" into don ' t; rejoin to the tokenised style of the data sets.
    return re.sub(r"(\w) ' (t|s|m|d|ll|re|ve)\b", r"\1 '\2", text)


def _decode_wordpiece(tokenizer, ids: list[int]) -> str:
    # Join pieces ourselves: tokenizer decoders glue punctuation on ("know, man."), and a
    # customised decoder does not survive save_pretrained for BERT tokenizers.
    tokens = tokenizer.convert_ids_to_tokens(ids, skip_special_tokens=True)
    return _fix_wordpiece_contractions(" ".join(tokens).replace(" ##", "").strip())


# How generated ids become text: the tokenizer's own decode, or a named alternative.
DECODERS = {
    "": lambda tokenizer, ids: tokenizer.decode(ids, skip_special_tokens=True).strip(),
    "wordpiece-contractions": _decode_wordpiece,
}


class GumbelTopK:
    """Top-k sampling as a logits processor for greedy search: argmax of the top-k logits plus Gumbel noise.

    That argmax is distributed as softmax over the top k, exactly what HF's top-k multinomial draws;
    torch's multinomial draws an exponential for every vocabulary entry, a third of CPU generation time.
    With ``temperature`` T the top-k logits are divided by T first, as HF's temperature warper does.
    """

    def __init__(self, top_k: int, temperature: float = 1.0):
        self.top_k, self.temperature = top_k, temperature

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        values, indices = scores.topk(min(self.top_k, scores.shape[-1]), dim=-1)
        if self.temperature != 1.0:
            values = values / self.temperature
        gumbel = -torch.empty_like(values).exponential_().log()
        return torch.full_like(scores, float("-inf")).scatter_(-1, indices, values + gumbel)


def plain_top_k(generation_config) -> int | None:
    """The k of a sampling configuration that is top-k and nothing else (HF's default), or None."""
    def value(name: str, default: float) -> float:  # unset fields take HF's global defaults
        set_to = getattr(generation_config, name, None)
        return default if set_to is None else set_to

    others = dict(temperature=1.0, top_p=1.0, typical_p=1.0, min_p=0.0, epsilon_cutoff=0.0, eta_cutoff=0.0, top_h=0.0)
    if any(value(name, default) != default for name, default in others.items()):
        return None
    top_k = value("top_k", 50)
    return top_k if top_k > 0 else None


CALL_OVERHEAD = 32  # a forward call's cost, in padded positions


def padded_cost(groups: list[list[int]], lengths: Sequence[int]) -> int:
    """Positions a grouped layout runs: each group padded to its longest row, plus each call's overhead."""
    return sum(len(g) * max(lengths[r] for r in g) + CALL_OVERHEAD for g in groups)


def length_groups(lengths: Sequence[int], overhead: int = CALL_OVERHEAD) -> list[list[int]]:
    """Row indices cut into groups of similar length, to pad as little as possible.

    Rows are sorted by length and split where it pays: a group costs its padded size
    (count x longest) plus ``overhead`` tokens for the extra forward call. Exact, by dynamic
    programming over the sorted rows.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0.0] + [float("inf")] * n  # best[j]: cost of grouping the first j sorted rows
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        for i in range(j):
            cost = best[i] + (j - i) * longest + overhead
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[token]`` per row of ``[M, V]`` logits, in float32, without the full softmax."""
    logits = logits.float()
    return logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def row_sums(values: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` (one per selected position of ``[N, T]``, row-major) into their N rows."""
    rows = torch.arange(selected.shape[0], device=selected.device).unsqueeze(1).expand_as(selected)[selected]
    return torch.zeros(selected.shape[0], device=values.device, dtype=torch.float32).index_add(0, rows, values)
