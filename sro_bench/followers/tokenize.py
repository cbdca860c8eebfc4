"""The seed's text preprocessing and tokenizer, plus a fast equivalent used for screening.

The seed (the Jigsaw NB-SVM kernel) splits off punctuation with ``re_tok.sub(r' \\1 ', s).split()``.
That makes two regex passes and a split per text; :func:`fast_tokenize` finds the same tokens in one
``findall``: each punctuation character alone, or a maximal run of characters that are neither
whitespace nor punctuation. Both ``\\s`` in ``re`` and ``str.split()`` use Python's own whitespace
definition, which is what makes them agree (tests check every code point).
"""

from __future__ import annotations

import re
import string
import unicodedata

# The seed's pattern, verbatim. Pasted into a character class, ``string.punctuation`` loses its
# backslash (``[\]`` reads as an escaped ``]``), so the seed never splits on ``\``; ``,-.`` is a
# range of exactly those three. The set is therefore read back from the compiled pattern.
SEED_PATTERN = f"([{string.punctuation}“”¨«»®´·º½¾¿¡§£₤‘’])"
_seed_re = re.compile(SEED_PATTERN)
PUNCTUATION = "".join(c for c in string.punctuation + "“”¨«»®´·º½¾¿¡§£₤‘’\\" if _seed_re.fullmatch(c))

_P = "".join(re.escape(c) for c in PUNCTUATION)
FAST_PATTERN = f"[{_P}]|[^\\s{_P}]+"
_fast_findall = re.compile(FAST_PATTERN).findall


def seed_tokenize(text: str) -> list[str]:
    """The seed's tokenizer, kept as the reference for :func:`fast_tokenize`."""
    return _seed_re.sub(r" \1 ", text).split()


def fast_tokenize(text: str) -> list[str]:
    """Same tokens as :func:`seed_tokenize`, in one regex pass."""
    return _fast_findall(text)


def strip_accents(text: str) -> str:
    """scikit-learn's ``strip_accents='unicode'``: NFKD, then drop combining marks (ASCII untouched)."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def preprocess(text: str) -> str:
    """What ``TfidfVectorizer(lowercase=True, strip_accents='unicode')`` does before tokenizing."""
    return strip_accents(text.lower())


def analyse(text: str) -> list[str]:
    """Preprocess and tokenize one text (unigrams only)."""
    return _fast_findall(strip_accents(text.lower()))


# --- whole batches at once --------------------------------------------------------------------

SEPARATOR = "\n"
_batch_findall = re.compile(f"\n|{FAST_PATTERN}").findall


def preprocess_batch(texts: list[str]) -> str:
    """``preprocess`` of every text, joined by ``SEPARATOR`` (a newline inside a text becomes a space).

    One ``lower`` over the joined batch replaces a call per text. This is exact because a newline
    is whitespace to both analyzers and is neither cased nor case-ignorable, so the final-sigma rule
    of ``str.lower`` stops at it exactly as at the end of a string.
    """
    joined = SEPARATOR.join(texts)
    if joined.count(SEPARATOR) != len(texts) - 1:  # a newline inside a text is only whitespace
        joined = SEPARATOR.join(t.replace(SEPARATOR, " ") for t in texts)
    joined = joined.lower()
    if not joined.isascii():  # accents are stripped text by text, as rare as non-ASCII texts are
        joined = SEPARATOR.join([t if t.isascii() else strip_accents(t) for t in joined.split(SEPARATOR)])
    return joined


def analyse_batch(texts: list[str]) -> list[str]:
    """Every text's tokens in order, each text's followed by ``SEPARATOR``: ``analyse`` for a batch."""
    if not texts:
        return []
    return _batch_findall(preprocess_batch(texts) + SEPARATOR)
