"""LoRA adapters (peft) and frozen embeddings for the Hugging Face leaders."""

from __future__ import annotations

from ..errors import UserError
from .config import LeaderConfig

# Attention projections that LoRA adapts by default; peft's own table covers other architectures.
DEFAULT_LORA_TARGETS = {
    "t5": ("q", "v"),
    "mt5": ("q", "v"),
    "gpt2": ("c_attn",),
    "bert": ("query", "value"),
}
# GPT-2 stores its projections as Conv1D (transposed weights); peft must be told.
_FAN_IN_FAN_OUT = {"gpt2"}


def freeze_embeddings(model) -> None:
    """No gradient to any word embedding or output layer (encoder and decoder sides alike).

    With all weights training, the tied 30k-row embedding drifts and sampling turns to rare word
    pieces; frozen, the policy can only re-weight words it already spells.
    """
    base = _base(model)
    parts = [base]
    if getattr(base.config, "model_type", "") == "encoder-decoder":
        parts += [base.encoder, base.decoder]
    for part in parts:
        for module in (part.get_input_embeddings(), part.get_output_embeddings()):
            if module is not None:
                for p in module.parameters():
                    p.requires_grad_(False)


def _is_peft(model) -> bool:
    try:
        from peft import PeftModel
    except ImportError:  # pragma: no cover - peft is a dependency
        return False
    return isinstance(model, PeftModel)


def _base(model):
    return model.get_base_model() if _is_peft(model) else model


def _model_types(model) -> list[str]:
    cfg = model.config
    if getattr(cfg, "model_type", "") == "encoder-decoder":
        return [cfg.encoder.model_type, cfg.decoder.model_type]
    return [cfg.model_type]


def default_lora_targets(model) -> tuple[str, ...]:
    """Attention projections to adapt for this architecture (peft's table as a fallback)."""
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as peft_table

    targets: list[str] = []
    for kind in _model_types(model):
        found = DEFAULT_LORA_TARGETS.get(kind) or peft_table.get(kind)
        if not found:
            raise UserError(f"no default LoRA target modules for {kind!r}; set lora_target_modules")
        targets += [t for t in found if t not in targets]
    return tuple(targets)


def apply_lora(model, config: LeaderConfig):
    """Wrap ``model`` in a peft LoRA adapter; the base weights are frozen by peft."""
    from peft import LoraConfig, get_peft_model

    targets = config.lora_target_modules or default_lora_targets(model)
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(targets),
        fan_in_fan_out=any(t in _FAN_IN_FAN_OUT for t in _model_types(model)),
    )
    return get_peft_model(model, lora)
