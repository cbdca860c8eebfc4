"""Training the minilm copier: noisy copies of clean sentences, a resumable loop of a fixed number of
steps, its checkpoints and progress bar, and the recipe that says how. What is trained, and where it is
cached, is sro_bench.leaders.minilm."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..util.progress import make_progress



@dataclasses.dataclass
class CopierRecipe:
    """How the copier is trained. Overridable with ``extra["copier"]`` (a dict of these fields)."""

    steps: int = 1500  # the copier is defined by its steps: every machine trains the same one
    batch_size: int = 16
    lr: float = 6e-4  # peak; linear warmup, then linear decay to 0 at the last step
    warmup_steps: int = 100
    weight_decay: float = 0.01
    max_length: int = 48  # word pieces incl. special tokens; longer sentences are skipped
    clean_share: float = 0.2  # sentences given unchanged: copying what needs no edit stays the likeliest output
    word_dropout: float = 0.1  # a word is dropped (teaches restoring it)
    swap_prob: float = 0.03  # chance that a word swaps places with its right neighbour
    insert_prob: float = 0.05  # chance of a random clean word inserted before each word (teaches deletion)
    substitute_prob: float = 0.02  # chance that a word is replaced by a random clean word
    neighbour_prob: float = 0.1  # chance that a word is replaced by a near neighbour (teaches substitution)
    neighbours: int = 10  # how many nearest words a word may be replaced by
    neighbour_min_count: int = 3  # a neighbour is a one-piece word seen this often in the clean sentences
    mask_prob: float = 0.04  # chance that a span starting at a word becomes one [MASK] (teaches infilling)
    mask_span: int = 3  # the longest masked span, in words
    bucket_batches: int = 50  # batches per length-sorted pool (less padding, still shuffled)
    freeze_embeddings: bool = True  # keep the (tied) word embeddings fixed: faster steps
    checkpoint_every: int = 200
    max_new_tokens: int = 64  # for the copy-BLEU evaluation
    threads: int = 0  # torch threads; 0: the cores other processes leave idle (at least 1)
    seed: int = 0  # the copier is one shared starting point, whatever a run's --seed


class NoisyCopies:
    """Batches of (noisy word pieces, clean word pieces), length-bucketed and reproducible.

    Each sentence is kept as a list of words, each word as its word pieces, so noise acts on whole
    words without re-tokenising. Batch order and noise depend only on (seed, epoch, step).
    ``neighbours`` maps a one-piece word to the words it may be replaced by (``near_neighbours``).
    """

    def __init__(self, sentences: list[str], tokenizer, recipe: CopierRecipe, seed: int,
                 neighbours: dict[int, list[int]] | None = None):
        self.recipe, self.seed = recipe, seed
        self.cls, self.sep, self.pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
        vocab = sorted({w for s in sentences for w in s.split()})
        pieces = dict(zip(vocab, tokenizer(vocab, add_special_tokens=False)["input_ids"]))
        limit = recipe.max_length - 2
        self.words = []
        for s in sentences:
            words = [pieces[w] for w in s.split() if pieces[w]]
            if 0 < sum(map(len, words)) <= limit:
                self.words.append(words)
        self.lengths = [sum(map(len, w)) for w in self.words]
        # Noise words are drawn by frequency from the same clean sentences: no toxic lists, no pairs.
        self.noise_words = [pieces[w] for s in sentences for w in s.split() if pieces[w]]
        self.mask = tokenizer.mask_token_id
        self.neighbours = neighbours or {}

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """Index batches for one epoch: shuffled, sorted by length within pools, pools shuffled."""
        rng = random.Random(self.seed * 7919 + epoch)
        order = list(range(len(self.words)))
        rng.shuffle(order)
        size, pool = self.recipe.batch_size, self.recipe.batch_size * self.recipe.bucket_batches
        batches = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=self.lengths.__getitem__)
            batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        rng.shuffle(batches)
        return batches

    def _noisy(self, words: list[list[int]], rng: random.Random) -> list[list[int]]:
        """One noisy version of a sentence, which the copier learns to undo.

        Undoing each kind of noise is an edit the game can later explore: a masked span is filled in
        (infilling), a near neighbour is put back (substitution), an inserted word is removed (deletion),
        a dropped word is restored, a swapped pair is reordered. A share of sentences stays clean, so
        that copying what needs no edit stays the most likely output.
        """
        r = self.recipe
        if rng.random() < r.clean_share:
            return list(words)
        kept, i = [], 0
        while i < len(words):
            w = words[i]
            if r.mask_prob and rng.random() < r.mask_prob:
                kept.append([self.mask])
                i += rng.randint(1, r.mask_span)
                continue
            i += 1
            if r.insert_prob and rng.random() < r.insert_prob:
                kept.append(rng.choice(self.noise_words))
            if rng.random() < r.word_dropout:
                continue
            near = self.neighbours.get(w[0]) if len(w) == 1 else None
            if near and rng.random() < r.neighbour_prob:
                kept.append([rng.choice(near)])
            elif r.substitute_prob and rng.random() < r.substitute_prob:
                kept.append(rng.choice(self.noise_words))
            else:
                kept.append(w)
        kept = kept or words[:1]
        i = 0
        while i < len(kept) - 1:
            if rng.random() < r.swap_prob:
                kept[i], kept[i + 1] = kept[i + 1], kept[i]
                i += 1  # a word moves at most one place
            i += 1
        return kept

    def tensors(self, batch: list[int], step: int):
        """input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, labels (-100 = pad)."""
        rng = random.Random(self.seed * 104729 + step)
        sources, targets = [], []
        for i in batch:
            words = self.words[i]
            sources.append([self.cls] + [p for w in self._noisy(words, rng) for p in w] + [self.sep])
            targets.append([p for w in words for p in w] + [self.sep])
        src, src_mask = _pad(sources, self.pad)
        tgt, tgt_mask = _pad(targets, self.pad)
        start = torch.full_like(tgt[:, :1], self.cls)
        dec = torch.cat([start, tgt[:, :-1]], dim=1)
        dec_mask = torch.cat([torch.ones_like(start), tgt_mask[:, :-1]], dim=1)
        labels = tgt.masked_fill(tgt_mask == 0, -100)
        return src, src_mask, dec, dec_mask, labels


def _pad(seqs, pad_id):
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def near_neighbours(sentences: list[str], tokenizer, embeddings: torch.Tensor, k: int, min_count: int) -> dict[int, list[int]]:
    """For each alphabetic one-piece word seen ``min_count`` times in ``sentences``, the ``k`` such words
    nearest to it by cosine of the encoder's input embeddings ("great" -> "good", "terrible", ...).

    Generic word similarity from the pretrained vocabulary over clean text: no toxic list goes in.
    """
    from collections import Counter

    counts = Counter(w for s in sentences for w in s.split() if w.isalpha())
    ids = sorted({i for w, c in counts.items() if c >= min_count
                  for i in [tokenizer.convert_tokens_to_ids(w)] if i != tokenizer.unk_token_id})
    if len(ids) <= k:
        return {}
    vectors = F.normalize(embeddings.detach()[ids].float(), dim=1)
    index = torch.tensor(ids)
    out = {}
    for start in range(0, len(ids), 2048):
        similarity = vectors[start : start + 2048] @ vectors.T
        rows = torch.arange(similarity.shape[0])
        similarity[rows, rows + start] = -2.0  # never itself
        nearest = similarity.topk(k, dim=1).indices
        for row, word in enumerate(ids[start : start + 2048]):
            out[word] = index[nearest[row]].tolist()
    return out


# -- evaluation ----------------------------------------------------------------------------------


def copier_threads(requested: int) -> int:
    # OpenMP threads that share a core with another busy process wait on each other at every
    # barrier: on a loaded 2-core machine one thread ran 8x faster per step than two.
    if requested > 0:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, cores - _busy_cores()))


def _busy_cores(samples: int = 5, interval: float = 0.1) -> int:
    """Other processes running right now (the fewest over a few looks).

    Not the load average: it lags by a minute, so right after a pip install or a test run it
    reports an idle machine as busy and the copier trains on one core throughout.
    """
    try:
        counts = []
        for _ in range(samples):
            running = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
            counts.append(running - 1)  # this process is one of them
            time.sleep(interval)
        return max(0, min(counts))
    except (OSError, ValueError, IndexError):
        return round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0


def _lr_factor(step: int, recipe: CopierRecipe) -> float:
    warmup = min(1.0, (step + 1) / max(1, recipe.warmup_steps))
    return warmup * max(0.0, 1.0 - step / recipe.steps)


def _save_checkpoint(partial: Path, model, optimizer, state: dict) -> None:
    from safetensors.torch import save_model

    partial.mkdir(parents=True, exist_ok=True)
    save_model(model, str(partial / "model.safetensors.tmp"))
    torch.save(optimizer.state_dict(), partial / "optimizer.pt.tmp")
    (partial / "state.json.tmp").write_text(json.dumps(state))
    for name in ("model.safetensors", "optimizer.pt", "state.json"):  # state.json last: the commit
        os.replace(partial / f"{name}.tmp", partial / name)


def _load_checkpoint(partial: Path, model, optimizer) -> dict | None:
    from safetensors.torch import load_model

    if not (partial / "state.json").is_file():
        return None
    load_model(model, str(partial / "model.safetensors"))
    optimizer.load_state_dict(torch.load(partial / "optimizer.pt", weights_only=True))
    return json.loads((partial / "state.json").read_text())


def train_copier(model, data: NoisyCopies, recipe: CopierRecipe, partial: Path, progress) -> dict:
    """The copier's training loop: ``recipe.steps`` updates, resumed from ``partial`` when a checkpoint is
    there. The copier is defined by its steps, never by a time budget: every machine trains the same one."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=recipe.lr, weight_decay=recipe.weight_decay)
    state = _load_checkpoint(partial, model, optimizer) or {
        "step": 0, "epoch": 0, "batch": 0, "train_seconds": 0.0, "loss": None, "resumed": -1,
    }
    state["resumed"] += 1
    model.train()
    started, base_seconds = time.monotonic(), state["train_seconds"]
    batches = data.epoch_batches(state["epoch"])

    def checkpoint():
        state["train_seconds"] = base_seconds + time.monotonic() - started
        _save_checkpoint(partial, model, optimizer, state)

    with make_progress(disable=not progress) as bar:
        task = bar.add_task("minilm copier", total=recipe.steps, completed=state["step"], status="")
        try:
            while state["step"] < recipe.steps:
                if state["batch"] >= len(batches):
                    state["epoch"], state["batch"] = state["epoch"] + 1, 0
                    batches = data.epoch_batches(state["epoch"])
                lr = recipe.lr * _lr_factor(state["step"], recipe)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                src, src_mask, dec, dec_mask, labels = data.tensors(batches[state["batch"]], state["step"])
                logits = model(
                    input_ids=src, attention_mask=src_mask, decoder_input_ids=dec,
                    decoder_attention_mask=dec_mask, use_cache=False,
                ).logits
                loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                state["step"] += 1
                state["batch"] += 1
                value = loss.item()
                state["loss"] = value if state["loss"] is None else 0.98 * state["loss"] + 0.02 * value
                bar.update(task, completed=state["step"], status=f"loss {state['loss']:.3f}  lr {lr:.1e}")
                if state["step"] % recipe.checkpoint_every == 0:
                    checkpoint()
        except KeyboardInterrupt:
            checkpoint()
            raise
    state["train_seconds"] = base_seconds + time.monotonic() - started
    return state
