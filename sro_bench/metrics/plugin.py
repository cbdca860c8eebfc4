"""Built-in suite metrics, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import table_hook
from .judge_sets import BUILTIN_SETS

# (name, module, factory in it, description): the module is imported only when a run needs one
BUILTINS = (
    ('sta', 'sro_bench.metrics.calibration', 'sta_factory',
     'Non-toxic, as people judge it: a char-n-gram judge (not the follower) and sentiment, calibrated on people'),
    ('sim', 'sro_bench.metrics.calibration', 'sim_factory',
     'Meaning kept, as people judge it: MiniLM cosine, praise put in, negations flipped; calibrated on people'),
    ('fl', 'sro_bench.metrics.calibration', 'fl_factory',
     'Fluency, as people judge it: trigram-LM evidence, repeats, a clean-vs-damaged classifier; calibrated'),
    ('bleu', 'sro_bench.metrics.overlap', 'bleu_factory',
     'sacrebleu corpus BLEU against the human references (1-3 per row)'),
    ('chrf', 'sro_bench.metrics.overlap', 'chrf_factory',
     'sacrebleu corpus chrF against the human references, plus sentence chrF for J_chrF'),
    ('self-bleu', 'sro_bench.metrics.overlap', 'self_bleu_factory',
     'sacrebleu corpus BLEU of the rewrites against the inputs (copying)'),
    ('edits', 'sro_bench.metrics.edits', 'edits_factory',
     'Kinds of edit: shares of rewrites identical to the input, pure deletions of it, and adding a word'),
    # the published judges (judge sets paradetox-2022 and pan-2024); models from the hub cache or --*-model
    ('paradetox-sta', 'sro_bench.metrics.published', 'paradetox_sta_factory',
     'paradetox-2022 STA: s-nlp/roberta_toxicity_classifier, argmax is neutral'),
    ('paradetox-fl', 'sro_bench.metrics.published', 'paradetox_fl_factory',
     'paradetox-2022 FL: cointegrated/roberta-large-cola-krishna2020, argmax is acceptable, after detokenising'),
    ('pan-sta', 'sro_bench.metrics.published', 'pan_sta_factory',
     'pan-2024 STA: P(neutral) from textdetox/xlmr-large-toxicity-classifier'),
    ('labse-sim', 'sro_bench.metrics.published', 'labse_sim_factory',
     'pan-2024 SIM: LaBSE cosine of input and rewrite'),
)


register_metrics = table_hook(BUILTINS)


@hookimpl
def register_judge_sets(register):
    for judges in BUILTIN_SETS:
        register(judges.name, lambda judges=judges: judges, judges.description)
