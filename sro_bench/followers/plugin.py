"""Built-in followers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .base import FollowerContext


def nblr(context: FollowerContext):
    """The seed's screener; trained from the data directory on first use, then loaded from the cache."""
    from .nblr import train_screener

    return train_screener(context)


def nblr_char(context: FollowerContext):
    """``nblr`` with character n-grams beside the words; trained and cached the same way."""
    from .nblr_char import train_char_screener

    return train_char_screener(context)


@hookimpl
def register_followers(register):
    register("nblr", nblr, "The seed's TF-IDF 1-2-gram NB-logistic-regression toxicity screener (default)")
    register("nblr-char", nblr_char,
             "nblr plus char_wb 2-5-grams: same data and recipe, but garbled words ('idiotation') still fail")
