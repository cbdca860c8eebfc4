"""A generic Hugging Face leader: seq2seq or causal, fully trained or through a LoRA adapter.

Token layout (what is scored and what is generated):

- seq2seq: encoder input = ``tokenizer(prefix + text)`` (the tokenizer's own special tokens);
  labels = target word pieces + eos (no leading start token); decoder input = labels shifted right
  behind ``decoder_start_token_id``.
- causal: one sequence = ``tokenizer(prefix + text)`` + eos (the separator) + target + eos; only
  the target tokens and the final eos are scored. Generation continues after the separator, with
  left padding.

Inputs and targets are each truncated to ``max_input_length`` tokens (eos included).
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path
from typing import Iterator, Sequence

import torch

from ..errors import UserError
from ..util.digests import files_digest
from . import device as dev
from .base import Leader, Sample
from .config import LeaderConfig
from .hf_generation import Generation
from .hf_scoring import Scoring
from .layout import ADAPTER_DIR, FORMAT, LEADER_JSON, config_to_json
from .lora import _base, _is_peft, apply_lora, freeze_embeddings
from .tokens import DECODERS



class HFLeader(Scoring, Generation, Leader):
    """Any ``transformers`` seq2seq or causal LM behind the :class:`Leader` interface.

    Weights are kept in float32 on ``device``; ``precision`` bf16/fp16 autocasts forward passes.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        config: LeaderConfig,
        *,
        postprocess: str = "",
        metadata: dict | None = None,
    ):
        if postprocess not in DECODERS:
            raise UserError(f"unknown postprocess {postprocess!r} (one of {sorted(DECODERS)})")
        self.config = config
        self.tokenizer = tokenizer
        self.device = dev.resolve_device(config.device)
        self.precision = dev.resolve_precision(config.precision, self.device)
        self.postprocess = postprocess
        self.metadata = dict(metadata or {})
        model.to(device=self.device, dtype=torch.float32)
        self.is_encoder_decoder = bool(getattr(_base(model).config, "is_encoder_decoder", False))
        self._set_special_ids(_base(model), tokenizer)
        if config.lora_r > 0 and not _is_peft(model):
            model = apply_lora(model, config)
        self.model = model
        self.lora = _is_peft(model)
        self._reference_copy: torch.nn.Module | None = None
        self._in_reference = False
        self._initial_version = self._weights_version()

    # -- special tokens --------------------------------------------------------------------------

    def _set_special_ids(self, model, tokenizer) -> None:
        cfg = model.config
        eos = tokenizer.eos_token_id
        if eos is None:  # BERT-style vocabularies end sequences with [SEP]
            eos = tokenizer.sep_token_id
        if eos is None:
            eos = cfg.eos_token_id
        if isinstance(eos, (list, tuple)):
            eos = eos[0]
        if eos is None:
            raise UserError(f"{self.config.name}: the tokenizer has no eos or sep token")
        pad = tokenizer.pad_token_id
        if pad is None:  # GPT-2 has no pad token; padding is masked anyway
            pad = eos
        self.eos_token_id, self.pad_token_id = int(eos), int(pad)
        self.decoder_start_token_id = None
        if self.is_encoder_decoder:
            start = getattr(cfg, "decoder_start_token_id", None)
            if start is None:
                start = getattr(model.generation_config, "decoder_start_token_id", None)
            if start is None:
                raise UserError(f"{self.config.name}: seq2seq model without decoder_start_token_id")
            self.decoder_start_token_id = int(start)

    # -- tokenisation ----------------------------------------------------------------------------

    def _encode_inputs(self, texts: Sequence[str]) -> list[list[int]]:
        prefixed = [self.config.input_prefix + t for t in texts]
        return self.tokenizer(
            prefixed, add_special_tokens=True, truncation=True, max_length=self.config.max_input_length
        )["input_ids"]

    def _encode_targets(self, targets: Sequence[str | Sample]) -> list[list[int]]:
        """Token ids to score: a sample's own ids (the end token only if generated), a text's tokens + eos."""
        out: list[list[int] | None] = [None] * len(targets)
        texts = {}
        for i, t in enumerate(targets):
            if isinstance(t, Sample) and t.ids is not None:
                out[i] = list(t.ids) + ([self.eos_token_id] if t.ended else [])
            else:
                texts[i] = t.text if isinstance(t, Sample) else t
        if texts:
            ids = self.tokenizer(
                list(texts.values()), add_special_tokens=False, truncation=True,
                max_length=max(1, self.config.max_input_length - 1),
            )["input_ids"]
            for i, x in zip(texts, ids):
                out[i] = list(x) + [self.eos_token_id]
        return out

    def input_lengths(self, inputs: Sequence[str]) -> list[int]:
        return [len(s) for s in self._encode_inputs(inputs)]

    def target_lengths(self, targets: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self._encode_targets(targets)]

    def _pad(self, seqs: Sequence[Sequence[int]], *, left: bool = False):
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            span = slice(width - len(s), width) if left else slice(0, len(s))
            ids[i, span] = torch.tensor(s, dtype=torch.long)
            mask[i, span] = 1
        return ids.to(self.device), mask.to(self.device)

    # -- scoring ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def reference(self) -> Iterator[None]:
        if self.lora:
            with self.model.disable_adapter():
                yield
            return
        self.reference_model()
        previous, self._in_reference = self._in_reference, True
        try:
            yield
        finally:
            self._in_reference = previous

    def _active_model(self) -> torch.nn.Module:
        return self._reference_copy if self._in_reference else self.model

    def _weights_version(self) -> int:
        # In-place updates (optimizer steps, load_state_dict) bump a tensor's version counter.
        return sum(getattr(p, "_version", 0) for p in self.model.parameters())

    def reference_model(self) -> torch.nn.Module | None:
        """The frozen copy of the initial weights, made on first need; None under LoRA (the adapter is disabled)."""
        if self.lora:
            return None
        if self._reference_copy is None:
            if self._weights_version() != self._initial_version:
                raise RuntimeError(
                    "the leader's weights changed before its reference copy was taken; call "
                    "leader.trainable_parameters() or enter leader.reference() before training"
                )
            ref = copy.deepcopy(self.model).eval()
            for p in ref.parameters():
                p.requires_grad_(False)
            self._reference_copy = ref
        return self._reference_copy

    def freeze_embeddings(self) -> None:
        freeze_embeddings(self.model)

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        if not self.lora:
            self.reference_model()  # an optimizer is about to be built: freeze the reference now
        return super().trainable_parameters()

    # -- precision -------------------------------------------------------------------------------

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for this leader's precision (a no-op for fp32); nesting is harmless."""
        return dev.autocast(self.device, self.precision)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A loss scaler for the game's backward pass: active only for fp16."""
        return dev.grad_scaler(self.device, self.precision)

    # -- persistence -----------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        if self.lora:
            self.model.save_pretrained(path / ADAPTER_DIR)
            base = self.model.get_base_model()
            # The base weights without the injected LoRA modules, under their original names.
            state = {
                k.replace(".base_layer", ""): v
                for k, v in base.state_dict().items()
                if "lora_" not in k
            }
            base.save_pretrained(path, state_dict=state)
        else:
            self.model.save_pretrained(path)
        self.tokenizer.save_pretrained(path)
        # last, over every file beside it: loading checks it, so an altered or cut-short copy is refused
        info = {**self._leader_json(), "digest": files_digest(path, skip=[LEADER_JSON])}
        (path / LEADER_JSON).write_text(json.dumps(info, indent=2, default=str) + "\n")

    def _leader_json(self) -> dict:
        return {
            "format": FORMAT,
            "arch": "seq2seq" if self.is_encoder_decoder else "causal",
            "model_class": type(_base(self.model)).__name__,
            "input_prefix": self.config.input_prefix,
            "postprocess": self.postprocess,
            "lora": self._lora_info(),
            "config": config_to_json(self.config),
            "metadata": self.metadata,
        }

    def _lora_info(self) -> dict | None:
        if not self.lora:
            return None
        cfg = self.model.peft_config["default"]
        return {
            "r": cfg.r,
            "alpha": cfg.lora_alpha,
            "dropout": cfg.lora_dropout,
            "target_modules": sorted(cfg.target_modules),
        }

    def describe(self) -> dict:
        params = list(self.model.parameters())
        return {
            "class": type(self).__name__,
            "name": self.config.name,
            "encoder_decoder": self.is_encoder_decoder,
            "model_class": type(_base(self.model)).__name__,
            "parameters": sum(p.numel() for p in params),
            "trainable_parameters": sum(p.numel() for p in params if p.requires_grad),
            "device": str(self.device),
            "precision": self.precision,
            "weights_dtype": "float32",
            "lora": self._lora_info(),
            "input_prefix": self.config.input_prefix,
            "max_input_length": self.config.max_input_length,
            "metadata": self.metadata,
        }


# -- helpers -------------------------------------------------------------------------------------
