"""Built-in suite metrics, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .base import MetricContext


def _sta(context: MetricContext):
    from .sta import sta_factory

    return sta_factory(context)


def _sim(context: MetricContext):
    from .sim import sim_factory

    return sim_factory(context)


def _fl(context: MetricContext):
    from .fl import fl_factory

    return fl_factory(context)


def _bleu(context: MetricContext):
    from .overlap import bleu_factory

    return bleu_factory(context)


def _chrf(context: MetricContext):
    from .overlap import chrf_factory

    return chrf_factory(context)


def _self_bleu(context: MetricContext):
    from .overlap import self_bleu_factory

    return self_bleu_factory(context)


@hookimpl
def register_metrics(register):
    register("sta", _sta, "Style transfer accuracy: a char-n-gram judge (not the follower) finds the rewrite non-toxic")
    register("sim", _sim, "Meaning kept: cosine of all-MiniLM-L6-v2 embeddings of input and rewrite, clipped to [0, 1]")
    register("fl", _fl, "Fluency in [0, 1]: a clean-vs-scrambled classifier over trigram-LM and MiniLM features")
    register("bleu", _bleu, "sacrebleu corpus BLEU against the human references (1-3 per row)")
    register("chrf", _chrf, "sacrebleu corpus chrF against the human references, plus sentence chrF for J_chrF")
    register("self-bleu", _self_bleu, "sacrebleu corpus BLEU of the rewrites against the inputs (copying)")
