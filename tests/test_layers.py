"""The house's shape, held by a test: the package by layer, imports only downward, no circles, small files.

Layers, bottom to top (a module may import its own layer and the ones below it, never one above):

- ``base``: ``errors`` and ``util/`` (files, paths, progress, settings, text measures, ...);
- ``contracts``: ``hookspecs`` (the plugin contract), ``plugins`` (the registry) and ``context`` (what every
  component gets from the run);
- ``components``: the plugin kinds, each owning its config: ``data``, ``leaders``, ``followers``,
  ``objectives``, ``rewriters``, ``metrics``;
- ``training``: the game, its loops, decoding, the meter, rewards, the trl bridge;
- ``run``: its config, directory, record, preflight, resume, the runner and evaluation;
- ``grids``: robustness grids, their executors, baseline rows;
- ``publish``: leaderboards, table formats, reports;
- ``cli``: the ``sro-bench`` command.

``sro_bench/__init__.py`` (the Python API) names things of every layer and loads them on first use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sro_bench"
LAYERS = (
    ("base", ("errors", "util")),
    ("contracts", ("hookspecs", "plugins", "context")),
    ("components", ("data", "leaders", "followers", "objectives", "rewriters", "metrics")),
    ("training", ("training",)),
    ("run", ("run",)),
    ("grids", ("grids",)),
    ("publish", ("publish",)),
    ("cli", ("cli",)),
)
RANK = {top: rank for rank, (_, tops) in enumerate(LAYERS) for top in tops}
MAX_LINES = 400
MAX_TOP_MODULES = 6


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """The sro_bench modules (dotted, below the package; "" for the package itself) that ``source``, the
    module ``module``, imports anywhere in it (functions and ``TYPE_CHECKING`` blocks too); relative imports
    resolved, and ``from X import name`` counted as X, or as X.name where that is a module."""
    here = module.split(".") if module else []
    package = here if is_package else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "sro_bench" or node.module.startswith("sro_bench.")):
                target = node.module[len("sro_bench."):] if node.module != "sro_bench" else ""
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.add(sub if _is_module(sub) else target)
        elif isinstance(node, ast.Import):
            found.update(a.name[len("sro_bench."):] for a in node.names if a.name.startswith("sro_bench."))
    return found


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        graph[name] = imported_modules(path.read_text(), name, path.name == "__init__.py") - {name}
    return graph


def layer_of(module: str) -> int | None:
    return RANK.get(module.split(".")[0]) if module else None


def test_every_module_is_in_a_layer():
    unplaced = sorted(m for m in import_graph() if m and layer_of(m) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{m} ({LAYERS[layer_of(m)][0]}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in import_graph().items() if m for t in sorted(targets)
              if t and layer_of(t) is not None and layer_of(t) > layer_of(m)]
    assert not upward, "\n".join(upward)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    # the package root only re-exports by name, lazily, so it is left out of the graph
    graph = {m: {t for t in targets if t} for m, targets in import_graph().items() if m}
    assert not circles(graph)


def test_no_file_is_over_the_line_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_few_modules_sit_at_the_top():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_MODULES, top


def test_the_checker_finds_imports_of_every_form():
    assert imported_modules("from ..training.game import Game\nfrom .config import ObjectiveConfig\n",
                            "objectives.base") == {"training.game", "objectives.config"}
    assert imported_modules("from .. import data\n", "objectives.base") == {"data"}
    assert imported_modules("def f():\n    from ..run import runner\n", "objectives.base") == {"run.runner"}
    assert imported_modules("import sro_bench.publish.leaderboard\nfrom sro_bench.cli.main import main\n",
                            "objectives.base") == {"publish.leaderboard", "cli.main"}
    assert imported_modules("from .base import Leader\n", "leaders", is_package=True) == {"leaders.base"}
    assert imported_modules("import torch\nfrom typing import Any\n", "objectives.base") == set()


def test_the_checker_finds_circles():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("module, target, upward", [("metrics.sim", "training.game", True),
                                                     ("run.runner", "training.game", False),
                                                     ("util.files", "errors", False)])
def test_layer_ranks(module, target, upward):
    assert (layer_of(target) > layer_of(module)) is upward


@pytest.mark.parametrize("args", [["--help"], ["list"], ["run", "--help"], ["leaderboard", "LEADERBOARD_RECORDS"]])
def test_the_light_commands_load_no_torch(args, tmp_path):
    import subprocess
    import sys

    records = PACKAGE.parent / "leaderboards" / "paradetox-dev-records"
    args = [str(records) if a == "LEADERBOARD_RECORDS" else a for a in args]
    if "leaderboard" in args:
        args += ["--out", str(tmp_path / "board.md")]
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "from sro_bench.cli.main import main; main()", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert not loaded & {"torch", "transformers", "trl"}, sorted(loaded & {"torch", "transformers", "trl"})
