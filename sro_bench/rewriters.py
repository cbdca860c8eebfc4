"""Training-free rewriters (baselines), registered through ``register_rewriters`` like any plugin's."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import UserError
from .hookspecs import hookimpl


@dataclass
class RewriterContext:
    """What a rewriter factory may use; ``follower()`` builds the training follower on demand."""

    follower: Callable[[], object]
    seed: int = 0


class Rewriter(abc.ABC):
    name: str = "rewriter"

    @abc.abstractmethod
    def rewrite(self, inputs: Sequence[str], references: Sequence[Sequence[str]] | None = None) -> list[str]:
        """One rewrite per input."""

    def describe(self) -> dict:
        return {"name": self.name}


class Duplicate(Rewriter):
    """The input unchanged: the lower bound on detoxification, the upper bound on similarity."""

    name = "duplicate"

    def rewrite(self, inputs, references=None):
        return list(inputs)


class Reference(Rewriter):
    """The first human reference: what a person wrote."""

    name = "reference"

    def rewrite(self, inputs, references=None):
        if not references or not all(references):
            raise UserError("the 'reference' rewriter needs an evaluation set with references")
        return [refs[0] for refs in references]


class Delete(Rewriter):
    """Drop every word the follower's naive-Bayes weights mark toxic."""

    name = "delete"

    def __init__(self, context: RewriterContext):
        follower = context.follower()
        vocabulary = follower.toxic_vocabulary()
        if vocabulary is None:
            raise UserError(f"the 'delete' rewriter needs a follower with word weights (got {type(follower).__name__})")
        self.toxic = frozenset(vocabulary)

    def rewrite(self, inputs, references=None):
        return [" ".join(w for w in text.split() if w.lower().strip(".,!?;:'\"") not in self.toxic) for text in inputs]

    def describe(self) -> dict:
        return {"name": self.name, "toxic_words": len(self.toxic)}


@hookimpl
def register_rewriters(register):
    register("duplicate", lambda context: Duplicate(), "Training-free: the input unchanged")
    register("delete", Delete, "Training-free: drop the words the follower's NB weights mark toxic")
    register("reference", lambda context: Reference(), "Training-free: the first human reference (needs references)")
