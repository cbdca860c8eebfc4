"""What a follower objects to in a text: the words whose removal lowers its P(toxic) most, found by
leave-one-out queries. The follower stays a black box (its scores, never its weights or a word list), so
any follower works, perturbed ones included.

Masking those words and letting the leader fill the gaps is the ``infill`` rewriter, and the game's
follower-guided exploration (``--guided-samples``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

MAX_SHARE = 1 / 3  # never more than a third of a text's words (at least one)


def objectionable_words(follower, texts: Sequence[str], max_share: float = MAX_SHARE) -> list[frozenset[int]]:
    """Per text, the indices (in ``text.split()``) of the words to mask: greedily, the word whose removal
    lowers P(toxic) most, until the rest passes or the share is spent. A text that passes keeps every word."""
    words = [text.split() for text in texts]
    masked: list[set[int]] = [set() for _ in texts]
    budgets = [max(1, int(len(w) * max_share)) if w else 0 for w in words]
    active = list(range(len(texts)))
    while active:
        current = [" ".join(w for j, w in enumerate(words[i]) if j not in masked[i]) for i in active]
        fails = np.asarray(follower.verdicts(current)).astype(bool)
        active = [i for i, fail in zip(active, fails) if fail and len(masked[i]) < budgets[i]]
        candidates, owners = [], []
        for i in active:
            for j in range(len(words[i])):
                if j not in masked[i]:
                    candidates.append(" ".join(w for k, w in enumerate(words[i]) if k != j and k not in masked[i]))
                    owners.append((i, j))
        if not candidates:
            break
        scores = np.asarray(follower.predict_proba(candidates), dtype=np.float64)
        best: dict[int, tuple[float, int]] = {}
        for (i, j), score in zip(owners, scores):
            if i not in best or score < best[i][0]:
                best[i] = (score, j)
        for i, (_, j) in best.items():
            masked[i].add(j)
    return [frozenset(m) for m in masked]


def masked_texts(texts: Sequence[str], objectionable: Sequence[frozenset[int]], token: str) -> list[str]:
    """``texts`` with each run of objectionable words replaced by one ``token`` (a span to fill)."""
    out = []
    for text, masked in zip(texts, objectionable):
        kept: list[str] = []
        for j, word in enumerate(text.split()):
            if j not in masked:
                kept.append(word)
            elif not kept or kept[-1] != token or (j - 1) not in masked:
                kept.append(token)
        out.append(" ".join(kept))
    return out
