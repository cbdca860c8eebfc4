"""The rewriter contract: a training-free method (a baseline) turns inputs into rewrites in one call."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable, Sequence

from ..context import Context


@dataclass(frozen=True)
class RewriterContext(Context):
    """What a rewriter factory may use: the run's :class:`~sro_bench.context.Context`; ``follower()`` and
    ``leader()`` build the run's training follower and its (untrained) leader on demand; ``rewrite(leader,
    texts)`` is the harness's greedy rewriting under the run's token budgets."""

    follower: Callable[[], object] | None = None
    leader: Callable[[], object] | None = None
    rewrite: Callable[[object, Sequence[str]], list[str]] | None = None


class Rewriter(abc.ABC):
    name: str = "rewriter"

    @abc.abstractmethod
    def rewrite(self, inputs: Sequence[str], references: Sequence[Sequence[str]] | None = None) -> list[str]:
        """One rewrite per input."""

    def describe(self) -> dict:
        return {"name": self.name}
