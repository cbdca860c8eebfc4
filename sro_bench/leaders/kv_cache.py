"""Causal prompts encoded once and their key/value cache shared by every target or sample that follows them.

The game scores k samples (and SRO the input itself) after one prompt, and samples k rewrites of it: encoding
the prompt once per distinct prompt instead of once per row is most of a causal leader's padding saved.
Transformers renamed the cache argument (``past_key_values`` -> ``cache``, 5.x); both spellings are handled here.
"""

from __future__ import annotations

import functools
import inspect

import torch


@functools.lru_cache(maxsize=None)
def _keyword_of(model_class: type) -> str:
    return "cache" if "cache" in inspect.signature(model_class.forward).parameters else "past_key_values"


def cache_keyword(model: torch.nn.Module) -> str:
    """The keyword under which ``model`` (peft-wrapped or not) takes a key/value cache."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return _keyword_of(type(base))


def cache_of(output) -> object:
    """The key/value cache a forward call returned."""
    cache = output.get("cache")
    return cache if cache is not None else output.get("past_key_values")


def prompt_positions(attention: torch.Tensor) -> torch.Tensor:
    """Position ids of left-padded rows, as generation derives them from the attention mask (padding, which
    nothing attends to, at 0)."""
    return (attention.long().cumsum(-1) - 1).masked_fill(attention == 0, 0)
