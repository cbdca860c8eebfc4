"""A word trigram language model with interpolated Kneser-Ney smoothing, stored as sorted numpy
arrays so that loading is a file read and scoring is a few vectorised binary searches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

UNK, BOS, EOS = "<unk>", "<s>", "</s>"


def _discount(counts: np.ndarray) -> float:
    """The Ney et al. absolute discount n1 / (n1 + 2 n2), kept inside (0, 1)."""
    n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
    if n1 == 0:
        return 0.5
    return float(min(max(n1 / (n1 + 2 * n2), 0.05), 0.95))


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``values`` at ``query``'s positions in sorted ``keys``; 0 where a query key is absent."""
    if len(keys) == 0:
        return np.zeros(len(query), dtype=values.dtype)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[pos] == query, values[pos], 0)


@dataclass
class TokenScores:
    """Per predicted position (every word and the end of sentence), flattened over sentences."""

    logp: np.ndarray  # log P_KN(w | two previous words)
    logp_unigram: np.ndarray  # log of the add-one unigram frequency (the SLOR baseline)
    seen_trigram: np.ndarray  # bool
    seen_bigram: np.ndarray  # bool
    offsets: np.ndarray  # sentence i owns positions offsets[i]:offsets[i+1]


class TrigramLM:
    """Interpolated Kneser-Ney trigram model over a closed vocabulary (rare words become ``<unk>``)."""

    ARRAYS = ("tri_keys", "tri_counts", "ctx_keys", "ctx_total", "ctx_types", "big_keys",
              "big_cont", "hist_total", "hist_types", "uni_cont", "uni_count", "discounts")

    def __init__(self, vocab: Sequence[str], arrays: dict[str, np.ndarray]):
        self.vocab = list(vocab)
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.V = len(self.vocab)
        self.arrays = {k: arrays[k] for k in self.ARRAYS}
        a = self.arrays
        self._d3, self._d2 = float(a["discounts"][0]), float(a["discounts"][1])
        self._p_cont = a["uni_cont"] / max(a["uni_cont"].sum(), 1)
        # a sliver of uniform mass so that no word has probability zero
        self._p1 = 0.999 * self._p_cont + 0.001 / self.V
        self._p_uni = (a["uni_count"] + 1.0) / (a["uni_count"].sum() + self.V)

    @classmethod
    def train(cls, sentences: Sequence[Sequence[str]], min_count: int = 2) -> "TrigramLM":
        counts = Counter(w for s in sentences for w in s)
        vocab = [UNK, BOS, EOS] + sorted(w for w, c in counts.items() if c >= min_count and w not in (UNK, BOS, EOS))
        index = {w: i for i, w in enumerate(vocab)}
        V = len(vocab)
        if V ** 3 >= 2 ** 63:
            raise ValueError(f"vocabulary of {V} words is too large for int64 trigram keys")
        a, b, c, _ = cls._positions(index, sentences)
        tri_keys, tri_counts = np.unique((a * V + b) * V + c, return_counts=True)
        ctx_all = tri_keys // V  # sorted, since tri_keys is
        ctx_keys, starts = np.unique(ctx_all, return_index=True)
        ctx_total = np.add.reduceat(tri_counts, starts) if len(starts) else np.zeros(0, np.int64)
        ctx_types = np.diff(np.append(starts, len(tri_keys)))
        # continuation counts: how many distinct left words each bigram follows
        big_keys, big_cont = np.unique(tri_keys % (V * V), return_counts=True)
        hist = big_keys // V
        arrays = {
            "tri_keys": tri_keys,
            "tri_counts": tri_counts.astype(np.int32),
            "ctx_keys": ctx_keys,
            "ctx_total": ctx_total.astype(np.int32),
            "ctx_types": ctx_types.astype(np.int32),
            "big_keys": big_keys,
            "big_cont": big_cont.astype(np.int32),
            "hist_total": np.bincount(hist, weights=big_cont, minlength=V).astype(np.int32),
            "hist_types": np.bincount(hist, minlength=V).astype(np.int32),
            "uni_cont": np.bincount(big_keys % V, minlength=V).astype(np.int32),
            "uni_count": np.bincount(c, minlength=V).astype(np.int32),
            "discounts": np.array([_discount(tri_counts), _discount(big_cont)], dtype=np.float64),
        }
        return cls(vocab, arrays)

    @staticmethod
    def _positions(index: dict[str, int], sentences: Sequence[Sequence[str]]):
        """(w[-2], w[-1], w) id arrays for every predicted position, and sentence offsets."""
        unk, bos, eos = index[UNK], index[BOS], index[EOS]
        flat: list[int] = []
        offsets = [0]
        for sent in sentences:
            flat += [bos, bos] + [index.get(w, unk) for w in sent] + [eos]
            offsets.append(offsets[-1] + len(sent) + 1)
        ids = np.asarray(flat, dtype=np.int64)
        # positions 0 and 1 of each padded sentence are the <s> pads, never predicted
        starts = np.asarray(offsets[:-1], dtype=np.int64) + 2 * np.arange(len(sentences), dtype=np.int64)
        lengths = np.diff(np.asarray(offsets, dtype=np.int64))
        pred = np.repeat(starts + 2, lengths) + (np.arange(int(lengths.sum())) - np.repeat(offsets[:-1], lengths))
        return ids[pred - 2], ids[pred - 1], ids[pred], np.asarray(offsets, dtype=np.int64)

    def score_tokens(self, sentences: Sequence[Sequence[str]]) -> TokenScores:
        a_, b, c, offsets = self._positions(self.index, sentences)
        A, V = self.arrays, self.V
        p1 = self._p1[c]
        n2 = _lookup(A["big_keys"], A["big_cont"], b * V + c)
        hist_total, hist_types = A["hist_total"][b], A["hist_types"][b]
        p2 = np.where(hist_total > 0,
                      (np.maximum(n2 - self._d2, 0) + self._d2 * hist_types * p1) / np.maximum(hist_total, 1), p1)
        ctx = a_ * V + b
        ctx_total = _lookup(A["ctx_keys"], A["ctx_total"], ctx)
        ctx_types = _lookup(A["ctx_keys"], A["ctx_types"], ctx)
        n3 = _lookup(A["tri_keys"], A["tri_counts"], ctx * V + c)
        p3 = np.where(ctx_total > 0,
                      (np.maximum(n3 - self._d3, 0) + self._d3 * ctx_types * p2) / np.maximum(ctx_total, 1), p2)
        return TokenScores(np.log(p3), np.log(self._p_uni[c]), n3 > 0, n2 > 0, offsets)

    # -- storage: everything is arrays; the vocabulary is newline-joined UTF-8 bytes

    def to_arrays(self, prefix: str = "lm.") -> dict[str, np.ndarray]:
        out = {prefix + k: v for k, v in self.arrays.items()}
        out[prefix + "vocab"] = np.frombuffer("\n".join(self.vocab).encode("utf-8"), dtype=np.uint8).copy()
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "lm.") -> "TrigramLM":
        vocab = bytes(arrays[prefix + "vocab"]).decode("utf-8").split("\n")
        return cls(vocab, {k: arrays[prefix + k] for k in cls.ARRAYS})
