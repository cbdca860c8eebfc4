"""docs/cli.md is the commands' own help, generated; it fails here when a config or command changed without it."""

from pathlib import Path

from sro_bench.cli.reference import reference

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_the_cli_reference_is_current():
    assert DOC.read_text() == reference(), "docs/cli.md is stale: python -m sro_bench.cli.reference > docs/cli.md"


def test_the_reference_has_every_command_with_its_generated_options():
    text = reference()
    for heading in ("## sro-bench run", "## sro-bench list", "## sro-bench suite agreement", "## sro-bench leader prepare"):
        assert heading in text
    assert "--samples-per-input" in text and "--beta" in text  # fields of GameConfig and ObjectiveConfig
