"""Built-in leaders, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..hookspecs import hookimpl


def _minilm(config):
    from .minilm import build_minilm

    return build_minilm(config)


def _tiny(config):
    from .tiny import build_tiny

    return build_tiny(config)


def _tiny_causal(config):
    from .tiny import build_tiny_causal

    return build_tiny_causal(config)


def _t5_base_config(config):
    from .tiny import build_t5_base_sized

    return build_t5_base_sized(config)


@hookimpl
def register_leaders(register):
    register("minilm", _minilm,
             "MiniLM-L6 encoder-decoder pre-trained as a denoising copier (default; prepared once, cached)")
    register("tiny", _tiny, "2-layer T5 built from config with an on-the-fly tokenizer (tests only)")
    register("tiny-causal", _tiny_causal, "2-layer GPT-2 built from config with an on-the-fly tokenizer (tests only)")
    register("t5-base-config", _t5_base_config,
             "T5-base-shaped T5 with random weights and MiniLM's vocabulary (throughput benchmarks only)")
