"""How a Hugging Face leader generates: greedy rewrites and sampled ones with their token ids."""

from __future__ import annotations

import torch

from .base import DEFAULT_MAX_NEW_TOKENS, Budget, Sample
from .kv_cache import cache_keyword, cache_of, prompt_positions
from .tokens import DECODERS, GumbelTopK, plain_top_k


class Generation:
    """``generate`` and ``sample`` for :class:`~sro_bench.leaders.hf.HFLeader` (a mixin)."""

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
            max_new_tokens = DEFAULT_MAX_NEW_TOKENS
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
                if copies > 1 and top_k is not None:  # each prompt's copies follow each other
                    options.update(self._shared_prompt_cache(model, ids[::copies], attention[::copies], copies))
                out = model.generate(input_ids=ids, attention_mask=attention, **options)
                new = out[:, ids.shape[1] :]
        row_budgets = [b for b in budgets for _ in range(copies)]
        samples = [self._sample_of(row, budget) for row, budget in zip(new.tolist(), row_budgets)]
        if copies != n:
            samples = [s for s in samples for _ in range(n)]
        return samples

    @torch.no_grad()
    def _shared_prompt_cache(self, model, ids, attention, copies: int) -> dict:
        """Each distinct prompt encoded once (all but its last token, which generation still needs to feed),
        its cache repeated for its copies: generation then encodes only what the cache lacks."""
        prefix = model(input_ids=ids[:, :-1], attention_mask=attention[:, :-1],
                       position_ids=prompt_positions(attention)[:, :-1], use_cache=True)
        cache = cache_of(prefix)
        cache.batch_repeat_interleave(copies)
        return {cache_keyword(model): cache}

    def _sample_of(self, row: list[int], budget: int) -> Sample:
        row = row[:budget]
        ended = self.eos_token_id in row
        ids = row[: row.index(self.eos_token_id)] if ended else row
        return Sample(DECODERS[self.postprocess](self.tokenizer, ids), tuple(ids), ended)

    # -- reference -------------------------------------------------------------------------------
