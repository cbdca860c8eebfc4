"""Configuration fields that carry their own help, command-line flag and choices, and know which were set.

Every option of ``sro-bench run`` is generated from these fields (sro_bench.cli.options), so a field's
help, default and choices live in one place, as trl's config dataclasses keep theirs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable

from ..errors import UserError


def setting(default: Any = dataclasses.MISSING, help: str = "", *, flag: str | None = None,
            choices: tuple[str, ...] | None = None, cli: bool = True, comma: bool = False,
            default_factory: Callable[[], Any] | Any = dataclasses.MISSING, **extra: Any) -> Any:
    """A dataclass field with ``help`` and how it appears on the command line: ``flag`` (default
    ``--name-with-dashes``), ``choices``, ``comma`` (a comma-separated list), or not at all (``cli=False``)."""
    metadata = {"help": help, "flag": flag, "choices": choices, "cli": cli, "comma": comma, **extra}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def help_of(cls: type) -> dict[str, str]:
    """Each field's one-line help."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def flag_of(f: dataclasses.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


class _RecordsGiven(type):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        made = super().__call__(*args, **kwargs)
        names = [f.name for f in dataclasses.fields(made) if f.init]
        object.__setattr__(made, "_explicit", set(names[: len(args)]) | set(kwargs))
        return made


class Settings(metaclass=_RecordsGiven):
    """Base of the configuration dataclasses: each records which fields were given to its constructor or
    assigned later (``explicit_fields``), so that a preset never overrides a value the user chose, even one
    equal to the default, and a resume compares only what was given. Subclasses need nothing more than
    ``@dataclass``."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        explicit = self.__dict__.get("_explicit")
        if explicit is not None and name in {f.name for f in dataclasses.fields(self)}:
            explicit.add(name)

    @property
    def explicit_fields(self) -> frozenset[str]:
        return frozenset(self.__dict__.get("_explicit", ()))


def check_ranges(config: Any, checks: Iterable[tuple[bool, str]]) -> None:
    """A config's own validation: every float finite (inf and nan pass a bare ``> 0``), then each (condition,
    message) in order; the first that fails is a one-line UserError naming the option."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise UserError(f"{flag_of(f).split('/')[0]} must be a finite number, got {value}")
    for ok, message in checks:
        if not ok:
            raise UserError(message)
