"""The objective interface: a loss over leader log-likelihoods and follower verdicts."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class LossTerms:
    """Summed log-likelihoods for one batch of N (input x, target y) samples.

    ``policy_*`` carry gradients; ``ref_*`` come from the frozen reference. ``*_rejected`` score the
    toxic input x as its own target, l(x|x); they are None when the objective does not use them.
    ``fails`` is 1.0 where the (possibly flipped) verdict says y is toxic, 0.0 where it passes.
    Rows outside the objective's :meth:`Objective.rejected_rows` hold 0.0 on both rejected sides.
    """

    policy_chosen: torch.Tensor
    ref_chosen: torch.Tensor
    fails: torch.Tensor
    policy_rejected: torch.Tensor | None = None
    ref_rejected: torch.Tensor | None = None


class Objective(abc.ABC):
    """A training objective. The game supplies the samples; the objective only computes the loss."""

    name: str = "objective"
    #: "samples": on-policy leader samples screened by the follower; "pairs": (toxic, human rewrite) pairs.
    source: str = "samples"
    #: whether the game must compute l(x|x) for the rejected side.
    uses_rejected: bool = True
    #: probability with which the game flips each verdict before the loss (SRO's own noise).
    p_flip: float = 0.0

    def rejected_rows(self, fails: np.ndarray) -> np.ndarray:
        """Which samples' losses use l(x|x) (a bool mask over the verdicts); the game scores x only there."""
        return np.full(len(fails), self.uses_rejected, dtype=bool)

    def trainer(self, leader, data, config, seed: int):
        """Something that plays this objective instead of the game's own loop (the ``Game`` interface:
        ``total_steps``, ``step``, ``rank``, ``load_checkpoint``, ``play``), or None to use the game."""
        return None

    @abc.abstractmethod
    def loss(self, terms: LossTerms) -> tuple[torch.Tensor, dict[str, float]]:
        """The scalar loss to minimise, and figures to log (floats)."""

    def describe(self) -> dict:
        return {"name": self.name, "source": self.source, "p_flip": self.p_flip}


def smoothed_sigmoid_loss(h: torch.Tensor, beta: float, eps: float) -> torch.Tensor:
    """L(h) = -(1 - eps) log sigmoid(beta h) - eps log sigmoid(-beta h), elementwise (conservative DPO)."""
    return -(1 - eps) * F.logsigmoid(beta * h) - eps * F.logsigmoid(-beta * h)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` is 1; NaN where the mask is empty (logged, never optimised)."""
    count = mask.sum()
    return (values * mask).sum() / count if count > 0 else values.new_tensor(float("nan"))
