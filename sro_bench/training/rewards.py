"""What the game can reward besides the follower's verdict: how much of its input a rewrite keeps.

A detoxifying rewrite should change as little as it must. The verdict alone cannot say that: deleting half
of a sentence passes as well as deleting one word. ``kept_share`` measures it from the two texts alone (no
reference, no word list, not the SIM judge's embedding), so an on-policy method may read it.
"""

from __future__ import annotations

from typing import Sequence

from ..util.text import words


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two word lists."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def kept_share(source: str, rewrite: str) -> float:
    """F1 of the words a rewrite keeps from its source, in order: 2 LCS / (|source| + |rewrite|).

    1.0 for a copy; a rewrite that deletes d of n words scores (2n - 2d) / (2n - d); inserted words
    cost too, so padding does not pay. 0.0 when either side has no words.
    """
    s, r = words(source), words(rewrite)
    if not s or not r:
        return 0.0
    return 2 * lcs_length(s, r) / (len(s) + len(r))


def kept_overlap(source: str, rewrite: str) -> float:
    """The words a rewrite keeps from its source, in order, over the longer of the two: LCS / max(|source|, |rewrite|).

    1.0 for a copy; deleting d of n words and substituting d of n words both score (n - d) / n, so a
    substitution is not charged more than a deletion (``kept_share`` charges it slightly more); inserted
    words cost. 0.0 when either side has no words.
    """
    s, r = words(source), words(rewrite)
    if not s or not r:
        return 0.0
    return lcs_length(s, r) / max(len(s), len(r))


KEPT_MEASURES = {"f1": kept_share, "overlap": kept_overlap}
