"""Tiny leaders built from config in seconds, for unit tests and smoke runs (they know no English).

``tiny``: a 2-layer T5 with tied word embeddings; ``tiny-causal``: a 2-layer GPT-2. Both share a
word-level tokenizer trained on the fly from a built-in list of sentences plus any
``extra["texts"]``. Sizes can be overridden with ``extra`` keys ``d_model``, ``layers``, ``heads``.
"""

from __future__ import annotations

import dataclasses

import torch

from ..errors import UserError
from .config import LeaderConfig, LeaderContext
from .hf import HFLeader

PAD, EOS, UNK, MASK = "<pad>", "</s>", "<unk>", "<mask>"

SENTENCES = (
    "you are a total idiot and everyone knows it .",
    "you are wrong and everyone knows it .",
    "this is the dumbest idea i have ever heard .",
    "this is not a good idea .",
    "shut up , nobody cares what you think .",
    "please stop , i disagree with you .",
    "what a stupid thing to say !",
    "that was an unkind thing to say .",
    "the article is full of crap .",
    "the article has several mistakes .",
    "get lost , you moron .",
    "please leave me alone .",
    "i think the mayor did a fine job this year .",
    "the weather was nice and the park was full of people .",
    "thank you for the helpful comment .",
    "we should talk about the budget before the vote .",
    "he does n't know what he is talking about .",
    "she is not right about this .",
    "i don 't like this at all .",
    "your opinion is worthless garbage .",
    "your opinion is not convincing .",
    "hello world , how are you today ?",
)


def build_tokenizer(texts=()):
    """A lower-casing word-level tokenizer with ``<pad>`` = 0, ``</s>`` = 1, ``<unk>`` = 2, ``<mask>`` = 3."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        list(SENTENCES) + list(texts), trainers.WordLevelTrainer(special_tokens=[PAD, EOS, UNK, MASK])
    )
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token=PAD, eos_token=EOS, unk_token=UNK, mask_token=MASK)


def build_tiny_model(arch: str, vocab_size: int, *, d_model=64, layers=2, heads=4, seed=0):
    """A randomly initialised (seeded) tiny T5 or GPT-2; dropout off so scores are deterministic."""
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration

    torch.manual_seed(seed)
    if arch == "seq2seq":
        cfg = T5Config(
            vocab_size=vocab_size, d_model=d_model, d_kv=d_model // heads, d_ff=2 * d_model,
            num_layers=layers, num_decoder_layers=layers, num_heads=heads,
            relative_attention_num_buckets=8, dropout_rate=0.0, feed_forward_proj="relu",
            tie_word_embeddings=True, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        )
        return T5ForConditionalGeneration(cfg)
    if arch == "causal":
        cfg = GPT2Config(
            vocab_size=vocab_size, n_positions=256, n_embd=d_model, n_layer=layers, n_head=heads,
            resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, tie_word_embeddings=True,
            bos_token_id=1, eos_token_id=1, pad_token_id=0,
        )
        return GPT2LMHeadModel(cfg)
    raise UserError(f"tiny leader: unknown arch {arch!r} (seq2seq or causal)")


def build_tiny(config: LeaderConfig, context: LeaderContext) -> HFLeader:
    """The ``tiny`` leader; ``extra["arch"]`` picks seq2seq (default) or causal."""
    extra = config.extra
    tokenizer = build_tokenizer(extra.get("texts", ()))
    model = build_tiny_model(
        extra.get("arch", "seq2seq"), len(tokenizer),
        d_model=extra.get("d_model", 64), layers=extra.get("layers", 2),
        heads=extra.get("heads", 4), seed=context.seed,
    )
    # The texts live on in the tokenizer's vocabulary; keep them out of saved configs.
    config = dataclasses.replace(config, extra={k: v for k, v in extra.items() if k != "texts"})
    return HFLeader(model, tokenizer, config, metadata={"arch": extra.get("arch", "seq2seq")})


def build_tiny_causal(config: LeaderConfig, context: LeaderContext) -> HFLeader:
    """The ``tiny-causal`` leader: ``tiny`` with ``extra["arch"] = "causal"``."""
    return build_tiny(dataclasses.replace(config, extra={**config.extra, "arch": "causal"}), context)


def build_t5_base_sized(config: LeaderConfig, context: LeaderContext) -> HFLeader:
    """A randomly initialised T5 with T5-base's shape (about 220M weights) and MiniLM's WordPiece vocabulary.

    For throughput benchmarks (the GPU half of ``benchmarks/bench_game.py``) without a hub download; its
    rewrites are noise. ``extra`` may shrink it (d_model, d_ff, layers, heads) for tests.
    """
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    from ..util.paths import minilm_dir

    extra = config.extra
    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
    d_model, heads = extra.get("d_model", 768), extra.get("heads", 12)
    torch.manual_seed(context.seed)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(tokenizer), d_model=d_model, d_kv=d_model // heads, d_ff=extra.get("d_ff", 3072),
        num_layers=extra.get("layers", 12), num_heads=heads, feed_forward_proj="relu", tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.cls_token_id,
    ))
    return HFLeader(model, tokenizer, config, postprocess="wordpiece-contractions",
                    metadata={"arch": "seq2seq", "shape": "t5-base", "weights": "random (benchmarks only)"})
