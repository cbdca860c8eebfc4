"""Built-in objectives, registered through the same hook a third-party plugin would use."""

from ..hookspecs import hookimpl
from .comparisons import DPO, KTO, RejectionSamplingSFT
from .group import GRPO, BestOfK, GRPOFluent, GRPOKeep
from .sro import SRO, RobustSRO


@hookimpl
def register_objectives(register):
    register("sro", SRO, "Stackelberg Response Optimization (the paper): DPO vs the input on passes, unlikelihood on fails")
    register("sro-robust", RobustSRO, "SRO with robust-DPO's unbiased correction for flipped verdicts (+ optional Dr. DPO)")
    register("dpo", DPO, "Offline DPO on ParaDetox pairs: chosen = human rewrite, rejected = toxic input")
    register("kto", KTO, "KTO's unpaired loss from the follower's binary verdicts on on-policy samples")
    register("rs-sft", RejectionSamplingSFT, "Rejection-sampling SFT: likelihood of on-policy samples that pass")
    register("bok", BestOfK, "Best-of-k pairs: DPO of passing vs failing samples of one input; SRO where all agree")
    register("grpo", GRPO, "GRPO: group-normalised pass/fail reward as advantage, k3 KL to the reference (k >= 2)")
    register("grpo-keep", GRPOKeep, "GRPO rewarding a pass by the share of the input it keeps: the least edit that passes wins (k >= 2)")
    register("grpo-fluent", GRPOFluent, "grpo-keep with the reward also weighed by the reference leader's confidence in the sample, l_ref(y|y) (k >= 2)")
