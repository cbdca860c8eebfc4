"""The damage check: break a good rewrite in one small way and see whether each judge notices.

Each kind of damage is applied to the dev split's human references (one per input, the rows where the
damage applies), and a judge *notices* a row when its score for the damaged reference is strictly lower
than for the reference as written. The input is the reference's own toxic input, as in a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..util.text import tokens

# function words: dropping one of them is not "a dropped content word"
FUNCTION_WORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been am do does did have has had "
    "i you he she it we they me him her us them my your his its our their this that these those there here not no "
    "so very just too also then than what which who whom whose when where why how all any some can could will "
    "would should shall may might must s t d ll re ve m".split())


def _words(text: str) -> list[str]:
    return text.split()


def double_word(text, rng):
    w = _words(text)
    i = int(rng.integers(len(w)))
    return " ".join(w[:i + 1] + [w[i]] + w[i + 1:])


def swap_adjacent(text, rng):
    w = _words(text)
    pairs = [i for i in range(len(w) - 1) if w[i].lower() != w[i + 1].lower()]
    if not pairs:
        return None
    i = pairs[int(rng.integers(len(pairs)))]
    w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(w)


def drop_content_word(text, rng):
    w = _words(text)
    content = [i for i, word in enumerate(w) if (t := tokens(word)) and t[0].isalpha() and t[0] not in FUNCTION_WORDS]
    if len(w) < 3 or not content:
        return None
    i = content[int(rng.integers(len(content)))]
    return " ".join(w[:i] + w[i + 1:])


def replace_word(text, rng, vocabulary):
    w = _words(text)
    i = int(rng.integers(len(w)))
    new = vocabulary[int(rng.integers(len(vocabulary)))]
    if new.lower() == w[i].lower():
        return None
    return " ".join(w[:i] + [new] + w[i + 1:])


def cut_tail(text, rng, share=0.4):
    w = _words(text)
    keep = len(w) - int(round(share * len(w)))
    if len(w) < 3 or keep >= len(w):
        return None
    return " ".join(w[:keep])


def damages(vocabulary: list[str]) -> dict[str, Callable]:
    return {"doubled word": double_word, "swapped adjacent words": swap_adjacent,
            "dropped content word": drop_content_word,
            "random word in place of a word": lambda t, rng: replace_word(t, rng, vocabulary),
            "last 40% cut": cut_tail}


def damage_check(data_dir: str | Path | None = None, cache_dir: str | Path | None = None, *, seed: int = 0,
                 limit: int | None = None, suite=None) -> dict:
    """For each kind of damage, the share of rows on which STA, SIM, FL and J fall (strictly)."""
    from ..util.paths import resolve_data_dir
    from .base import MetricContext
    from .devsplit import splits
    from .suite import Suite

    data_dir = Path(resolve_data_dir(data_dir)).resolve()
    train, dev = splits(data_dir)
    inputs, refs = list(dev.inputs), [rs[0] for rs in dev.references]
    if limit:
        inputs, refs = inputs[:limit], refs[:limit]
    # replacement words come from the *train* split's references, never the dev split's
    vocabulary = sorted({w for rs in train.references for r in rs for w in r.split() if w.isalpha()})
    suite = suite or Suite(MetricContext(data_dir=data_dir, cache_dir=cache_dir), ["sta", "sim", "fl"])
    clean = suite.score(inputs, refs).sentence
    out = {"n_references": len(refs), "text": "dev-split human references (the first of each row)",
           "seed": seed, "damages": {}}
    for k, (name, damage) in enumerate(damages(vocabulary).items()):
        rng = np.random.default_rng([seed, k])
        damaged = [damage(r, rng) if len(r.split()) >= 2 else None for r in refs]
        rows = [i for i, d in enumerate(damaged) if d is not None and d != refs[i]]
        scored = suite.score([inputs[i] for i in rows], [damaged[i] for i in rows]).sentence
        entry = {"rows": len(rows)}
        for figure in ("STA", "SIM", "FL", "J"):
            if figure in scored:
                entry[figure] = round(float(np.mean(scored[figure] < clean[figure][rows])), 4)
        entry["example"] = {"reference": refs[rows[0]], "damaged": damaged[rows[0]]} if rows else None
        out["damages"][name] = entry
    return out
