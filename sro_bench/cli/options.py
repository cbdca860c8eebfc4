"""Command-line options generated from the configuration dataclasses' fields (sro_bench.util.settings).

Each option's flag, type, choices, help and shown default come from its field, so `sro-bench run --help`
cannot drift from the dataclasses. Values are only converted here; ranges are checked by
each config's own ``validate`` (beside its fields, with the option's name in the message).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from ..util.dataclass_json import value_from_text
from ..util.settings import flag_of

# Piped output (logs, CI) would get rich's 80 columns and a truncated score table.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160)
SEP = "__"  # click parameter names are PREFIX__FIELD, so fields of different classes never collide


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if value == "":
        return "''"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _optional_removed(hint: Any) -> Any:
    """``int | None`` -> int; anything else unchanged."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return hint


def _base_type(hint: Any) -> Any:
    """``int | None`` -> int; ``list[str]`` -> list; ``Path | None`` -> Path."""
    hint = _optional_removed(hint)
    return typing.get_origin(hint) or hint


def _key_values(ctx, param, values):
    out = {}
    for text in values or ():
        key, eq, raw = text.partition("=")
        if not eq or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {text!r}")
        out[key.strip()] = value_from_text(raw)
    return out or None


def _comma(kind: type, item: type = str):
    def convert(ctx, param, value):
        if value is None:
            return None
        items = [v.strip() for v in value.split(",") if v.strip()]
        if not items:  # "--metrics ''" is a slip, not a request for nothing
            raise click.BadParameter(f"no value in {value!r}; leave the option out for its default")
        try:
            items = [item(v) for v in items]
        except ValueError:
            raise click.BadParameter(f"expected {item.__name__} values like 0,1, got {value!r}") from None
        return tuple(items) if kind is tuple else items

    return convert


def option(f: dataclasses.Field, hint: Any, prefix: str, default: Any, note: str = "") -> Callable:
    """One click option for field ``f`` (default None: "not given", so the dataclass default applies)."""
    decls, kwargs = _option_arguments(f, hint, prefix, default, note)
    return click.option(*decls, **kwargs)


def _option_arguments(f: dataclasses.Field, hint: Any, prefix: str, default: Any,
                      note: str = "") -> tuple[list[str], dict[str, Any]]:
    meta, name = f.metadata, f"{prefix}{SEP}{f.name}"
    flag, kind = flag_of(f), _base_type(hint)
    # click shows a string default in parentheses; the default goes into the help text instead
    kwargs: dict[str, Any] = {"default": None, "help": f"{meta.get('help', '')}  [default: {_shown(default)}{note}]"}
    if meta.get("required"):
        kwargs.update(required=True, help=meta.get("help", ""))
    if kind is bool:
        if "/" not in flag:  # a lone switch; "--on/--off" pairs are click's own boolean flags
            kwargs["is_flag"] = True
    elif meta.get("comma"):
        item = next((a for a in typing.get_args(_optional_removed(hint)) if a in (int, float)), str)
        kwargs.update(type=str, callback=_comma(kind, item), metavar="A,B,...")
    elif kind in (dict, list):  # repeatable
        del kwargs["default"]
        kwargs["help"] = meta.get("help", "") + (f"  [default: {_shown(default)}]" if default else "")
        kwargs.update(multiple=True,
                      callback=_key_values if kind is dict else (lambda ctx, param, value: list(value) or None),
                      metavar="KEY=VALUE" if kind is dict else None)
    elif kind is Path:
        kwargs["type"] = path_type(meta.get("path"))
    else:
        kwargs["type"] = click.Choice(meta["choices"]) if meta.get("choices") else kind
    return [flag, name], kwargs


def _metavar(name: str, many: bool, required: bool) -> str:
    shown = name.upper() + ("..." if many else "")
    return shown if required else f"[{shown}]"


def path_type(kind: str | None) -> click.Path:
    """``file``: an existing file; ``dir``: an existing directory; ``existing``: either; ``output-file``: a file
    to write; None: a directory, made where it is missing."""
    return click.Path(exists=kind in ("file", "dir", "existing"), dir_okay=kind not in ("file", "output-file"),
                      file_okay=kind in ("file", "output-file", "existing"), path_type=Path)


def argument(f: dataclasses.Field, hint: Any, prefix: str) -> Callable:
    """A positional argument for field ``f`` (``argument=True`` in its metadata); a list takes one or more."""
    many = _base_type(hint) is list
    item = next(iter(typing.get_args(_optional_removed(hint))), str) if many else _base_type(hint)
    kind = path_type(f.metadata.get("path")) if item is Path else item
    required = bool(f.metadata.get("required"))
    default = {} if many or required else {"default": f.default}
    as_list = (lambda ctx, param, value: list(value)) if many else None
    return click.argument(f"{prefix}{SEP}{f.name}", nargs=-1 if many else 1, required=required, type=kind,
                          metavar=_metavar(f.name, many, required), callback=as_list, **default)


def settings_options(cls: type, prefix: str) -> list[click.Option]:
    """An option per command-line field of ``cls``, its default that of ``cls``."""
    hints, defaults = typing.get_type_hints(cls), cls()
    arguments = [_option_arguments(f, hints[f.name], prefix, getattr(defaults, f.name))
                 for f in dataclasses.fields(cls) if f.metadata.get("cli", False)]
    return [click.Option(decls, **kwargs) for decls, kwargs in arguments]


class SettingsByMethod(click.Command):
    """A command that also takes every method's own settings, found when first needed (``settings()``: method ->
    its settings class). A setting several methods declare is one option; ``--help`` lists each method's
    settings under it, with that method's defaults."""

    def __init__(self, *args: Any, settings: Callable[[], dict[str, type]], prefix: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._settings, self._prefix = settings, prefix

    def by_method(self) -> dict[str, list[click.Option]]:
        # not kept: the registry may differ between calls (tests, notebooks), and building is cheap
        return {method: settings_options(cls, self._prefix) for method, cls in self._settings().items()}

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        shared: dict[str, click.Option] = {}
        for options in self.by_method().values():
            for opt in options:
                shared.setdefault(opt.name, opt)  # the first declaration's type parses the value
        help_option = self.get_help_option(ctx)
        return [*self.params, *shared.values(), *([help_option] if help_option is not None else [])]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [p.get_help_record(ctx) for p in [*self.params, self.get_help_option(ctx)] if p is not None]
        with formatter.section("Options"):
            formatter.write_dl([r for r in rows if r is not None])
        for method, options in self.by_method().items():
            if options:
                with formatter.section(f"Settings of --method {method}"):
                    formatter.write_dl([opt.get_help_record(ctx) for opt in options])


def settings_given(method: str, settings: type | None, given: dict[str, Any]) -> Any:
    """``settings`` (the method's class, None for a training-free rewriter) built from the values ``given`` (field
    -> value); a value for a setting the method does not have is a one-line error naming the option."""
    own = {f.name for f in dataclasses.fields(settings) if f.metadata.get("cli", False)} if settings else set()
    stray = sorted(set(given) - own)
    if stray:
        flag = "--" + stray[0].replace("_", "-")
        what = "a training-free rewriter takes no settings" if settings is None else f"its settings: {_flags(settings)}"
        raise click.UsageError(f"{flag} is not a setting of --method {method} ({what})")
    return None if settings is None else settings(**given)


def _flags(cls: type) -> str:
    return ", ".join(flag_of(f).split("/")[0] for f in dataclasses.fields(cls) if f.metadata.get("cli", False)) or "none"


def options_for(cls: type, prefix: str, *, only: tuple[str, ...] | None = None,
                note: str = "") -> Callable[[Callable], Callable]:
    """A decorator adding an option per command-line field of ``cls`` (``only``: just these fields)."""
    hints = typing.get_type_hints(cls)
    defaults = cls()
    chosen = [f for f in dataclasses.fields(cls) if f.metadata.get("cli", False) and (only is None or f.name in only)]
    chosen.sort(key=lambda f: _declared_in(cls, f.name))  # a command's own options first, shared ones (paths) after

    def decorate(fn: Callable) -> Callable:
        for f in reversed(chosen):
            if f.metadata.get("argument"):
                fn = argument(f, hints[f.name], prefix)(fn)
            else:
                fn = option(f, hints[f.name], prefix, getattr(defaults, f.name), note)(fn)
        return fn

    return decorate


def fields(config: Any, **renamed: str) -> dict[str, Any]:
    """``config``'s fields as keyword arguments for the API function it configures (``renamed``: field -> its
    parameter's name there)."""
    return {renamed.get(f.name, f.name): getattr(config, f.name) for f in dataclasses.fields(config)}


def _declared_in(cls: type, name: str) -> int:
    """How far up ``cls``'s bases field ``name`` was first declared (0: in ``cls`` itself)."""
    owners = [i for i, c in enumerate(cls.__mro__) if name in getattr(c, "__annotations__", {})]
    return max(owners, default=0)


def take(options: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The values given for ``prefix``'s fields (removed from ``options``); options not given are left out."""
    out = {}
    for key in [k for k in options if k.startswith(prefix + SEP)]:
        value = options.pop(key)
        if value is not None:
            out[key[len(prefix) + len(SEP):]] = value
    return out
