"""Built-in rewriters, registered through ``register_rewriters`` like any plugin's."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .builtin import Delete, Duplicate, Infill, Reference


@hookimpl
def register_rewriters(register):
    register("duplicate", lambda context: Duplicate(), "Training-free: the input unchanged")
    register("delete", Delete, "Training-free: drop the words the follower's NB weights mark toxic")
    register("infill", Infill, "Training-free: the leader fills the words the follower objects to, masked")
    register("reference", lambda context: Reference(), "Training-free: the first human reference (needs references)")
