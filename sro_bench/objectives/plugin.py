"""Built-in objectives, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..plugins import table_hook
from .config import (DPOConfig, GRPOConfig, GRPOFluentConfig, GRPOKeepConfig, KTOConfig, ObjectiveConfig,
                     RobustSROConfig, SFTConfig, SROConfig)

# (name, module, factory in it, description, settings): the module is imported only when a run needs one
BUILTINS = (
    ('sro', 'sro_bench.objectives.sro', 'SRO',
     'Stackelberg Response Optimization (the paper): DPO vs the input on passes, unlikelihood on fails', SROConfig),
    ('sro-robust', 'sro_bench.objectives.sro', 'RobustSRO',
     "SRO with robust-DPO's unbiased correction for flipped verdicts (+ optional Dr. DPO)", RobustSROConfig),
    ('dpo', 'sro_bench.objectives.comparisons', 'DPO',
     'Offline DPO on ParaDetox pairs: chosen = human rewrite, rejected = toxic input [parallel data]', DPOConfig),
    ('sft', 'sro_bench.objectives.comparisons', 'SFT',
     'Supervised fine-tuning on ParaDetox pairs: cross-entropy of the human rewrite (the ceiling) [parallel data]',
     SFTConfig),
    ('kto', 'sro_bench.objectives.comparisons', 'KTO',
     "KTO's unpaired loss from the follower's binary verdicts on on-policy samples", KTOConfig),
    ('rs-sft', 'sro_bench.objectives.comparisons', 'RejectionSamplingSFT',
     'Rejection-sampling SFT: likelihood of on-policy samples that pass', ObjectiveConfig),
    ('bok', 'sro_bench.objectives.group', 'BestOfK',
     'Best-of-k pairs: DPO of passing vs failing samples of one input; SRO where all agree', SROConfig),
    ('grpo', 'sro_bench.objectives.group', 'GRPO',
     'GRPO: group-normalised pass/fail reward as advantage, k3 KL to the reference (k >= 2)', GRPOConfig),
    ('grpo-keep', 'sro_bench.objectives.group', 'GRPOKeep',
     'GRPO rewarding a pass by the share of the input it keeps: the least edit that passes wins (k >= 2)', GRPOKeepConfig),
    ('grpo-fluent', 'sro_bench.objectives.group', 'GRPOFluent',
     "grpo-keep with the reward also weighed by the reference leader's confidence in the sample, l_ref(y|y) (k >= 2)", GRPOFluentConfig),
)


register_objectives = table_hook(BUILTINS)
