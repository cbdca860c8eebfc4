"""The plugin manager: every entry point of group ``sro_bench`` is loaded, built-ins included.

A plugin that fails to import is recorded in :attr:`Registry.failures` (shown by ``sro-bench list``
and warned about) and never stops the program. Two plugins registering one name is an error naming both
for every command but ``list``, which shows the clash.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import UserError

# The built-ins, registered through the same hooks as any plugin (also listed as entry points in pyproject.toml).
BUILTIN_MODULES = ("sro_bench.data.plugin", "sro_bench.leaders.plugin", "sro_bench.followers.plugin",
                   "sro_bench.objectives.plugin", "sro_bench.rewriters.plugin", "sro_bench.metrics.plugin")
KINDS = ("leader", "follower", "objective", "rewriter", "metric", "dataset", "judge_set")
_HOOKS = {kind: f"register_{kind}s" for kind in KINDS}


@dataclass(frozen=True)
class Component:
    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    distribution: str
    #: an objective's settings, a dataclass subclassing ObjectiveConfig (None: ObjectiveConfig; other kinds: None)
    config: type | None = None


@dataclass(frozen=True)
class PluginFailure:
    entry_point: str
    distribution: str
    error: str


class PluginConflict(UserError):
    pass


class Registry:
    """Components by kind and name, as registered by loaded plugins."""

    def __init__(self) -> None:
        self.components: dict[tuple[str, str], Component] = {}
        self.failures: list[PluginFailure] = []
        self.conflicts: list[str] = []
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)

    def add_plugin(self, module: Any, distribution: str) -> None:
        """Register one plugin object (usually a module) and collect its components."""
        if self.manager.is_registered(module):
            return
        name = f"{distribution}:{getattr(module, '__name__', repr(module))}"
        self.manager.register(module, name=name)
        for kind, hook_name in _HOOKS.items():
            for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                if impl.plugin is module:
                    impl.function(register=self._registrar(kind, distribution))

    def _registrar(self, kind: str, distribution: str) -> Callable[..., None]:
        def register(name: str, factory: Callable[..., Any], description: str = "", *, config: type | None = None) -> None:
            key = (kind, name)
            if kind == "objective":
                config = _objective_config(name, config)
            elif config is not None:
                raise TypeError(f"{kind} {name!r}: only objectives register a config")
            if key in self.components:
                other = self.components[key].distribution
                raise PluginConflict(
                    f"{kind} {name!r} is registered twice: by {other!r} and by {distribution!r}"
                )
            summary = description.strip().splitlines()[0] if description.strip() else ""
            self.components[key] = Component(kind, name, factory, summary, distribution, config)

        return register

    def load_entry_points(self) -> None:
        """Every installed plugin; then any built-in missing from them (a source checkout never installed)."""
        self._load_installed()
        import importlib

        for name in BUILTIN_MODULES:
            module = importlib.import_module(name)
            if not self.manager.is_registered(module):
                try:
                    self.add_plugin(module, "sro-bench")
                except PluginConflict as exc:
                    self.conflicts.append(str(exc))

    def _load_installed(self) -> None:
        for ep in entry_points(group=hookspecs.PROJECT):
            dist = ep.dist.name if ep.dist is not None else "?"
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must never stop the program
                self._fail(f"{ep.name} = {ep.value}", dist, exc)
                continue
            try:
                self.add_plugin(module, dist)
            except PluginConflict as exc:
                self.conflicts.append(str(exc))
            except Exception as exc:
                self._fail(f"{ep.name} = {ep.value}", dist, exc)

    def _fail(self, entry_point: str, distribution: str, exc: Exception) -> None:
        failure = PluginFailure(entry_point, distribution, f"{type(exc).__name__}: {exc}")
        self.failures.append(failure)
        warnings.warn(
            f"sro-bench plugin {entry_point} from {distribution} failed to load: {failure.error}",
            stacklevel=3,
        )

    def names(self, kind: str) -> list[str]:
        return sorted(name for k, name in self.components if k == kind)

    def get(self, kind: str, name: str) -> Component:
        try:
            return self.components[(kind, name)]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise UserError(f"unknown {kind} {name!r} (known: {known})") from None

    def find(self, kind: str, name: str) -> Component | None:
        return self.components.get((kind, name))

    def method(self, name: str) -> Component:
        """A method is an objective (trains a leader) or a training-free rewriter."""
        found = self.find("objective", name) or self.find("rewriter", name)
        if found is None:
            known = ", ".join(sorted(self.names("objective") + self.names("rewriter"))) or "none"
            raise UserError(f"unknown method {name!r} (known: {known})")
        return found

    def __iter__(self):
        return iter(sorted(self.components.values(), key=lambda c: (KINDS.index(c.kind), c.name)))


def _objective_config(name: str, config: type | None) -> type | None:
    """The settings class an objective registered: a dataclass (the run checks it subclasses ObjectiveConfig)."""
    import dataclasses

    if config is not None and not (isinstance(config, type) and dataclasses.is_dataclass(config)):
        raise TypeError(f"objective {name!r}: config= must be a dataclass subclassing ObjectiveConfig, got {config!r}")
    return config


def lazy(module: str, attribute: str) -> Callable[..., Any]:
    """A factory that imports ``module`` only when called: `sro-bench list` never loads torch or a model."""
    def factory(*args: Any, **kwargs: Any) -> Any:
        import importlib

        return getattr(importlib.import_module(module), attribute)(*args, **kwargs)

    factory.__name__ = factory.__qualname__ = attribute
    return factory


def table_hook(rows: tuple[tuple, ...]) -> Callable[..., None]:
    """A ``register_<kind>s`` hook implementation registering ``(name, module, factory, description)`` rows
    (objectives add their config class), each factory imported only when used (how the built-ins register)."""
    def hook(register):
        for name, module, factory, description, *config in rows:
            register(name, lazy(module, factory), description, **({"config": config[0]} if config else {}))

    return hookspecs.hookimpl(hook)


@lru_cache(maxsize=1)
def loaded_registry() -> Registry:
    """The process-wide registry as loaded from entry points, clashes and all (for ``sro-bench list``)."""
    reg = Registry()
    reg.load_entry_points()
    return reg


def registry() -> Registry:
    """The process-wide registry; a name registered by two plugins is an error naming both."""
    reg = loaded_registry()
    if reg.conflicts:
        raise PluginConflict(reg.conflicts[0] + " (uninstall one; `sro-bench list` shows both)")
    return reg
