"""The leader interface: the only surface the game, the rewrite command and the benchmarks use."""

from __future__ import annotations

import abc
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import torch



#: New tokens a leader generates when its caller gives no budget (the paper's 20). Runs always give one.
DEFAULT_MAX_NEW_TOKENS = 20


@dataclass(frozen=True)
class Sample:
    """One generated rewrite as the leader produced it.

    ``ids`` are the generated tokens without the end token or padding (None from a leader that only
    produces text); ``ended`` says whether generation emitted the end token before the budget ran out.
    Scoring a sample scores these ids, plus the end token only when it was generated.
    """

    text: str
    ids: tuple[int, ...] | None = None
    ended: bool = True


Budget = int | Sequence[int] | None  # new tokens for every input, one per input, or DEFAULT_MAX_NEW_TOKENS


class Leader(abc.ABC):
    """A rewriter model being trained. Seq2seq and causal models both implement this.

    Texts go in and out; tokenisation, prefixes, padding and devices are the leader's business.
    """

    model: torch.nn.Module  # the trainable policy (peft-wrapped under LoRA)
    tokenizer: object
    device: torch.device
    is_encoder_decoder: bool

    @abc.abstractmethod
    def generate(
        self,
        inputs: Sequence[str],
        *,
        do_sample: bool = False,
        num_return_sequences: int = 1,
        max_new_tokens: Budget = None,
        batch_size: int = 64,
    ) -> list[str]:
        """Rewrites, grouped by input: ``len(result) == len(inputs) * num_return_sequences``.

        Runs without gradients; leaves the model's train/eval mode as it found it.
        """

    def sample(
        self,
        inputs: Sequence[str],
        *,
        num_return_sequences: int = 1,
        max_new_tokens: Budget = None,
        batch_size: int = 64,
        temperature: float = 1.0,
    ) -> list[Sample]:
        """Sampled rewrites with their token ids, grouped by input like :meth:`generate`.

        This fallback knows only the text and samples at temperature 1; leaders that can should return
        the generated ids and honour ``temperature`` (logits divided by it before sampling).
        """
        if temperature != 1.0:
            raise ValueError(f"leader {type(self).__name__} samples at temperature 1 only, got {temperature}")
        texts = self.generate(inputs, do_sample=True, num_return_sequences=num_return_sequences,
                              max_new_tokens=max_new_tokens, batch_size=batch_size)
        return [Sample(t) for t in texts]

    @property
    def infill_token(self) -> str | None:
        """The token that marks a span for this leader to fill in (the default leader's pre-training taught
        it [MASK]); None where the leader has none (no ``infill`` rewriter, no guided exploration)."""
        return getattr(self.tokenizer, "mask_token", None)

    def input_lengths(self, inputs: Sequence[str]) -> list[int]:
        """Tokens of each input as the leader sees it (for budgets relative to the input)."""
        return [len(x.split()) for x in inputs]

    def target_lengths(self, targets: Sequence[str]) -> list[int]:
        """Tokens :meth:`sequence_logprobs` scores for each text target (for per-token losses)."""
        return [len(x.split()) + 1 for x in targets]

    @abc.abstractmethod
    def sequence_logprobs(
        self,
        inputs: Sequence[str],
        targets: Sequence[str | Sample],
        *,
        shifted: bool = True,
    ) -> torch.Tensor:
        """Summed token log-likelihood of each target given its input, shape ``[N]``, float32.

        A text target is scored as its tokens plus the end token; a :class:`Sample` as its own ids,
        with the end token only if it generated one.

        Differentiable under the current model. ``shifted=False`` reproduces the released SRO
        code's off-by-one gather (logits at position t scored against token t) for comparison.
        """

    @contextlib.contextmanager
    def reference(self) -> Iterator[None]:
        """Within this context ``sequence_logprobs`` scores under the frozen reference model.

        Under LoRA the reference is the same weights with the adapter disabled (no second copy).
        """
        raise NotImplementedError
        yield  # pragma: no cover

    def autocast(self) -> contextlib.AbstractContextManager:
        """The mixed-precision context for forward passes (nothing by default: full precision)."""
        return contextlib.nullcontext()

    def grad_scaler(self) -> torch.amp.GradScaler:
        """The loss scaler for backward passes (fp16 needs one; disabled by default)."""
        return torch.amp.GradScaler("cpu", enabled=False)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def freeze_embeddings(self) -> None:
        """Stop training the word embeddings and the output layer (call before building an optimizer)."""
        raise NotImplementedError(f"{type(self).__name__} cannot freeze its embeddings")

    @abc.abstractmethod
    def save(self, path: Path) -> None:
        """Save as a standard ``save_pretrained`` directory (plus ``leader.json``)."""

    def describe(self) -> dict:
        """Metadata for run records: architecture, parameter counts, device, dtype, LoRA."""
        total = sum(p.numel() for p in self.model.parameters())
        trainable = sum(p.numel() for p in self.trainable_parameters())
        return {
            "class": type(self).__name__,
            "encoder_decoder": self.is_encoder_decoder,
            "parameters": total,
            "trainable_parameters": trainable,
            "device": str(self.device),
        }
