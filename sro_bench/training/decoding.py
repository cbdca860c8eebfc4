"""A leader's token budgets, and its greedy rewrites of an evaluation set under them (the game samples
under the same budgets while training)."""

from __future__ import annotations

import math
from typing import Sequence

from ..leaders.base import Leader
from .config import GameConfig


def token_budgets(leader: Leader, inputs: Sequence[str], config: GameConfig) -> int | list[int]:
    """New tokens allowed per input: ``max_new_tokens`` for all, or relative to each input's length.

    A fixed budget cuts long inputs, and a cut toxic comment often loses its toxic part: a pass
    the leader did not earn. A relative budget lets every rewrite say as much as its input.
    """
    if not config.length_budget:
        return config.max_new_tokens
    return [min(config.max_new_tokens, math.ceil(config.length_budget * n) + 2) for n in leader.input_lengths(inputs)]


def rewrite(leader: Leader, inputs: Sequence[str], config: GameConfig, follower=None) -> list[str]:
    """Greedy rewrites of ``inputs`` with a (trained) leader, under the game's token budgets; under
    ``decode="infill"`` the leader sees each input with the words ``follower`` objects to masked, as in
    its game."""
    leader.model.eval()
    inputs = list(inputs)
    conditions = inputs
    if config.decode == "infill":
        from ..followers.objections import masked_texts, objectionable_words

        if follower is None:
            raise ValueError("infill decoding needs the follower that chooses the masked words")
        conditions = masked_texts(inputs, objectionable_words(follower, inputs), leader.infill_token)
    with leader.autocast():
        return leader.generate(
            conditions, do_sample=False, max_new_tokens=token_budgets(leader, inputs, config),
            batch_size=config.eval_batch_size,
        )
