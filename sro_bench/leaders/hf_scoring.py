"""How a Hugging Face leader scores targets: summed token log-likelihoods, grouped by length to pad little."""

from __future__ import annotations

from typing import Sequence

import torch

from .kv_cache import cache_keyword, cache_of
from .tokens import CALL_OVERHEAD, length_groups, padded_cost, row_sums, token_logprobs


class SharedPrompts:
    """Rows of (prompt, target) as distinct prompts and distinct (prompt, target) pairs."""

    def __init__(self, prompts: list[list[int]], targets: list[list[int]]):
        prompt_index: dict[tuple[int, ...], int] = {}
        pair_index: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        self.prompt_of: list[int] = []  # per distinct pair
        self.targets: list[list[int]] = []  # per distinct pair
        self.pair_of: list[int] = []  # per row
        for prompt, target in zip(prompts, targets):
            key = (tuple(prompt), tuple(target))
            if key not in pair_index:
                pair_index[key] = len(self.targets)
                self.prompt_of.append(prompt_index.setdefault(key[0], len(prompt_index)))
                self.targets.append(list(target))
            self.pair_of.append(pair_index[key])
        self.prompts = [list(p) for p in prompt_index]

    def cost(self) -> float:
        """Positions the shared layout runs (two calls); never chosen with an empty target (nothing to extend)."""
        if min((len(t) for t in self.targets), default=0) == 0:
            return float("inf")
        return (len(self.prompts) * max(map(len, self.prompts)) + len(self.targets) * max(map(len, self.targets))
                + 2 * CALL_OVERHEAD)


class Scoring:
    """``sequence_logprobs`` for :class:`~sro_bench.leaders.hf.HFLeader` (a mixin: it uses the leader's
    model, tokenizer and encoders)."""

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
        lengths = [len(p) + len(t) for p, t in zip(prompts, labels)]
        groups = length_groups(lengths)
        shared = SharedPrompts(prompts, labels)
        if shared.cost() < padded_cost(groups, lengths):
            return self._causal_shared(model, shared, shifted)
        for rows in groups:
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

    def _causal_shared(self, model, shared: SharedPrompts, shifted: bool) -> torch.Tensor:
        """Each distinct prompt encoded once; its key/value cache extends to every distinct target after it."""
        prompt_ids, prompt_mask = self._pad(shared.prompts)
        prompt_lengths = prompt_mask.sum(1)
        last = torch.zeros_like(prompt_mask, dtype=torch.bool)
        last[torch.arange(len(shared.prompts)), prompt_lengths - 1] = True
        # The prompt's last position predicts the first target token (shifted scoring only).
        keyword = cache_keyword(model)
        prefix = self._forward_selected(model, last if shifted else torch.zeros_like(last),
                                        input_ids=prompt_ids, attention_mask=prompt_mask, use_cache=True)
        cache = cache_of(prefix)
        prompt_of = torch.tensor(shared.prompt_of, device=self.device)
        cache.batch_select_indices(prompt_of)
        target_ids, target_mask = self._pad(shared.targets)
        positions = prompt_lengths[prompt_of].unsqueeze(1) + torch.arange(target_ids.shape[1], device=self.device)
        if shifted:  # target position j predicts target token j + 1
            selected = torch.zeros_like(target_mask, dtype=torch.bool)
            selected[:, :-1] = target_mask[:, 1:].bool()
            scored = target_ids[:, 1:][selected[:, :-1]]
        else:
            selected, scored = target_mask.bool(), target_ids[target_mask.bool()]
        logits = self._forward_selected(
            model, selected, input_ids=target_ids, attention_mask=torch.cat([prompt_mask[prompt_of], target_mask], 1),
            position_ids=positions, use_cache=True, **{keyword: cache},
        ).logits
        values = row_sums(token_logprobs(logits, scored), selected)
        if shifted:
            values = values + token_logprobs(prefix.logits[prompt_of], target_ids[:, 0])
        return values[torch.tensor(shared.pair_of, device=self.device)]

    def _selected_logits(self, model, selected: torch.Tensor, **batch) -> torch.Tensor:
        """``[M, V]`` logits at the ``selected`` positions of ``[N, T]``, in row-major order."""
        return self._forward_selected(model, selected, **batch).logits

    def _forward_selected(self, model, selected: torch.Tensor, **batch):
        """The model's output with ``logits`` only at the ``selected`` positions of ``[N, T]`` (``[M, V]``, in
        row-major order).

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
                output = model(**batch)
        finally:
            if hook is not None:
                hook.remove()
        if output.logits.shape[:2] == selected.shape:
            output.logits = output.logits[selected]
        return output

    # -- generation ------------------------------------------------------------------------------
