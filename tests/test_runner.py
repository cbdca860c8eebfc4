"""End to end through the Python API and the CLI: runs, records, resume, eval, rewrite, leaderboards, robustness."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.errors import UserError
from sro_bench.leaders import LeaderConfig
from sro_bench.run.records import SCHEMA, Record
from sro_bench.run.run_dirs import RunDir
from sro_bench.run.runner import run

SMOKE = dict(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8, checkpoint_every=1)


@pytest.fixture
def base(data_dir, tmp_path) -> RunConfig:
    return RunConfig(leader=LeaderConfig(name="tiny"), game=GameConfig(**SMOKE), eval_limit=12,
                     data_dir=data_dir, runs_dir=tmp_path / "runs")


def valid_record(record: dict) -> None:
    path = Path(record.path)
    on_disk = json.loads(path.read_text())
    assert on_disk["schema"] == SCHEMA
    for key in ("config", "versions", "git", "seed", "hardware", "timings", "metrics", "evaluation"):
        assert key in on_disk, key
    for metric in ("STA", "SIM", "FL", "J", "BLEU", "chrF"):
        assert 0 <= on_disk["metrics"][metric] <= (100 if metric in ("BLEU", "chrF") else 1) + 1e-9, metric
    rewrites = (path.parent / "rewrites.tsv").read_text().splitlines()
    assert rewrites[0].startswith("input\trewrite\treference1") and len(rewrites) == 1 + on_disk["evaluation"]["rows"]


@pytest.mark.parametrize("method", ["sro", "sro-robust", "kto", "rs-sft", "dpo", "bok", "grpo", "grpo-fluent"])
def test_every_training_method_runs_end_to_end(base, method):
    base.method = method
    base.game.samples_per_input = 2 if method in ("bok", "grpo", "grpo-fluent") else 1
    record = run(base, progress=False).record
    valid_record(record)
    assert record["game"]["steps"] == 3 and len(record["game"]["history"]) == 3
    # the kinds of edit: in the record's figures for the final rewrites, and per step for the samples
    from sro_bench.util.text import edit_figures
    rows = [line.split("\t") for line in (record.run_dir / "rewrites.tsv").read_text().splitlines()[1:]]
    by_hand = edit_figures([r[0] for r in rows], [r[1] for r in rows])
    for key in ("identical", "deletion", "addition"):
        assert record["metrics"][key] == pytest.approx(by_hand[f"{key}_rate"])
    if method != "dpo":
        assert all(0 <= h["deletion_rate"] <= 1 and 0 <= h["addition_rate"] <= 1 for h in record["game"]["history"])
    if method == "grpo-fluent":
        assert all(0 < h["fluency"] <= 1 for h in record["game"]["history"])
    assert record["training_data"]["dataset"] == "paradetox-train"  # the cpu preset's, for every method
    assert record["training_data"]["rows_used"] == 24
    assert (record.run_dir / "leader" / "leader.json").exists()


def test_presets_choose_follower_training_set_and_rules(data_dir):
    from sro_bench.run.runner import resolve

    cpu = resolve(RunConfig(data_dir=data_dir))
    assert (cpu.follower, cpu.train_dataset) == ("nblr-char", "paradetox-train")
    assert cpu.game.unended == "fail" and cpu.game.freeze_embeddings and cpu.game.chosen_nll == 1.0 and cpu.game.fail_repeats
    paper = resolve(RunConfig(preset="paper", data_dir=data_dir))
    assert (paper.follower, paper.train_dataset) == ("nblr", None)  # None: dirty.csv for on-policy methods
    g = paper.game
    assert (g.length_budget, g.unended, g.min_length_ratio, g.max_length_ratio, g.fail_repeats) == (0, "keep", 0, 0, False)
    assert (g.freeze_embeddings, g.chosen_nll, g.warmup_steps, g.batch_size, g.max_new_tokens) == (False, 0, 0, 1, 20)
    mine = resolve(RunConfig(follower="nblr", train_dataset="dirty", data_dir=data_dir))
    assert (mine.follower, mine.train_dataset) == ("nblr", "dirty")  # explicit choices win over the preset's


@pytest.mark.parametrize("method", ["duplicate", "delete", "reference"])
def test_training_free_rewriters(base, method):
    base.method = method
    record = run(base, progress=False).record
    valid_record(record)
    rows = [line.split("\t") for line in (record.run_dir / "rewrites.tsv").read_text().splitlines()[1:]]
    if method == "duplicate":
        assert all(r[0] == r[1] for r in rows)
    if method == "reference":
        assert all(r[1] == r[2] for r in rows)
        assert record["metrics"]["BLEU"] == pytest.approx(100.0)


def test_exclusion_list_is_applied_and_counted(base, tmp_path, data_dir):
    from sro_bench.data import load_dataset

    first = load_dataset("dirty", data_dir).inputs[:5]
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("\n".join(x.upper() + " !!" for x in first) + "\n")
    base.exclude = exclude
    base.train_dataset = "dirty"
    base.game.max_train_inputs = None
    base.game.max_steps = 1
    record = run(base, progress=False).record
    assert record["training_data"]["excluded_by_list"] >= 5
    assert record["training_data"]["rows_used"] == 14_869 - record["training_data"]["excluded_by_list"] \
        - record["training_data"]["excluded_as_eval_inputs"]


def test_resumed_run_reaches_the_same_metrics(base, tmp_path):
    base.run_id = "whole"
    whole = run(base, progress=False).record
    base.run_id = "split"
    interrupted = run(base, progress=False, stop_after=2)
    assert interrupted.stopped_at == 2
    resumed = run(RunConfig(), resume=interrupted.run_dir.path, progress=False).record
    assert resumed["game"]["resumed_from"] == 2
    assert resumed["metrics"]["J"] == pytest.approx(whole["metrics"]["J"], abs=1e-6)
    assert resumed["metrics"]["BLEU"] == pytest.approx(whole["metrics"]["BLEU"], abs=1e-6)
    assert [h["loss"] for h in resumed["game"]["history"]] == pytest.approx(
        [h["loss"] for h in whole["game"]["history"]], rel=1e-5)
    # the untrained leader was scored before the interruption and is read back, not re-scored from a trained one
    assert resumed["start"] == whole["start"]
    assert "start" not in resumed["timings"]


def test_the_untrained_start_is_scored_with_the_same_decoding(base):
    base.method, base.run_id = "sro", "scored"
    record = run(base, progress=False).record
    start = RunDir(record.run_dir / "start")
    rows = [line.split("\t") for line in start.rewrites.read_text().splitlines()[1:]]
    assert len(rows) == record["evaluation"]["rows"] == len(start.scores.read_text().splitlines()) - 1
    # the same scorer as the final rewrites: J of the start's per-sentence scores is its record's J
    j = [float(line.split("\t")[-1]) for line in start.scores.read_text().splitlines()[1:]]
    assert record["start"]["metrics"]["J"] == pytest.approx(sum(j) / len(j), abs=1e-3)
    assert set(record["start"]["rewrite_quality"]) == set(record["rewrite_quality"])
    from sro_bench.training.meter import learning_note
    line = learning_note(record["metrics"], record["start"]["metrics"], record["game"]["history"], window=1)
    assert f"against {record['start']['metrics']['J']:.3f} untrained" in line and "judge pass" in line
    base.score_start, base.run_id = False, "unscored"
    assert "start" not in run(base, progress=False).record


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", "from sro_bench.cli.main import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env=env)


@pytest.mark.parametrize("args, message", [
    (["run", "--method", "nope"], "error: unknown method 'nope' (known: "),
    (["run", "--perturb", "flip:1.5", "--method", "duplicate"], "flip"),
    (["run", "--p-flip", "abc"], "'abc' is not a valid float"),
    (["run", "--preset", "huge"], "'huge' is not one of 'cpu', 'paper', 'smoke'"),
    (["run", "--method", "grpo"], "error: --method grpo needs --samples-per-input >= 2 (got 1)"),
])
def test_cli_bad_options_are_one_line(tmp_path, args, message):
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").rglob("record.json"))


def test_eval_and_leaderboard_from_the_cli(base, tmp_path):
    inputs = tmp_path / "in.txt"
    inputs.write_text("you are an idiot\nthis is stupid crap\n")
    predictions = tmp_path / "pred.txt"
    predictions.write_text("i think you are wrong here\nthis is a bad idea\n")
    short = tmp_path / "short.txt"
    short.write_text("one line\n")
    done = cli("eval", "--inputs", str(inputs), "--predictions", str(short), cwd=tmp_path)
    assert done.returncode == 2 and "1 lines, but" in done.stderr
    done = cli("eval", "--inputs", str(inputs), "--predictions", str(predictions), "--references", str(predictions),
               "--json", str(tmp_path / "ext.json"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    external = json.loads((tmp_path / "ext.json").read_text())
    assert external["schema"] == SCHEMA and external["metrics"]["BLEU"] == pytest.approx(100.0)

    base.method = "sro"
    record = run(base, progress=False).record
    out = tmp_path / "board" / "dev.md"
    done = cli("leaderboard", str(base.runs_dir), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "| sro |" in out.read_text() and "| delete |" not in out.read_text()  # rendering only: nothing ran
    done = cli("baselines", str(base.runs_dir), "--runs-dir", str(base.runs_dir), "--data-dir", str(base.data_dir),
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 baseline records" in done.stdout
    done = cli("leaderboard", str(base.runs_dir), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = out.read_text()
    assert "sro-bench leaderboard" in table and "Evaluation set: paradetox-dev (12 rows" in table
    for method in ("sro", "duplicate", "delete", "reference"):
        assert f"| {method} |" in table
    assert out.with_suffix(".csv").read_text().startswith("method,leader,follower,perturbation,seed,steps,rows,STA")

    rewritten = tmp_path / "rewritten.txt"
    done = cli("rewrite", "--run", str(record.run_dir), "--input", str(inputs), "--output",
               str(rewritten), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(rewritten.read_text().splitlines()) == 2


def test_rewrite_uses_the_runs_token_budgets(base, tmp_path, monkeypatch):
    from sro_bench.run.evaluate import rewrite_file
    from sro_bench.leaders import HFLeader

    base.method = "sro"
    base.game.length_budget = 0.25  # budgets under max_new_tokens
    record = run(base, progress=False).record
    budgets, generate = [], HFLeader.generate

    def spy(self, inputs, **options):
        budgets.append(options.get("max_new_tokens"))
        return generate(self, inputs, **options)

    monkeypatch.setattr(HFLeader, "generate", spy)
    inputs = tmp_path / "in.txt"
    inputs.write_text("one two three four five six seven eight\nshort\n")
    assert rewrite_file(record.run_dir, inputs, tmp_path / "out.txt") == 2
    assert budgets == [[4, 3]]  # ceil(0.25 x tokens) + 2, as the run rewrote its evaluation set


def test_robustness_grid_runs_and_resumes(base, tmp_path):
    from sro_bench.run.records import read_record
    from sro_bench.grids.robustness import RobustnessConfig, publish, summarise

    config = RobustnessConfig(methods=["sro", "rs-sft"], axes=["flip:0,0.3"], seeds=[0], out=tmp_path / "rob",
                              base=base, game_overrides={}, method_overrides={"rs-sft": {"max_steps": 1}})
    statuses = []
    paths = publish(config, "sro-bench robustness (test)", progress=False,
                    on_cell=lambda cell, status: statuses.append(status))
    assert statuses == ["ran"] * 4
    steps = {cell.name: len(read_record(cell)["game"]["history"]) for cell in (tmp_path / "rob" / "cells").iterdir()}
    assert steps == {"sro--none--s0": base.game.max_steps, "sro--flip-0.3--s0": base.game.max_steps,
                     "rs-sft--none--s0": 1, "rs-sft--flip-0.3--s0": 1}
    assert paths["plot"].stat().st_size > 1000
    table = paths["table"].read_text()
    assert "| sro | flip:0.3 | 1 |" in table and "| rs-sft | none | 1 |" in table
    record = read_record(tmp_path / "rob" / "cells" / "sro--flip-0.3--s0")
    row = summarise([record])[0]
    assert row["start_J"] == record["start"]["metrics"]["J"]  # the untrained start under the same perturbed screener
    assert row["J_gain"] == pytest.approx(record["metrics"]["J"] - record["start"]["metrics"]["J"])
    assert f"| {row['start_J']:.3f} | {row['J_gain']:.3f} |" in table

    interrupted = tmp_path / "rob" / "cells" / "sro--flip-0.3--s0"
    (interrupted / "record.json").unlink()
    statuses.clear()
    publish(config, "sro-bench robustness (test)", progress=False, on_cell=lambda cell, status: statuses.append(status))
    assert sorted(statuses) == ["resumed", "skipped (done)", "skipped (done)", "skipped (done)"]


def test_configurations_saved_before_leader_context_still_load_and_group(base):
    from sro_bench.run.config import from_dict
    from sro_bench.publish.leaderboard import config_key
    from sro_bench.util.dataclass_json import jsonable

    now = jsonable(base)
    before = {**now, "leader": {**now["leader"], "seed": 1, "data_dir": "/d", "cache_dir": None, "max_new_tokens": 8}}
    assert from_dict(before) == from_dict(now)
    assert config_key({"kind": "run", "config": before}) == config_key({"kind": "run", "config": now})
    with pytest.raises(UserError, match="unknown setting leader.sede"):
        from_dict({**now, "leader": {**now["leader"], "sede": 1}})


def test_a_run_stored_with_the_shared_objective_section_groups_with_todays_runs(base):
    """Seeds of one configuration share a board row whether stored before or after each objective had its own
    settings (a new seed of the main job would otherwise sit apart from the shipped one)."""
    from sro_bench.objectives import SROConfig
    from sro_bench.publish.leaderboard import config_key
    from sro_bench.util.dataclass_json import jsonable

    today = jsonable(dataclasses.replace(base, objective=SROConfig()))
    before = {**today, "objective": {"beta": 0.1, "label_smoothing": 0.1, "p_flip": None, "assumed_flip": None,
                                     "dr_beta": 0.0, "kto_desirable_weight": 1.0, "kto_undesirable_weight": 1.0,
                                     "grpo_kl": 0.04, "kept_measure": None, "dpo_backend": "auto", "options": {}}}
    assert config_key({"kind": "run", "config": before}) == config_key({"kind": "run", "config": today})
    other = {**today, "objective": {**today["objective"], "beta": 0.2}}
    assert config_key({"kind": "run", "config": other}) != config_key({"kind": "run", "config": today})


def test_leaderboard_averages_seeds_per_configuration():
    from sro_bench.publish.leaderboard import numeric, score_columns, seed_means

    numbers = list(numeric(score_columns([])))

    def fake(method, seed, j, nonword):
        r = {"method": method, "leader": "minilm", "follower": "nblr", "perturbation": "-", "steps": 60, "rows": 671,
             "seed": seed, "config": method, **{c: None for c in numbers}}
        r.update(J=j, **{"non-word": nonword})
        return r

    means = seed_means([fake("sro", 0, 0.2, 0.01), fake("sro", 1, 0.4, 0.03), fake("bok", 0, 0.35, 0.0)], numbers)
    assert [(m["method"], m["seeds"]) for m in means] == [("bok", 1), ("sro", 2)]  # by mean J: 0.35 > 0.3
    assert means[1]["J"] == pytest.approx(0.3) and means[1]["non-word"] == pytest.approx(0.02)
    assert means[1]["STA"] is None
    other_config = fake("sro", 2, 0.9, 0.0)
    other_config["config"] = "sro-lr-1e-3"
    assert len(seed_means([fake("sro", 0, 0.2, 0.01), other_config], numbers)) == 2  # different settings, never averaged


def test_a_plugin_metric_gets_a_leaderboard_column_in_its_declared_format(tmp_path):
    from sro_bench.publish.leaderboard import publish
    from sro_bench.run.records import new_record
    from sro_bench.util.dataclass_json import write_json

    for name, ratio in (("short", 0.5), ("long", 0.987)):
        write_json(tmp_path / "r" / name / "record.json", new_record(
            "eval", run_id=name, seed=None, method={"name": name, "kind": "external", "distribution": None}, config={},
            perturbation=[], evaluation={"name": "set", "rows": 3, "digest": "d"},
            metrics={"STA": 0.5, "SIM": 0.5, "FL": 0.5, "J": 0.125, "length-ratio": ratio},
            suite={"judges": {}, "figures": {"length-ratio": {"format": ".2f"}}}))
    publish([tmp_path / "r"], tmp_path / "board.md", command="test")
    table = (tmp_path / "board.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| method"))
    assert "| length-ratio |" in header
    assert "| 0.99 |" in table and "| 0.50 |" in table
    assert "length-ratio" in (tmp_path / "board.csv").read_text().splitlines()[0]


def test_grid_settings_per_method_are_typed_and_checked():
    from sro_bench.errors import UserError
    from sro_bench.grids.config import parse_method_setting

    assert parse_method_setting("grpo-keep:samples_per_input=4") == ("grpo-keep", "samples_per_input", 4)
    assert parse_method_setting("sro:temperature=0.7") == ("sro", "temperature", 0.7)
    assert parse_method_setting("sro:fail-repeats=true") == ("sro", "fail_repeats", True)
    assert parse_method_setting("sro:max_train_inputs=50") == ("sro", "max_train_inputs", 50)
    assert parse_method_setting("sro:max_train_inputs=none") == ("sro", "max_train_inputs", None)
    assert parse_method_setting("sro:unended=fail") == ("sro", "unended", "fail")
    for bad, problem in (("sro", "expected METHOD:FIELD=VALUE"), ("sro:bogus=1", "not a game setting"),
                         ("sro:batch_size=x", "batch_size must be int, got str 'x'"),
                         ("sro:batch_size=2.5", "batch_size must be int, got float"),
                         ("sro:fail_repeats=maybe", "fail_repeats must be bool")):
        with pytest.raises(UserError, match=problem):
            parse_method_setting(bad)


def test_robustness_applies_a_method_setting_to_that_methods_cells_only(tmp_path):
    done = cli("robustness", "--methods", "sro", "--set", "grpo:samples_per_input=2", "--out", str(tmp_path / "r"),
               cwd=tmp_path)
    assert done.returncode == 2 and "'grpo' is not one of --methods" in done.stderr
    assert not (tmp_path / "r").exists()


def test_written_files_follow_the_umask(tmp_path):
    from sro_bench.util.files import atomic_write_bytes, atomic_write_text

    old = os.umask(0o022)
    try:
        text, data = atomic_write_text(tmp_path / "a" / "r.json", "{}"), atomic_write_bytes(tmp_path / "b.png", b"x")
    finally:
        os.umask(old)
    assert (text.stat().st_mode & 0o777, data.stat().st_mode & 0o777) == (0o644, 0o644)
    assert text.read_text() == "{}" and data.read_bytes() == b"x"
    assert not [p for p in tmp_path.rglob(".*.tmp")]


def test_a_setting_given_wins_over_the_preset_even_at_its_default(data_dir, tmp_path):
    from sro_bench.run.runner import resolve

    def steps(game: GameConfig) -> int | None:
        config = RunConfig(leader=LeaderConfig(name="tiny"), game=game, preset="paper", data_dir=data_dir,
                           runs_dir=tmp_path)
        return resolve(config).game.max_steps

    assert steps(GameConfig()) is None  # the paper's schedule runs every epoch
    assert steps(GameConfig(max_steps=100)) == 100  # 100 is also the default: given, it still wins
    game = GameConfig()
    game.max_steps = 100
    assert steps(game) == 100


def test_run_help_shows_every_setting_with_its_default_and_choices():
    import dataclasses

    from click.testing import CliRunner

    from sro_bench.cli.main import cli as command
    from sro_bench.objectives.plugin import BUILTINS
    from sro_bench.util.settings import flag_of

    output = CliRunner().invoke(command, ["run", "--help"], terminal_width=400).output
    text = " ".join(output.split())
    for cls in (RunConfig, LeaderConfig, GameConfig):
        for f in dataclasses.fields(cls):
            if f.metadata.get("cli"):
                flag = flag_of(f).split("/")[0]
                assert f"{flag} " in text, flag
                assert f.metadata["help"] in text, flag
    assert "[cpu|paper|smoke]" in text and "[auto|fp32|bf16|fp16]" in text and "[default: 100, or the preset's]" in text
    # each objective's own settings, under its method, with its defaults
    sections = {part.split(":", 1)[0]: " ".join(part.split(":", 1)[1].split())
                for part in output.split("Settings of --method ")[1:]}
    with_settings = [row for row in BUILTINS if any(f.metadata.get("cli") for f in dataclasses.fields(row[-1]))]
    assert list(sections) == [row[0] for row in with_settings] and "sft" not in sections  # sft has nothing to set
    for name, *_, settings in with_settings:
        shown = [f for f in dataclasses.fields(settings) if f.metadata.get("cli")]
        for f in shown:
            assert f"{flag_of(f)} " in sections[name] and f.metadata["help"] in sections[name], (name, f.name)
        assert len(re.findall(r"--[a-z-]+ (?:FLOAT|INTEGER|TEXT|\[[a-z0-9|]+\])", sections[name])) == len(shown), name  # no other's
    assert "--p-flip FLOAT the objective's own verdict flip rate (SRO's noise; 0.1 in the paper) [default: 0.1]" in sections["sro"]
    assert "[default: 0.0]" in sections["grpo"] and "--dr-beta" not in sections["sro"] and "--p-flip" not in sections["dpo"]
    assert "--kept-measure [f1|overlap]" in sections["grpo-keep"] and "[default: overlap]" in sections["grpo-fluent"]


def test_objective_options_reach_the_objective_typed(monkeypatch):
    from click.testing import CliRunner

    from sro_bench.cli.main import cli as command
    from sro_bench.objectives import KTOConfig, RobustSROConfig
    from sro_bench.run import runner

    seen = []
    monkeypatch.setattr(runner, "run", lambda config, **kwargs: seen.append(config) or runner.RunResult(
        RunDir("unused"), Record({"metrics": {}})))
    monkeypatch.setattr("sro_bench.cli.main.print_metrics", lambda record: None)
    for args in (["--method", "sro-robust", "--dr-beta", "0.5", "--p-flip", "0.2"], ["--method", "kto", "--beta", "0.3"], []):
        result = CliRunner().invoke(command, ["run", *args])
        assert result.exit_code == 0, result.output
    robust, kto, default = (config.objective for config in seen)
    assert type(robust) is RobustSROConfig and (robust.dr_beta, robust.p_flip, robust.beta) == (0.5, 0.2, 0.1)
    assert type(kto) is KTOConfig and kto.beta == 0.3 and kto.explicit_fields == {"beta"}
    assert seen[2].method == "sro" and type(default).__name__ == "SROConfig" and default.explicit_fields == frozenset()
    result = CliRunner().invoke(command, ["run", "--method", "dpo", "--p-flip", "0.1"])
    assert result.exit_code == 2 and "--p-flip is not a setting of --method dpo (its settings: --beta, " in result.output
