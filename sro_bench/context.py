"""What every component gets from the run: its seed, the data and cache directories, the device the suite runs
on, and whether to show progress. Resolved once where a run starts (``Context.resolved``) and handed down; each
plugin kind's context (``LeaderContext``, ``FollowerContext``, ``MetricContext``, ``RewriterContext``) is this
plus what that kind alone needs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .util.paths import resolve_cache_dir, resolve_data_dir

K = TypeVar("K", bound="Context")


@dataclass(frozen=True)
class Context:
    seed: int = 0  # the run's --seed: anything random in building a component
    data_dir: Path | None = None  # ../shared/data (None: resolved by whoever reads data)
    cache_dir: Path | None = None  # prepared leaders, trained screeners and judges (None: the sro-bench cache)
    device: str = "cpu"  # where the suite's models run
    progress: bool = True  # progress bars for long preparation (off under --quiet)

    @classmethod
    def resolved(cls: type[K], *, seed: int = 0, data_dir: Path | None = None, cache_dir: Path | None = None,
                 device: str = "cpu", progress: bool = True, **extra) -> K:
        """A context whose directories are absolute and checked: the data directory exists (or a one-line
        error says where it was looked for), the cache directory is the one the environment chooses."""
        return cls(seed=seed, data_dir=resolve_data_dir(data_dir), cache_dir=resolve_cache_dir(cache_dir),
                   device=device, progress=progress, **extra)

    def as_(self, kind: type[K], **extra) -> K:
        """This context as ``kind`` (a plugin kind's context), with that kind's own fields."""
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(Context)}
        return kind(**shared, **extra)
