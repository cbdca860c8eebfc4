"""BLEU, chrF and self-BLEU with sacrebleu, multi-reference, plus sentence-level chrF for J_chrF."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import UserError
from .base import Metric, MetricContext, MetricResult


def reference_streams(references: Sequence[Sequence[str]], n: int) -> list[list[str | None]]:
    """sacrebleu's layout: one stream per reference slot. Rows with fewer references are padded
    with ``None``, which sacrebleu drops (an empty string would count as a real reference)."""
    if len(references) != n:
        raise UserError(f"{len(references)} reference rows for {n} rewrites")
    width = max((len(refs) for refs in references), default=0)
    for i, refs in enumerate(references):
        if not refs or any(not isinstance(r, str) for r in refs):
            raise UserError(f"row {i + 1} has no reference (every row needs 1 or more strings)")
    return [[refs[k] if k < len(refs) else None for refs in references] for k in range(width)]


def _bleu():
    from sacrebleu.metrics import BLEU

    return BLEU(force=True)  # force only silences the "tokenised period" warning; scores are unchanged


def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, str]:
    """(BLEU 0..100, sacrebleu signature) against 1+ references per row."""
    bleu = _bleu()
    score = bleu.corpus_score(list(hypotheses), reference_streams(references, len(hypotheses)))
    return float(score.score), bleu.get_signature().format()


def chrf_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> tuple[float, np.ndarray, str]:
    """(corpus chrF 0..100, sentence chrF 0..1 per row, signature) from one statistics pass.

    Each sentence keeps its best-matching reference's statistics, as sacrebleu does for both
    sentence and corpus scores."""
    chrf = _chrf()
    hyps, streams = list(hypotheses), reference_streams(references, len(hypotheses))
    try:
        stats = chrf._extract_corpus_statistics(hyps, streams)
        corpus = float(chrf._aggregate_and_compute(stats).score)
        sentence = np.array([chrf._compute_score_from_stats(s).score for s in stats], dtype=np.float64)
    except AttributeError:  # a sacrebleu without these internals: the public, slower route
        corpus = float(chrf.corpus_score(hyps, streams).score)
        sentence = np.array([chrf.sentence_score(h, list(r)).score for h, r in zip(hyps, references)])
    return corpus, sentence / 100.0, chrf.get_signature().format()


class BleuMetric(Metric):
    figures = {"bleu": {"format": ".1f"}}  # sacrebleu's 0-100 scale
    name, needs_references = "bleu", True

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        value, signature = corpus_bleu(rewrites, references)
        return MetricResult({}, {"bleu": value},
                            {"tool": "sacrebleu", "signature": signature, "against": "human references"})


class ChrfMetric(Metric):
    figures = {"chrf": {"format": ".1f"}}  # sacrebleu's 0-100 scale
    name, needs_references = "chrf", True

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        corpus, sentence, signature = chrf_scores(rewrites, references)
        return MetricResult({"chrf": sentence}, {"chrf": corpus}, {
            "tool": "sacrebleu", "signature": signature, "against": "human references",
            "sentence": "sentence chrF / 100 against the best-matching reference (for J_chrF)"})


class SelfBleuMetric(Metric):
    figures = {"self_bleu": {"format": ".1f"}}  # sacrebleu's 0-100 scale
    name = "self-bleu"

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        value, signature = corpus_bleu(rewrites, [[x] for x in inputs])
        return MetricResult({}, {"self_bleu": value}, {
            "tool": "sacrebleu", "signature": signature, "against": "the inputs (how much was copied)"})


def bleu_factory(context: MetricContext) -> BleuMetric:
    return BleuMetric()


def chrf_factory(context: MetricContext) -> ChrfMetric:
    return ChrfMetric()


def self_bleu_factory(context: MetricContext) -> SelfBleuMetric:
    return SelfBleuMetric()
