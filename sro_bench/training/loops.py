"""Training loops: the game (sro_bench.training.game) and trl's DPOTrainer (sro_bench.training.trl_dpo), one contract.

The objective names the loop that plays it (:meth:`Objective.loop`); the runner builds it here and
drives it through :class:`Loop` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import UserError

if TYPE_CHECKING:
    from .game import OnStep

LOOPS = ("game", "trl-dpo")


@runtime_checkable
class Loop(Protocol):
    """What the runner needs of a training loop."""

    step: int  # updates done so far (after a resume, where it restarts)
    rank: int  # this process's index (0 records, rewrites and scores)

    @property
    def total_steps(self) -> int: ...

    def load_checkpoint(self, path: Path) -> bool:
        """Continue from the checkpoint at ``path`` (a run directory's ``checkpoint``); True when one was loaded."""

    def play(self, checkpoint_dir: Path | None = None, on_step: OnStep | None = None,
             stop_after: int | None = None):
        """Train to ``total_steps`` (or ``stop_after``), checkpointing to ``checkpoint_dir``; a GameResult."""


def build_loop(objective, leader, data, config, seed: int, *, follower=None, judge=None, lexicon=None) -> Loop:
    """The loop ``objective`` asks for, built for ``leader`` and the training ``data``."""
    kind = objective.loop(leader, config)
    if kind == "game":
        from .game import Game

        return Game(leader, follower, objective, data, config, seed=seed, judge=judge, lexicon=lexicon)
    if kind == "trl-dpo":
        from ..leaders.hf import HFLeader
        from .trl_dpo import TrlDPOGame

        if not isinstance(leader, HFLeader):  # trl trains a transformers model in the leader's own layout
            raise UserError(f"the trl DPO loop needs a Hugging Face leader (sro_bench HFLeader); "
                            f"{type(leader).__name__} is not one: use --dpo-backend game")
        return TrlDPOGame(leader, objective.config, data, config, seed)
    raise UserError(f"objective {objective.name!r} asks for an unknown training loop {kind!r} (known: {', '.join(LOOPS)})")
