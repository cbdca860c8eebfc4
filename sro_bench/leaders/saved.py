"""A leader on disk: a ``save_pretrained`` directory plus ``leader.json`` (and a LoRA adapter), and loading
any seq2seq or causal checkpoint, saved by sro-bench or not."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ..errors import UserError
from ..util.digests import files_digest
from ..util.files import read_json_object
from .config import LeaderConfig, LeaderContext
from .layout import ADAPTER_DIR, LEADER_JSON, config_from_json

if TYPE_CHECKING:
    from .hf import HFLeader

def load_pretrained(source: str | Path, *, local_files_only: bool = False):
    """A seq2seq or causal LM and its tokenizer from a hub id or a ``save_pretrained`` directory."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    from safetensors import SafetensorError

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
    except SafetensorError as exc:  # a weights file cut short or damaged
        raise UserError(f"{source}: its weights cannot be read ({exc}); the copy is damaged") from None
    return model, tokenizer


class CorruptLeader(UserError):
    """A saved leader whose files differ from the digest saved with them."""


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
    info = read_json_object(info_path, "leader description")
    # leaders saved before digests were kept are loaded as they are
    if "digest" in info and files_digest(path, skip=[LEADER_JSON]) != info["digest"]:
        raise CorruptLeader(f"{path}: its files differ from the digest in {LEADER_JSON} (altered, damaged or cut short)")
    saved = config_from_json(info.get("config", {}), str(info_path))
    if config is None:
        config = saved
    elif not config.input_prefix and saved.input_prefix:
        config = dataclasses.replace(config, input_prefix=saved.input_prefix)
    model, tokenizer = load_pretrained(path, local_files_only=True)
    if (path / ADAPTER_DIR).is_dir():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path / ADAPTER_DIR), is_trainable=True)
    from .hf import HFLeader

    return HFLeader(
        model, tokenizer, config,
        postprocess=info.get("postprocess", ""), metadata=info.get("metadata", {}),
    )


def build_hf_leader(config: LeaderConfig, context: LeaderContext | None = None) -> HFLeader:
    """``hf:<hub-id-or-dir>``: a saved sro-bench leader, or any seq2seq/causal HF checkpoint (it needs no
    ``context``: the weights are given)."""
    source = config.name.split(":", 1)[1] if config.name.startswith("hf:") else config.name
    if not source:
        raise UserError("hf: leader needs a hub id or a directory, e.g. hf:t5-small")
    if (Path(source) / LEADER_JSON).is_file():
        return load_leader(source, config)
    from .hf import HFLeader

    model, tokenizer = load_pretrained(source)
    return HFLeader(model, tokenizer, config)
