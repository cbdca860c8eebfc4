"""Built-in followers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from ..plugins import table_hook

# (name, module, factory in it, description): the module is imported only when a run needs one
BUILTINS = (
    ('nblr', 'sro_bench.followers.nblr', 'train_screener',
     "The seed's TF-IDF 1-2-gram NB-logistic-regression toxicity screener (default)"),
    ('nblr-char', 'sro_bench.followers.nblr_char', 'train_char_screener',
     "nblr plus char_wb 2-5-grams: same data and recipe, but garbled words ('idiotation') still fail"),
)


register_followers = table_hook(BUILTINS)
