"""The built-in training-free rewriters: the input, the first reference, deletion and infilling."""

from __future__ import annotations

from ..errors import UserError
from .base import Rewriter, RewriterContext


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


class Infill(Rewriter):
    """Mask the words the follower objects to (leave-one-out on its scores) and let the leader fill the gaps:
    ``delete``'s knowledge of what is toxic, with the prepared leader's infilling in place of a gap."""

    name = "infill"

    def __init__(self, context: RewriterContext):
        if context.leader is None or context.rewrite is None:
            raise UserError("the 'infill' rewriter needs a leader (run it through `sro-bench run`)")
        self.follower, self.leader, self._rewrite = context.follower(), context.leader(), context.rewrite
        self.masked: list = []  # the words masked in each input, once rewrite has run
        if self.leader.infill_token is None:
            raise UserError(f"the 'infill' rewriter needs a leader with an infill token; "
                            f"{type(self.leader).__name__} has none (the default minilm leader has)")

    def rewrite(self, inputs, references=None):
        from ..followers.objections import masked_texts, objectionable_words

        inputs = list(inputs)
        self.masked = objectionable_words(self.follower, inputs)
        return self._rewrite(self.leader, masked_texts(inputs, self.masked, self.leader.infill_token))

    def describe(self) -> dict:
        return {"name": self.name, "leader": self.leader.describe(), "follower_queried": True,
                "masked_rows": sum(bool(m) for m in self.masked), "masked_words": sum(len(m) for m in self.masked)}
