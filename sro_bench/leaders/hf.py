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
import dataclasses
import json
import re
from pathlib import Path
from typing import Iterator, Sequence

import torch

from ..errors import UserError
from . import device as dev
from .base import Budget, Leader, LeaderConfig, Sample

FORMAT = 1
LEADER_JSON = "leader.json"
ADAPTER_DIR = "adapter"

# Attention projections that LoRA adapts by default; peft's own table covers other architectures.
DEFAULT_LORA_TARGETS = {
    "t5": ("q", "v"),
    "mt5": ("q", "v"),
    "gpt2": ("c_attn",),
    "bert": ("query", "value"),
}
# GPT-2 stores its projections as Conv1D (transposed weights); peft must be told.
_FAN_IN_FAN_OUT = {"gpt2"}


def _fix_wordpiece_contractions(text: str) -> str:
    # WordPiece splits "don 't" into don ' t; rejoin to the tokenised style of the data sets.
    return re.sub(r"(\w) ' (t|s|m|d|ll|re|ve)\b", r"\1 '\2", text)


def _decode_wordpiece(tokenizer, ids: list[int]) -> str:
    # Join pieces ourselves: tokenizer decoders glue punctuation on ("know, man."), and a
    # customised decoder does not survive save_pretrained for BERT tokenizers.
    tokens = tokenizer.convert_ids_to_tokens(ids, skip_special_tokens=True)
    return _fix_wordpiece_contractions(" ".join(tokens).replace(" ##", "").strip())


# How generated ids become text: the tokenizer's own decode, or a named alternative.
DECODERS = {
    "": lambda tokenizer, ids: tokenizer.decode(ids, skip_special_tokens=True).strip(),
    "wordpiece-contractions": _decode_wordpiece,
}


class HFLeader(Leader):
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

    def sequence_logprobs(self, inputs, targets, *, shifted: bool = True) -> torch.Tensor:
        """Summed target log-likelihoods, batched for speed with the values of one plain padded pass.

        seq2seq: logits come from ``decoder_input_ids = shift_right(labels)``. Shifted (correct):
        ``logits[:, t]`` scores ``labels[:, t]``. Unshifted (the released SRO code):
        ``logits[:, t]`` scores ``decoder_input_ids[:, t]``, i.e. the previous target token
        (the start token at t = 0), over the same positions.
        causal: shifted scores token t with ``logits[:, t-1]``; unshifted with ``logits[:, t]``,
        for every target position t (target tokens and the final eos).

        Rows are grouped by length so short targets are not padded to the longest, each distinct
        input is encoded once however many targets share it (the game scores y and x against the
        same x), and the output layer runs on target positions only.
        """
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs but {len(targets)} targets")
        if len(inputs) == 0:
            return torch.zeros(0, device=self.device)
        model = self._active_model()
        sources, labels = self._encode_inputs(inputs), self._encode_targets(targets)
        out = torch.zeros(len(labels), device=self.device, dtype=torch.float32)
        if self.is_encoder_decoder:
            encoded, source_of = self._encode_unique(model, sources)
            for rows in length_groups([len(t) for t in labels]):
                out = out.index_add(0, torch.tensor(rows, device=self.device),
                                    self._seq2seq_group(model, encoded, [source_of[r] for r in rows],
                                                        [labels[r] for r in rows], shifted))
            return out
        prompts = [s + [self.eos_token_id] for s in sources]
        for rows in length_groups([len(p) + len(t) for p, t in zip(prompts, labels)]):
            out = out.index_add(0, torch.tensor(rows, device=self.device),
                                self._causal_group(model, [prompts[r] for r in rows], [labels[r] for r in rows], shifted))
        return out

    def causal_layout(self, inputs: Sequence[str], targets: Sequence[str]) -> tuple[list[list[int]], list[list[int]]]:
        """(prompt ids, completion ids) per pair: the token layout a causal leader scores and generates with."""
        if self.is_encoder_decoder:
            raise ValueError(f"{self.config.name} is a seq2seq leader; it has no causal layout")
        return [s + [self.eos_token_id] for s in self._encode_inputs(inputs)], self._encode_targets(targets)

    def _encode_unique(self, model, sources: list[list[int]]) -> tuple[list[torch.Tensor], list[int]]:
        """Encoder states of each distinct source (unpadded, ``[len, H]``) and each row's source index."""
        index: dict[tuple[int, ...], int] = {}
        source_of = [index.setdefault(tuple(s), len(index)) for s in sources]
        unique = [list(s) for s in index]
        encoded: list[torch.Tensor | None] = [None] * len(unique)
        encoder = model.get_encoder()
        for rows in length_groups([len(s) for s in unique]):
            ids, attention = self._pad([unique[r] for r in rows])
            with self.autocast():
                hidden = encoder(input_ids=ids, attention_mask=attention).last_hidden_state
            for i, r in enumerate(rows):
                encoded[r] = hidden[i, : len(unique[r])]
        return encoded, source_of

    def _seq2seq_group(self, model, encoded, source_rows, labels, shifted) -> torch.Tensor:
        from transformers.modeling_outputs import BaseModelOutput

        states = [encoded[r] for r in source_rows]
        hidden = torch.nn.utils.rnn.pad_sequence(states, batch_first=True)
        attention = torch.zeros(hidden.shape[:2], dtype=torch.long, device=self.device)
        for i, s in enumerate(states):
            attention[i, : s.shape[0]] = 1
        label_ids, label_mask = self._pad(labels)
        start = torch.full_like(label_ids[:, :1], self.decoder_start_token_id)
        decoder_ids = torch.cat([start, label_ids[:, :-1]], dim=1)
        decoder_mask = torch.cat([torch.ones_like(start), label_mask[:, :-1]], dim=1)
        scored = label_ids if shifted else decoder_ids
        selected = label_mask.bool()
        logits = self._selected_logits(
            model, selected, encoder_outputs=BaseModelOutput(last_hidden_state=hidden), attention_mask=attention,
            decoder_input_ids=decoder_ids, decoder_attention_mask=decoder_mask, use_cache=False,
        )
        return row_sums(token_logprobs(logits, scored[selected]), selected)

    def _causal_group(self, model, prompts, labels, shifted) -> torch.Tensor:
        ids, attention = self._pad([p + t for p, t in zip(prompts, labels)])
        target_mask = torch.zeros_like(attention, dtype=torch.bool)
        for i, (p, t) in enumerate(zip(prompts, labels)):
            target_mask[i, len(p) : len(p) + len(t)] = True
        if shifted:  # the logits at t - 1 predict token t
            selected = torch.zeros_like(target_mask)
            selected[:, :-1] = target_mask[:, 1:]
        else:
            selected = target_mask
        logits = self._selected_logits(model, selected, input_ids=ids, attention_mask=attention, use_cache=False)
        return row_sums(token_logprobs(logits, ids[target_mask]), selected)

    def _selected_logits(self, model, selected: torch.Tensor, **batch) -> torch.Tensor:
        """``[M, V]`` logits at the ``selected`` positions of ``[N, T]``, in row-major order.

        The output layer is most of a small model's cost and most positions are padding, so its
        input is cut to the selected positions on the way in; models whose head is not the output
        embedding module are cut afterwards.
        """
        head = model.get_output_embeddings()
        hook = None
        if head is not None:
            hook = head.register_forward_pre_hook(
                lambda module, args: (args[0][selected],) + args[1:] if args[0].shape[:2] == selected.shape else None
            )
        try:
            with self.autocast():
                logits = model(**batch).logits
        finally:
            if hook is not None:
                hook.remove()
        return logits[selected] if logits.shape[:2] == selected.shape else logits

    # -- generation ------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        inputs,
        *,
        do_sample: bool = False,
        num_return_sequences: int = 1,
        max_new_tokens: Budget = None,
        batch_size: int = 64,
    ) -> list[str]:
        samples = self._generate(inputs, do_sample, num_return_sequences, max_new_tokens, batch_size)
        return [s.text for s in samples]

    @torch.no_grad()
    def sample(self, inputs, *, num_return_sequences: int = 1, max_new_tokens: Budget = None,
               batch_size: int = 64, temperature: float = 1.0) -> list[Sample]:
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        return self._generate(inputs, True, num_return_sequences, max_new_tokens, batch_size, temperature)

    def _generate(self, inputs, do_sample, n, max_new_tokens: Budget, batch_size, temperature: float = 1.0) -> list[Sample]:
        inputs = list(inputs)
        budgets = self._budgets(max_new_tokens, len(inputs))
        model = self._active_model()
        # Sampling follows the caller's mode: the game samples with dropout on when asked to.
        was_training = model.training
        try:
            samples: list[Sample] = []
            for start in range(0, len(inputs), batch_size):
                end = start + batch_size
                samples += self._generate_batch(model, inputs[start:end], do_sample, n, budgets[start:end], temperature)
            return samples
        finally:
            model.train(was_training)

    def _budgets(self, max_new_tokens: Budget, n: int) -> list[int]:
        if max_new_tokens is None:
            max_new_tokens = self.config.max_new_tokens
        if isinstance(max_new_tokens, int):
            return [max_new_tokens] * n
        budgets = [int(b) for b in max_new_tokens]
        if len(budgets) != n or min(budgets, default=1) < 1:
            raise ValueError(f"need one budget >= 1 per input ({n}), got {budgets}")
        return budgets

    def _generate_batch(self, model, batch, do_sample, n, budgets: list[int], temperature: float = 1.0) -> list[Sample]:
        # Greedy decoding is deterministic: decode once and repeat rather than ask HF for n copies.
        copies = n if do_sample else 1
        top_k = plain_top_k(model.generation_config) if do_sample else None
        # One call runs to the longest budget; each row is cut at its own afterwards, which draws the
        # same distribution as generating it alone (later tokens never change earlier ones).
        options = dict(max_new_tokens=max(budgets), pad_token_id=self.pad_token_id, eos_token_id=self.eos_token_id)
        if top_k is not None:
            # The same top-k sampling as HF's, drawn faster: greedy search over Gumbel-perturbed logits.
            batch = [x for x in batch for _ in range(copies)]
            from transformers import LogitsProcessorList

            options.update(do_sample=False, logits_processor=LogitsProcessorList([GumbelTopK(top_k, temperature)]))
        else:
            options.update(do_sample=do_sample, num_return_sequences=copies)
            if do_sample and temperature != 1.0:
                options.update(temperature=temperature)
        sources = self._encode_inputs(batch)
        with self.autocast():
            if self.is_encoder_decoder:
                ids, attention = self._pad(sources)
                out = model.generate(
                    input_ids=ids, attention_mask=attention,
                    decoder_start_token_id=self.decoder_start_token_id, **options,
                )
                new = out[:, 1:]  # drop the decoder start token
            else:
                ids, attention = self._pad([s + [self.eos_token_id] for s in sources], left=True)
                out = model.generate(input_ids=ids, attention_mask=attention, **options)
                new = out[:, ids.shape[1] :]
        row_budgets = [b for b in budgets for _ in range(copies)]
        samples = [self._sample_of(row, budget) for row, budget in zip(new.tolist(), row_budgets)]
        if copies != n:
            samples = [s for s in samples for _ in range(n)]
        return samples

    def _sample_of(self, row: list[int], budget: int) -> Sample:
        row = row[:budget]
        ended = self.eos_token_id in row
        ids = row[: row.index(self.eos_token_id)] if ended else row
        return Sample(DECODERS[self.postprocess](self.tokenizer, ids), tuple(ids), ended)

    # -- reference -------------------------------------------------------------------------------

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
        (path / LEADER_JSON).write_text(json.dumps(self._leader_json(), indent=2, default=str) + "\n")

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
            "max_new_tokens": self.config.max_new_tokens,
            "metadata": self.metadata,
        }


# -- helpers -------------------------------------------------------------------------------------


class GumbelTopK:
    """Top-k sampling as a logits processor for greedy search: argmax of the top-k logits plus Gumbel noise.

    That argmax is distributed as softmax over the top k, exactly what HF's top-k multinomial draws;
    torch's multinomial draws an exponential for every vocabulary entry, a third of CPU generation time.
    With ``temperature`` T the top-k logits are divided by T first, as HF's temperature warper does.
    """

    def __init__(self, top_k: int, temperature: float = 1.0):
        self.top_k, self.temperature = top_k, temperature

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        values, indices = scores.topk(min(self.top_k, scores.shape[-1]), dim=-1)
        if self.temperature != 1.0:
            values = values / self.temperature
        gumbel = -torch.empty_like(values).exponential_().log()
        return torch.full_like(scores, float("-inf")).scatter_(-1, indices, values + gumbel)


def plain_top_k(generation_config) -> int | None:
    """The k of a sampling configuration that is top-k and nothing else (HF's default), or None."""
    def value(name: str, default: float) -> float:  # unset fields take HF's global defaults
        set_to = getattr(generation_config, name, None)
        return default if set_to is None else set_to

    others = dict(temperature=1.0, top_p=1.0, typical_p=1.0, min_p=0.0, epsilon_cutoff=0.0, eta_cutoff=0.0, top_h=0.0)
    if any(value(name, default) != default for name, default in others.items()):
        return None
    top_k = value("top_k", 50)
    return top_k if top_k > 0 else None


def length_groups(lengths: Sequence[int], overhead: int = 32) -> list[list[int]]:
    """Row indices cut into groups of similar length, to pad as little as possible.

    Rows are sorted by length and split where it pays: a group costs its padded size
    (count x longest) plus ``overhead`` tokens for the extra forward call. Exact, by dynamic
    programming over the sorted rows.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0.0] + [float("inf")] * n  # best[j]: cost of grouping the first j sorted rows
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        longest = lengths[order[j - 1]]
        for i in range(j):
            cost = best[i] + (j - i) * longest + overhead
            if cost < best[j]:
                best[j], cut[j] = cost, i
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]


def token_logprobs(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[token]`` per row of ``[M, V]`` logits, in float32, without the full softmax."""
    logits = logits.float()
    return logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)


def row_sums(values: torch.Tensor, selected: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` (one per selected position of ``[N, T]``, row-major) into their N rows."""
    rows = torch.arange(selected.shape[0], device=selected.device).unsqueeze(1).expand_as(selected)[selected]
    return torch.zeros(selected.shape[0], device=values.device, dtype=torch.float32).index_add(0, rows, values)


def freeze_embeddings(model) -> None:
    """No gradient to any word embedding or output layer (encoder and decoder sides alike).

    With all weights training, the tied 30k-row embedding drifts and sampling turns to rare word
    pieces; frozen, the policy can only re-weight words it already spells.
    """
    base = _base(model)
    parts = [base]
    if getattr(base.config, "model_type", "") == "encoder-decoder":
        parts += [base.encoder, base.decoder]
    for part in parts:
        for module in (part.get_input_embeddings(), part.get_output_embeddings()):
            if module is not None:
                for p in module.parameters():
                    p.requires_grad_(False)


def _is_peft(model) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(model, PeftModel)


def _base(model):
    return model.get_base_model() if _is_peft(model) else model


def _model_types(model) -> list[str]:
    cfg = model.config
    if getattr(cfg, "model_type", "") == "encoder-decoder":
        return [cfg.encoder.model_type, cfg.decoder.model_type]
    return [cfg.model_type]


def default_lora_targets(model) -> tuple[str, ...]:
    """Attention projections to adapt for this architecture (peft's table as a fallback)."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as peft_table

    targets: list[str] = []
    for kind in _model_types(model):
        found = DEFAULT_LORA_TARGETS.get(kind) or peft_table.get(kind)
        if not found:
            raise UserError(f"no default LoRA target modules for {kind!r}; set lora_target_modules")
        targets += [t for t in found if t not in targets]
    return tuple(targets)


def apply_lora(model, config: LeaderConfig):
    """Wrap ``model`` in a peft LoRA adapter; the base weights are frozen by peft."""
    from peft import LoraConfig, get_peft_model

    targets = config.lora_target_modules or default_lora_targets(model)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(targets),
        fan_in_fan_out=any(t in _FAN_IN_FAN_OUT for t in _model_types(model)),
    )
    return get_peft_model(model, lora)


def config_to_json(config: LeaderConfig) -> dict:
    out = dataclasses.asdict(config)
    for key in ("cache_dir", "data_dir"):
        out[key] = None if out[key] is None else str(out[key])
    if out["lora_target_modules"] is not None:
        out["lora_target_modules"] = list(out["lora_target_modules"])
    return out


def config_from_json(data: dict, where: str = LEADER_JSON) -> LeaderConfig:
    from ..dataclass_json import from_json

    return from_json(LeaderConfig, data, where, strict=False)  # leaders saved by other versions still load


def load_pretrained(source: str | Path, *, local_files_only: bool = False):
    """A seq2seq or causal LM and its tokenizer from a hub id or a ``save_pretrained`` directory."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    source = str(source)
    try:
        cfg = AutoConfig.from_pretrained(source, local_files_only=local_files_only)
        auto = AutoModelForSeq2SeqLM if getattr(cfg, "is_encoder_decoder", False) else AutoModelForCausalLM
        model = auto.from_pretrained(source, dtype=torch.float32, local_files_only=local_files_only)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
    except OSError as exc:
        raise UserError(
            f"cannot load leader model {source!r}: {exc} (offline? a local directory works too)"
        ) from exc
    return model, tokenizer


def load_leader(path: str | Path, config: LeaderConfig | None = None) -> HFLeader:
    """Load a leader saved by :meth:`HFLeader.save`.

    ``config`` (default: the saved one) sets device, precision, lengths and LoRA; an empty
    ``input_prefix`` keeps the saved prefix. A saved LoRA adapter is loaded trainable and takes
    the place of any new adapter the config asks for.
    """
    path = Path(path)
    info_path = path / LEADER_JSON
    if not info_path.is_file():
        raise UserError(f"{path}: not a saved leader (no {LEADER_JSON})")
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{info_path}: not a readable leader description ({exc})") from None
    if not isinstance(info, dict):
        raise UserError(f"{info_path}: expected a JSON object")
    saved = config_from_json(info.get("config", {}), str(info_path))
    if config is None:
        config = saved
    elif not config.input_prefix and saved.input_prefix:
        config = dataclasses.replace(config, input_prefix=saved.input_prefix)
    model, tokenizer = load_pretrained(path, local_files_only=True)
    if (path / ADAPTER_DIR).is_dir():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path / ADAPTER_DIR), is_trainable=True)
    return HFLeader(
        model, tokenizer, config,
        postprocess=info.get("postprocess", ""), metadata=info.get("metadata", {}),
    )


def build_hf_leader(config: LeaderConfig) -> HFLeader:
    """``hf:<hub-id-or-dir>``: a saved sro-bench leader, or any seq2seq/causal HF checkpoint."""
    source = config.name.split(":", 1)[1] if config.name.startswith("hf:") else config.name
    if not source:
        raise UserError("hf: leader needs a hub id or a directory, e.g. hf:t5-small")
    if (Path(source) / LEADER_JSON).is_file():
        return load_leader(source, config)
    model, tokenizer = load_pretrained(source)
    return HFLeader(model, tokenizer, config)
