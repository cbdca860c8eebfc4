"""Text measures shared by the metrics, the game's meter and rewards: one normalisation into tokens (STA's
character n-grams, FL's word LM), the words of a text, and what kind of edit a rewrite makes of its input (a
copy, a pure deletion, or one that adds a word). Model-free."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_NT = re.compile(r"\s+n['’`]t\b")
_CONTRACTION = re.compile(r"(\w)\s?['’`](t|s|m|re|ve|ll|d)\b")
_QUOTES = re.compile(r"['’`‘\"“”]")
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def tokens(text: str) -> list[str]:
    """Lowercased word and punctuation tokens, apostrophes and trailing punctuation removed.

    The Dale et al. training text is lowercased, tokenised and apostrophe-free (``dont``,
    ``mans``); references are cased with normal punctuation (``I'm``) and ParaDetox inputs split
    clitics (``don 't``). All three map to the same tokens here.
    """
    text = _NT.sub("n't", text.lower())
    text = _QUOTES.sub(" ", _CONTRACTION.sub(r"\1\2", text))
    out = _TOKEN.findall(text)
    # Trailing punctuation is optional in comments and chat; it must not decide fluency.
    while out and not out[-1].isalnum():
        out.pop()
    return out


def canonical(text: str) -> str:
    """:func:`tokens` joined by single spaces."""
    return " ".join(tokens(text))


_LETTERS = re.compile(r"[^\W\d_]+")  # runs of letters (any script)


def words(text: str) -> list[str]:
    """Whitespace tokens, lowercased, surrounding punctuation stripped; tokens without a letter dropped."""
    out = []
    for token in text.lower().split():
        start, end = 0, len(token)
        while start < end and not token[start].isalnum():
            start += 1
        while end > start and not token[end - 1].isalnum():
            end -= 1
        word = token[start:end]
        if _LETTERS.search(word):
            out.append(word)
    return out


def is_subsequence(short: Sequence[str], long: Sequence[str]) -> bool:
    """Whether ``short`` is ``long`` with some words left out (in order)."""
    rest = iter(long)
    return all(any(w == x for x in rest) for w in short)


def edit_words(text: str) -> list[str]:
    """The words compared by :func:`edit_flags`: :func:`sro_bench.util.text.tokens` (clitics joined and
    apostrophes dropped, so "don 't", "don't" and "dont" are one word) that have a letter."""
    return [t for t in tokens(text) if _LETTERS.search(t)]


def edit_flags(source: str, rewrite: str) -> tuple[bool, bool, bool]:
    """(identical, pure deletion, adds a word) for one rewrite, over :func:`edit_words`.

    A pure deletion leaves out at least one word of the source and adds none, in order; a rewrite adds a
    word when it has one the source does not. A rewrite that only reorders is neither. Spelling a
    contraction another way ("i 'm" -> "I'm" or "im") is no edit; expanding it ("i am") adds a word.
    """
    s, r = edit_words(source), edit_words(rewrite)
    identical = s == r
    return identical, not identical and is_subsequence(r, s), bool(set(r) - set(s))


EDIT_FIGURES = ("identical_rate", "deletion_rate", "addition_rate")


def edit_figures(inputs: Sequence[str], texts: Sequence[str]) -> dict:
    """Shares of rewrites identical to their input, pure deletions of it, and adding a word it lacks."""
    flags = np.array([edit_flags(x, t) for x, t in zip(inputs, texts)], dtype=np.float64).reshape(-1, 3)
    means = flags.mean(axis=0) if len(flags) else [float("nan")] * 3
    return dict(zip(EDIT_FIGURES, map(float, means)))
