"""Where a run is: one process, or one of several under `accelerate launch`."""

from __future__ import annotations

import os


def world() -> tuple[int, int]:
    """(process index, number of processes): several under `accelerate launch`, else (0, 1)."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return 0, 1
    from accelerate import PartialState

    state = PartialState()
    return state.process_index, state.num_processes
