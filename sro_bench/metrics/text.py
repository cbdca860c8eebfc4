"""One text normalisation for the metrics' own models (STA's character n-grams, FL's word LM)."""

from __future__ import annotations

import re

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
