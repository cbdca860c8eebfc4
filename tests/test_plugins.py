"""The plugin contract: entry points, built-ins, broken plugins, conflicts, and a pip-installed example."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from sro_bench.hookspecs import hookimpl
from sro_bench.plugins import PluginConflict, Registry

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "plugins" / "sro-bench-example"


def fake_distribution(root: Path, name: str, entry_points: str) -> None:
    """A minimal installed distribution (what pip leaves behind) on a path we put on sys.path."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[sro_bench]\n{entry_points}\n")


def test_builtins_come_from_the_projects_own_entry_points():
    reg = Registry()
    reg.load_entry_points()
    for kind, name in [("objective", "sro"), ("objective", "dpo"), ("rewriter", "duplicate"),
                       ("dataset", "paradetox-dev"), ("rewriter", "delete")]:
        component = reg.get(kind, name)
        assert component.distribution == "sro-bench" and component.description


def test_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency frobnicate')\n")
    fake_distribution(tmp_path, "broken-plugin", "broken = broken_plugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = Registry()
    with pytest.warns(UserWarning, match="frobnicate"):
        reg.load_entry_points()
    assert [f.distribution for f in reg.failures] == ["broken-plugin"]
    assert "frobnicate" in reg.failures[0].error
    assert reg.get("objective", "sro")  # everything else still loaded


def test_two_plugins_registering_one_name_is_an_error_naming_both():
    def plugin(distribution_name):
        module = types.ModuleType(f"plugin_{distribution_name}")

        @hookimpl
        def register_metrics(register):
            register("same-name", object, "a metric")

        module.register_metrics = register_metrics
        return module

    reg = Registry()
    reg.add_plugin(plugin("a"), "dist-a")
    with pytest.raises(PluginConflict, match="metric 'same-name' is registered twice: by 'dist-a' and by 'dist-b'"):
        reg.add_plugin(plugin("b"), "dist-b")


def test_unknown_names_list_the_known_ones():
    reg = Registry()
    reg.load_entry_points()
    with pytest.raises(Exception, match=r"unknown method 'nope' \(known: .*sro.*\)"):
        reg.method("nope")


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example plugin pip-installed into a directory put on the test processes' path."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(EXAMPLE)],
        check=True, capture_output=True,
    )
    return target


def cli(args: list[str], site: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", "from sro_bench.cli.main import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=tmp_path)


def test_installed_example_plugin_shows_in_list(installed_example, tmp_path):
    done = cli(["list"], installed_example, tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "sro-bench-example" in line]
    assert any("unlikelihood" in line and "objective" in line for line in lines)
    assert any("length-ratio" in line and "metric" in line for line in lines)


def test_installed_example_plugin_adds_a_command(installed_example, tmp_path):
    done = cli(["hello"], installed_example, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from sro-bench-example"


def test_plugins_import_only_from_the_top_level():
    import ast

    for path in (Path(__file__).parent.parent / "plugins").rglob("*.py"):
        if "build" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sro_bench."):
                raise AssertionError(f"{path}: imports {node.module}; plugins import from sro_bench only")


def test_builtins_load_without_entry_points(monkeypatch):
    """A source checkout that was never pip-installed still has every built-in."""
    import sro_bench.plugins as plugins

    monkeypatch.setattr(plugins, "entry_points", lambda group: [])
    reg = Registry()
    reg.load_entry_points()
    assert {"sro", "dpo", "grpo-keep"} <= set(reg.names("objective")) and "nblr" in reg.names("follower")
    assert {"delete", "duplicate"} <= set(reg.names("rewriter")) and "sta" in reg.names("metric")


def _documented_objective(monkeypatch) -> types.ModuleType:
    import re

    doc = (Path(__file__).parent.parent / "docs" / "PLUGINS.md").read_text()
    code = re.search(r"```python\n(# my_objective/__init__.py\n.*?)```", doc, re.S).group(1)
    assert len(code.strip().splitlines()) < 40
    module = types.ModuleType("my_objective")
    monkeypatch.setitem(sys.modules, "my_objective", module)  # as an installed package would be
    exec(compile(code, "docs/PLUGINS.md", "exec"), module.__dict__)
    return module


def test_the_documented_objective_runs_as_written(monkeypatch):
    """docs/PLUGINS.md's objective, executed: under 40 lines, registrable with its settings, and its loss computes."""
    import torch

    from sro_bench import LossTerms

    module = _documented_objective(monkeypatch)
    reg = Registry()
    reg.add_plugin(module, "my-objective")
    component = reg.method("unlikelihood")
    assert component.config is module.UnlikelihoodConfig
    terms = LossTerms(policy_chosen=torch.tensor([-3.0, -2.0], requires_grad=True), ref_chosen=torch.tensor([-3.0, -2.0]),
                      fails=torch.tensor([1.0, 0.0]))
    loss, figures = component.factory(component.config()).loss(terms)
    loss.backward()
    assert loss.item() > 0 and set(figures) == {"loss_fail"}
    assert terms.policy_chosen.grad[1] == 0 and terms.policy_chosen.grad[0] > 0  # only the failing sample moves
    # a failing sample exactly margin nats below the reference has h = 0: loss log 2, halved over the batch of two
    margin, _ = component.factory(component.config(margin=1.0, beta=1.0)).loss(
        LossTerms(policy_chosen=torch.tensor([-3.0, -2.0]), ref_chosen=torch.tensor([-2.0, -2.0]), fails=torch.tensor([1.0, 0.0])))
    assert margin.item() == pytest.approx(math.log(2) / 2)


def test_a_plugin_objectives_settings_are_typed_options_under_its_method(monkeypatch):
    """The tutorial's settings become `run` options: listed under the method, typed, validated, refused elsewhere."""
    from click.testing import CliRunner

    import sro_bench.plugins as plugins
    from sro_bench.cli.main import cli as command
    from sro_bench.run import runner
    from sro_bench.run.records import Record
    from sro_bench.run.run_dirs import RunDir

    reg = Registry()
    reg.load_entry_points()
    reg.add_plugin(_documented_objective(monkeypatch), "my-objective")
    monkeypatch.setattr(plugins, "loaded_registry", lambda: reg)
    seen = []
    monkeypatch.setattr(runner, "run", lambda config, **kwargs: seen.append(config) or runner.RunResult(
        RunDir("unused"), Record({"metrics": {}})))
    monkeypatch.setattr("sro_bench.cli.main.print_metrics", lambda record: None)

    help_text = CliRunner().invoke(command, ["run", "--help"], terminal_width=200).output
    section = help_text.split("Settings of --method unlikelihood:")[1]
    assert "--margin FLOAT" in section and "nats below the reference a failing" in section and "[default: 0.0]" in section
    assert "--margin" not in help_text.split("Settings of --method sro:")[1].split("Settings of")[0]

    done = CliRunner().invoke(command, ["run", "--method", "unlikelihood", "--margin", "2", "--beta", "0.5"])
    assert done.exit_code == 0, done.output
    assert type(seen[0].objective).__name__ == "UnlikelihoodConfig"
    assert (seen[0].objective.margin, seen[0].objective.beta, seen[0].objective.p_flip) == (2.0, 0.5, 0.0)
    assert seen[0].objective.explicit_fields == {"margin", "beta"}
    for args, message in [(["--margin", "x"], "'x' is not a valid float"),
                          (["--beta", "0"], "--beta must be > 0, got 0.0")]:
        done = CliRunner().invoke(command, ["run", "--method", "unlikelihood", *args])
        assert done.exit_code != 0 and message in (done.output + str(done.exception)), done.output
    done = CliRunner().invoke(command, ["run", "--method", "sro", "--margin", "1"])
    assert done.exit_code == 2 and "--margin is not a setting of --method sro" in done.output


def test_a_leader_factory_on_the_old_one_argument_contract_is_named_before_any_work(monkeypatch):
    from sro_bench.run import preflight
    from sro_bench.errors import UserError

    module = types.ModuleType("plugin_old_leader")

    @hookimpl
    def register_leaders(register):
        register("old-style", lambda config: None, "a leader factory written before LeaderContext")
        register("new-style", lambda config, context: None, "a leader factory on today's contract")

    module.register_leaders = register_leaders
    reg = Registry()
    reg.load_entry_points()
    reg.add_plugin(module, "old-leader-plugin")
    monkeypatch.setattr(preflight, "registry", lambda: reg)
    with pytest.raises(UserError, match="factory registered by 'old-leader-plugin' does not take \\(config, context\\)"):
        preflight.check_leader("old-style")
    preflight.check_leader("new-style")


def test_every_name_sro_bench_exports_resolves():
    """A plugin author's one import: every name in ``sro_bench.__all__`` loads from where it now lives."""
    import sro_bench

    missing = [name for name in sro_bench.__all__ if not hasattr(sro_bench, name)]
    assert not missing, missing


def test_the_documented_judge_set_registers_and_scores(monkeypatch):
    """docs/PLUGINS.md's judge set, executed: registered like any plugin, used by the suite by name."""
    import re

    import sro_bench.plugins as plugins
    from sro_bench.metrics import MetricContext, Suite
    from sro_bench.metrics.judge_sets import judge_set

    doc = (Path(__file__).parent.parent / "docs" / "PLUGINS.md").read_text()
    code = re.search(r"```python\n(# my_judges/__init__.py\n.*?)```", doc, re.S).group(1)
    module = types.ModuleType("my_judges")
    exec(compile(code, "docs/PLUGINS.md", "exec"), module.__dict__)
    reg = Registry()
    reg.load_entry_points()
    reg.add_plugin(module, "my-judges")
    monkeypatch.setattr(plugins, "loaded_registry", lambda: reg)
    overlap = judge_set("overlap")
    result = Suite(MetricContext(), judges=overlap).score(["you idiot"], ["you"], [["you"]])
    assert set(result.corpus) == {"BLEU", "chrF"} and result.to_dict()["judge_set"] == "overlap"
