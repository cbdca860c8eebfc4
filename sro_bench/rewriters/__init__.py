"""Training-free rewriters (baselines): the contract, and the built-ins registered as a plugin would be."""

from .base import Rewriter, RewriterContext  # noqa: F401
