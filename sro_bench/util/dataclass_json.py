"""Configuration dataclasses back from JSON, checked as strictly as options typed on the command line.

A run directory's config.json or a saved leader's settings may be hand-edited, truncated or from
another version; every problem becomes a one-line error naming the file and the field.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..errors import UserError

T = TypeVar("T")


def value_from_text(text: str) -> Any:
    """A value typed on the command line (``KEY=VALUE``): JSON where it parses (4, 0.5, true, [1, 2]), ``none``
    for None as ``--help`` shows it, else the text itself; ``from_json`` then checks it against the field."""
    text = text.strip()
    if text in ("none", "None"):
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def from_json(cls: type[T], data: Any, where: str, *, strict: bool = True, prefix: str = "") -> T:
    """``cls`` built from ``data`` (a JSON object); ``strict`` also rejects fields ``cls`` does not have.

    ``where`` names the file in errors; missing fields take their defaults."""
    if not isinstance(data, dict):
        what = f"{prefix.rstrip('.')} must be" if prefix else "expected"
        raise UserError(f"{where}: {what} a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - fields)
    if unknown and strict:
        raise UserError(f"{where}: unknown setting {prefix}{unknown[0]}")
    values = {name: _convert(hints[name], value, where, prefix + name, strict)
              for name, value in data.items() if name in fields}
    return cls(**values)


def _convert(hint: Any, value: Any, where: str, name: str, strict: bool) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        problems = []
        for option in options:
            try:
                return _convert(option, value, where, name, strict)
            except UserError as exc:
                problems.append(str(exc))
        raise UserError(problems[0])
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, where, strict=strict, prefix=name + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise UserError(f"{where}: {name} must be a finite number, got {value}")
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    elif hint is Path:
        if isinstance(value, str) and value:
            return Path(value)
    elif origin in (list, tuple):
        if isinstance(value, list):
            item = args[0] if args else Any
            items = [v if item is Any else _convert(item, v, where, name, strict) for v in value]
            return items if origin is list else tuple(items)
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return value
    elif hint is Any:
        return value
    expected = getattr(hint, "__name__", str(hint))
    raise UserError(f"{where}: {name} must be {expected}, got {type(value).__name__} {value!r:.40}")


def jsonable(value: Any) -> Any:
    """Dataclasses, paths, numpy scalars and tuples made plain for JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    return value


def write_json(path: Path, data: Any) -> None:
    """``data`` made plain (:func:`jsonable`) and written atomically, indented."""
    from .files import atomic_write_text

    atomic_write_text(path, json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=True) + "\n")
