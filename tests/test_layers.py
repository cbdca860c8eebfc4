"""The architecture's one rule that a test can hold: the plugin kinds never reach up into the layers that use them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sro_bench"
KINDS = ("data", "followers", "leaders", "objectives", "metrics")
ABOVE = {"game", "trl_dpo", "loops", "runner", "preflight", "robustness", "baselines", "evaluate", "leaderboard",
         "cli", "cli_options", "rewriting", "meter"}


def imported_modules(source: str, where: tuple[str, ...]) -> set[str]:
    """The sro_bench modules (first component below the package) that ``source``, the module at package path
    ``where`` (e.g. ("objectives", "base")), imports; relative imports resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(where[: len(where) - node.level])
                targets = [base + node.module.split(".")] if node.module else [base + [a.name] for a in node.names]
            elif node.module and node.module.startswith("sro_bench."):
                targets = [node.module.split(".")[1:]]
            else:
                continue
            found.update(t[0] for t in targets if t)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("sro_bench."))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_plugin_kinds_never_import_the_layers_above(kind):
    for path in sorted((PACKAGE / kind).rglob("*.py")):
        where = path.relative_to(PACKAGE).with_suffix("").parts
        upward = imported_modules(path.read_text(), where) & ABOVE
        assert not upward, f"{path.relative_to(PACKAGE)} imports {sorted(upward)}"


def test_the_checker_finds_upward_imports_of_every_form():
    where = ("objectives", "base")
    assert imported_modules("from ..game import Game\nfrom .config import ObjectiveConfig\n", where) == {"game", "objectives"}
    assert imported_modules("from .. import runner\n", where) == {"runner"}
    assert imported_modules("import sro_bench.leaderboard\nfrom sro_bench.cli import main\n", where) == {"leaderboard", "cli"}
    assert imported_modules("import torch\nfrom typing import Any\n", where) == set()
