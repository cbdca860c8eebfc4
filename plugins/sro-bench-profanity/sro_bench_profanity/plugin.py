"""Entry point ``sro_bench: profanity``: registers the follower through sro-bench's public hook."""

from sro_bench import hookimpl


@hookimpl
def register_followers(register):
    # Imported inside the factory so that `sro-bench list` never loads the model.
    def profanity(context):
        from .follower import build

        return build(context)

    register("profanity", profanity, "alt-profanity-check's linear-SVM profanity model (optional plugin)")
