"""Built-in suite metrics, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..plugins import table_hook

# (name, module, factory in it, description): the module is imported only when a run needs one
BUILTINS = (
    ('sta', 'sro_bench.metrics.sta', 'sta_factory',
     'Style transfer accuracy: a char-n-gram judge (not the follower) finds the rewrite non-toxic'),
    ('sim', 'sro_bench.metrics.sim', 'sim_factory',
     'Meaning kept: cosine of all-MiniLM-L6-v2 embeddings of input and rewrite, clipped to [0, 1]'),
    ('fl', 'sro_bench.metrics.fl', 'fl_factory',
     'Fluency in [0, 1]: a clean-vs-scrambled classifier over trigram-LM and MiniLM features'),
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
