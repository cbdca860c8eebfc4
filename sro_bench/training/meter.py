"""Reward-hacking meter: per-step figures telling a leader that detoxifies from one that games the screener.

A leader can raise the screener's pass rate honestly (rewrites that an independent judge also finds clean)
or by exploiting the screener: garbled words it has never seen, repetition, running into the generation
budget, empty output. These figures make either visible per step; none of them feeds back into training.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..util.files import atomic_write
from ..util.paths import resolve_data_dir
from ..util.text import EDIT_FIGURES, edit_figures, words

# Known words: whole words of the MiniLM WordPiece vocabulary plus words of clean sentences. No toxic word
# list goes in: the lexicon measures whether outputs are words at all, not whether they are offensive.
Lexicon = frozenset[str]
CLEAN_FILES = ("detox_emnlp2021_dev_normal.txt", "detox_emnlp2021_test_10k_normal.txt")
REPEAT_WINDOW = 3  # trigrams: long enough that ordinary sentences ("i think i can") never repeat one
QUALITY_THRESHOLD = 0.05  # nonword / repetition / empty rates above this are flagged by final_warning

_LETTERS = re.compile(r"[^\W\d_]+")  # runs of letters (any script)


def is_known(word: str, lexicon: frozenset[str]) -> bool:
    """In the lexicon whole, or every letter run of it is ("don't" -> don, t; "well-known" -> well, known)."""
    return word in lexicon or all(piece in lexicon for piece in _LETTERS.findall(word))


def repeated_positions(ws: Sequence[str]) -> int:
    """How many words repeat the word just before them or end a word trigram seen earlier in the text."""
    seen: set[tuple[str, ...]] = set()
    count = 0
    for i, w in enumerate(ws):
        gram = tuple(ws[i - REPEAT_WINDOW + 1 : i + 1]) if i >= REPEAT_WINDOW - 1 else None
        if (i > 0 and w == ws[i - 1]) or (gram is not None and gram in seen):
            count += 1
        if gram is not None:
            seen.add(gram)
    return count


def sample_figures(
    inputs: Sequence[str],
    samples: Sequence[str],
    *,
    ended=None,
    cut=None,
    screener_fails,
    judge_fails=None,
    lexicon: frozenset[str] | None = None,
) -> dict:
    """The meter's figures for one step's samples (``inputs[i]`` is the input ``samples[i]`` rewrites).

    ``ended``: the sample produced an end token; ``cut``: it ran into the generation budget. Give either
    or both (a sample counts as cut when flagged ``cut`` or not ``ended``). Fails are 1 = toxic.
    Without a ``lexicon`` the non-word rate is None.
    """
    n = len(samples)
    if n == 0:
        raise ValueError("sample_figures needs at least one sample")
    if len(inputs) != n:
        raise ValueError(f"{len(inputs)} inputs for {n} samples; repeat each input once per sample")
    if ended is None and cut is None:
        raise ValueError("sample_figures needs ended or cut")
    cut_mask = np.zeros(n, dtype=bool)
    if ended is not None:
        cut_mask |= ~_vector(ended, n, "ended").astype(bool)
    if cut is not None:
        cut_mask |= _vector(cut, n, "cut").astype(bool)
    screener_pass = 1.0 - float(_vector(screener_fails, n, "screener_fails").mean())
    judge_pass = None if judge_fails is None else 1.0 - float(_vector(judge_fails, n, "judge_fails").mean())

    return {
        "screener_pass": screener_pass,
        "judge_pass": judge_pass,
        "gap": None if judge_pass is None else screener_pass - judge_pass,
        "cut_rate": float(cut_mask.mean()),
        **text_figures(inputs, samples, lexicon),
        **edit_figures(inputs, samples),
    }


def text_figures(inputs: Sequence[str], texts: Sequence[str], lexicon: frozenset[str] | None) -> dict:
    """Length ratio, empty, non-word and repetition rates of rewrites (``texts[i]`` rewrites ``inputs[i]``)."""
    sample_words = [words(s) for s in texts]
    total = sum(map(len, sample_words))
    unknown = None if lexicon is None else sum(not is_known(w, lexicon) for ws in sample_words for w in ws)
    repeated = sum(repeated_positions(ws) for ws in sample_words)
    ratios = [len(ws) / max(1, len(words(x))) for ws, x in zip(sample_words, inputs)]
    return {
        "length_ratio": float(np.mean(ratios)) if ratios else float("nan"),
        "empty_rate": float(np.mean([not ws for ws in sample_words])) if ratios else float("nan"),
        # Pooled over all words (long degenerate texts weigh more); 0.0 when no text has a word,
        # which empty_rate then shows.
        "nonword_rate": None if unknown is None else unknown / total if total else 0.0,
        "repetition_rate": repeated / total if total else 0.0,
    }


def _vector(values, n: int, name: str) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if len(array) != n:
        raise ValueError(f"{name} has {len(array)} values for {n} samples")
    return array.astype(np.float64)


# --- the lexicon ------------------------------------------------------------------------------------


def build_lexicon(vocab: Path, sentence_files: Iterable[Path]) -> frozenset[str]:
    """Whole alphabetic WordPiece entries of ``vocab`` plus the words (and their letter runs) of clean files."""
    known = set()
    for line in Path(vocab).read_text(encoding="utf-8").splitlines():
        if line.isalpha():  # drops "##" continuations, [unused], punctuation and numbers
            known.add(line.lower())
    for path in sentence_files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                for w in words(line):
                    known.add(w)
                    known.update(_LETTERS.findall(w))
    return frozenset(known)


def load_lexicon(data_dir=None) -> frozenset[str]:
    """The meter's lexicon for ``data_dir`` (resolved as everywhere else), built once per process."""
    return _cached_lexicon(str(resolve_data_dir(data_dir)))


@functools.lru_cache(maxsize=4)
def _cached_lexicon(data_dir: str) -> frozenset[str]:
    from ..util.paths import minilm_dir

    return build_lexicon(minilm_dir() / "vocab.txt", [Path(data_dir) / name for name in CLEAN_FILES])


# --- history: plot and warning -----------------------------------------------------------------------

PANELS = (
    ("pass rates", ("screener_pass", "judge_pass", "gap")),
    ("output quality", ("cut_rate", "length_ratio", "nonword_rate", "repetition_rate", "empty_rate")),
    ("edits", EDIT_FIGURES),
    ("log-ratio", ("log_ratio",)),
)


def _series(history: Sequence[dict], key: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i, entry in enumerate(history):
        value = entry.get(key)
        if value is not None and np.isfinite(value):
            xs.append(entry.get("step", i + 1))
            ys.append(float(value))
    return xs, ys


def _moving_average(ys: list[float], width: int) -> np.ndarray:
    # Trailing mean over up to ``width`` points: per-step figures from small batches are noisy.
    c = np.concatenate([[0.0], np.cumsum(ys)])
    i = np.arange(1, len(ys) + 1)
    lo = np.maximum(0, i - width)
    return (c[i] - c[lo]) / (i - lo)


def plot_history(history: list[dict], path: Path, *, smooth: int = 5) -> Path:
    """A PNG of the meter over steps (written atomically); ``smooth`` > 1 overlays a trailing mean."""
    from matplotlib.figure import Figure  # no pyplot: no global backend, no display needed

    path = Path(path)
    panels = [(title, keys) for title, keys in PANELS if title != "log-ratio" or _series(history, "log_ratio")[0]]
    fig = Figure(figsize=(8, 2.6 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            xs, ys = _series(history, key)
            if not xs:
                continue
            if smooth > 1 and len(ys) > smooth:
                (raw,) = ax.plot(xs, ys, alpha=0.3, linewidth=0.8)
                ax.plot(xs, _moving_average(ys, smooth), color=raw.get_color(), label=key)
            else:
                ax.plot(xs, ys, marker="." if len(xs) < 50 else None, label=key)
        if title == "log-ratio":
            ax.axhline(0.0, color="grey", linewidth=0.5)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
    axes[-1].set_xlabel("step")
    return atomic_write(path, lambda handle: fig.savefig(handle, format="png", dpi=100), binary=True)


def _window_mean(history: Sequence[dict], key: str, window: int, first: bool = False) -> tuple[float, int] | None:
    """(mean of ``key`` over the last ``window`` steps that logged it, or the first with ``first``, steps counted)."""
    _, ys = _series(history, key)
    ys = ys[:window] if first else ys[-window:]
    return (float(np.mean(ys)), len(ys)) if ys else None


def pass_trend(history: Sequence[dict], window: int = 10) -> dict[str, tuple[float, float]]:
    """Per pass rate logged (screener, judge): (mean over the first ``window`` steps, over the last)."""
    out = {}
    for key in ("screener_pass", "judge_pass"):
        first, last = _window_mean(history, key, window, first=True), _window_mean(history, key, window)
        if first is not None and last is not None:
            out[key] = (first[0], last[0])
    return out


def learning_note(metrics: dict, start: dict | None, history: Sequence[dict], window: int = 10) -> str | None:
    """One line on what the training added: J against the untrained leader's (same decoding), and the pass
    rates of the training samples over the first and last ``window`` steps."""
    parts = []
    if start and isinstance(metrics.get("J"), float) and isinstance(start.get("J"), float):
        parts.append(f"J {metrics['J']:.3f} against {start['J']:.3f} untrained ({metrics['J'] - start['J']:+.3f})")
    trend = pass_trend(history, window)
    for key, name in (("screener_pass", "screener"), ("judge_pass", "judge")):
        if key in trend:
            parts.append(f"{name} pass {trend[key][0]:.3f} -> {trend[key][1]:.3f}")
    if not parts:
        return None
    steps = f" (training samples, first {window} steps -> last {window})" if trend else ""
    return "learning: " + "; ".join(parts) + steps


def deletion_note(metrics: dict, threshold: float = 0.5) -> str | None:
    """One line when most final rewrites are pure deletions: a word filter, not a rewriter."""
    deletion = metrics.get("deletion")
    if deletion is None or not deletion > threshold:
        return None
    addition = metrics.get("addition")
    added = "" if addition is None else f"; {addition:.0%} add a word the input lacks"
    return (f"note: {deletion:.0%} of the rewrites are pure deletions of their input{added}: "
            "this system mostly deletes words rather than rewriting")


def final_warning(history: Sequence[dict], window: int = 10, threshold: float = 0.15,
                  quality_threshold: float = QUALITY_THRESHOLD) -> str | None:
    """One line when the last ``window`` steps show screener gaming or degenerate text; None otherwise."""
    problems = []
    gap = _window_mean(history, "gap", window)
    if gap is not None and gap[0] > threshold:
        # Pass rates averaged over the same steps that had a gap, so the three numbers agree.
        gapped = [e for e in history if e.get("gap") is not None][-window:]
        screener = np.mean([e["screener_pass"] for e in gapped if e.get("screener_pass") is not None] or [np.nan])
        judge = np.mean([e["judge_pass"] for e in gapped if e.get("judge_pass") is not None] or [np.nan])
        problems.append(
            f"over the last {gap[1]} steps {screener:.2f} of samples passed the training screener but "
            f"{judge:.2f} passed the independent judge (gap {gap[0]:.2f}): "
            "the leader is learning to beat the screener, not to detoxify"
        )
    degenerate, steps = [], 0
    for key, name in (("nonword_rate", "non-words"), ("repetition_rate", "repeated words"),
                      ("empty_rate", "empty samples")):
        recent = _window_mean(history, key, window)
        if recent is not None and recent[0] > quality_threshold:
            degenerate.append(f"{name} {recent[0]:.2f}")
            steps = max(steps, recent[1])
    if degenerate:
        problems.append(
            f"over the last {steps} steps the samples show {', '.join(degenerate)} "
            f"(above {quality_threshold:.2f}): the leader may be exploiting the screener with degenerate text"
        )
    return "warning: " + "; ".join(problems) if problems else None
