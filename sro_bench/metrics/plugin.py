"""Built-in suite metrics, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..plugins import table_hook

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
)


register_metrics = table_hook(BUILTINS)
