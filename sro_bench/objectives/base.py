"""The objective interface: a loss over leader log-likelihoods and follower verdicts."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .config import ObjectiveConfig


@dataclass
class LossTerms:
    """Summed log-likelihoods for one batch of N (input x, target y) samples.

    ``policy_*`` carry gradients; ``ref_*`` come from the frozen reference. ``*_rejected`` score the
    toxic input x as its own target, l(x|x); they are None when the objective does not use them.
    ``fails`` is 1.0 where the (possibly flipped) verdict says y is toxic, 0.0 where it passes.
    Rows outside the objective's :meth:`Objective.rejected_rows` hold 0.0 on both rejected sides.
    ``group_size`` is k, the samples drawn per input: rows i*k .. i*k+k-1 are the samples of input i
    (N must be a multiple of k). ``chosen_lengths`` is the number of scored tokens of each y (float,
    shape [N]); None means 1 for every row (objectives then work on summed log-likelihoods).
    ``kept`` is the share of its input's words each y keeps, in order (by the objective's ``kept_measure``:
    :func:`sro_bench.training.rewards.kept_share` or :func:`~sro_bench.training.rewards.kept_overlap`, float in [0, 1],
    shape [N]); None where the game did not compute it (pairs).
    ``fluency`` is the frozen reference's token-mean log-likelihood of each y as its own target,
    l_ref(y|y) / |y| (shape [N]): a denoising leader's confidence that y needs no repair. None unless the
    objective asks for it (:attr:`Objective.uses_fluency`).
    """

    policy_chosen: torch.Tensor
    ref_chosen: torch.Tensor
    fails: torch.Tensor
    policy_rejected: torch.Tensor | None = None
    ref_rejected: torch.Tensor | None = None
    group_size: int = 1
    chosen_lengths: torch.Tensor | None = None
    kept: torch.Tensor | None = None
    fluency: torch.Tensor | None = None

    def __post_init__(self):
        n = self.policy_chosen.shape[0] if self.policy_chosen.dim() else 1
        check_group_size(n, self.group_size)
        if self.chosen_lengths is not None and tuple(self.chosen_lengths.shape) != (n,):
            raise ValueError(f"chosen_lengths must have shape ({n},), got {tuple(self.chosen_lengths.shape)}")
        for name in ("kept", "fluency"):
            value = getattr(self, name)
            if value is not None and tuple(value.shape) != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {tuple(value.shape)}")

    @property
    def lengths(self) -> torch.Tensor:
        """``chosen_lengths`` as a float tensor (ones where it is None), clamped to at least one token."""
        if self.chosen_lengths is None:
            return torch.ones_like(self.policy_chosen, dtype=torch.float32)
        return self.chosen_lengths.to(self.policy_chosen.device, torch.float32).clamp(min=1.0)


def check_group_size(n: int, group_size: int) -> int:
    """The number of groups of ``group_size`` contiguous rows in ``n``; ValueError unless k >= 1 divides n."""
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"group_size must be a positive integer, got {group_size!r}")
    if n % group_size:
        raise ValueError(f"group_size {group_size} does not divide the batch of {n} samples")
    return n // group_size


def grouped(values, group_size: int):
    """``values`` (a tensor or array of N rows) viewed as [N / k, k]: one row per input, its k samples."""
    n = len(values)
    return values.reshape(check_group_size(n, group_size), group_size)


class Objective(abc.ABC):
    """A training objective. The game supplies the samples; the objective only computes the loss."""

    name: str = "objective"
    #: "samples": on-policy leader samples screened by the follower; "pairs": (toxic, human rewrite) pairs.
    source: str = "samples"
    #: whether the game must compute l(x|x) for the rejected side.
    uses_rejected: bool = True
    #: whether the game must score l_ref(y|y) for every sample (``LossTerms.fluency``).
    uses_fluency: bool = False
    #: how the game measures ``LossTerms.kept`` (a key of :data:`sro_bench.training.rewards.KEPT_MEASURES`)
    kept_measure: str = "f1"
    #: the settings this objective takes (registered beside it: ``register(name, factory, description, config=...)``)
    config_class: type[ObjectiveConfig] = ObjectiveConfig
    #: the fewest samples per input (k) the objective works with; the game refuses a smaller k.
    min_group_size: int = 1

    def __init__(self, config: ObjectiveConfig | None = None):
        self.config = self.config_class() if config is None else config
        if not isinstance(self.config, self.config_class):
            raise TypeError(f"{type(self).__name__} takes a {self.config_class.__name__}, got {type(self.config).__name__}")
        #: the probability with which the game flips each verdict before the loss (SRO's own noise)
        self.p_flip = self.config.p_flip

    def rejected_rows(self, fails: np.ndarray, group_size: int = 1) -> np.ndarray:
        """Which samples' losses use l(x|x) (a bool mask over the verdicts); the game scores x only there.

        ``group_size`` is k as in :class:`LossTerms` (rows grouped contiguously per input); the game always
        passes it, so an override takes it too.
        """
        return np.full(len(fails), self.uses_rejected, dtype=bool)

    def loop(self, leader, config) -> str:
        """The training loop that plays this objective with ``leader`` under game ``config``: ``"game"`` (the
        harness's own) or another registered in :mod:`sro_bench.training.loops` (``"trl-dpo"``)."""
        return "game"

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
