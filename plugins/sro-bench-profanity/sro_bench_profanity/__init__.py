"""sro-bench plugin: alt-profanity-check's profanity model as the follower ``profanity``."""

from .follower import ProfanityFollower

__all__ = ["ProfanityFollower"]
