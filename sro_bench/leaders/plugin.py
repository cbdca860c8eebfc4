"""Built-in leaders, registered through the same hook a third-party plugin would use."""

from __future__ import annotations

from ..plugins import table_hook

# (name, module, factory in it, description): the module is imported only when a run needs one
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


register_leaders = table_hook(BUILTINS)
