"""Package attributes loaded on first use, so that importing a package (``sro-bench list``, ``--help``) loads no
torch until a name that needs it is asked for."""

from __future__ import annotations

from typing import Any, Callable


def lazy_attributes(package: str, table: dict[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for ``package``: ``name`` is imported from ``package.<table[name]>``."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        return getattr(importlib.import_module(f"{package}.{table[name]}"), name)

    return __getattr__
