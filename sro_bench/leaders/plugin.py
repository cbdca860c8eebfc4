"""Built-in leaders, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..plugins import lazy

# (name, module, factory in it, description): imported only when a run needs one
BUILTINS = (
    ('minilm', 'sro_bench.leaders.minilm', 'build_minilm',
     'MiniLM-L6 encoder-decoder pre-trained as a denoising copier (default; prepared once, cached)'),
    ('tiny', 'sro_bench.leaders.tiny', 'build_tiny',
     '2-layer T5 built from config with an on-the-fly tokenizer (tests only)'),
    ('tiny-causal', 'sro_bench.leaders.tiny', 'build_tiny_causal',
     '2-layer GPT-2 built from config with an on-the-fly tokenizer (tests only)'),
    ('t5-base-config', 'sro_bench.leaders.tiny', 'build_t5_base_sized',
     "T5-base-shaped T5 with random weights and MiniLM's vocabulary (throughput benchmarks only)"),
)


@hookimpl
def register_leaders(register):
    for name, module, factory, description in BUILTINS:
        register(name, lazy(module, factory), description)
