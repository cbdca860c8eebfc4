"""The user contract: bad input is one line and exit 2 before any work; nothing is lost; no number is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sro_bench.cli.main import main
from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.leaders import LeaderConfig
from sro_bench.run.run_dirs import RunDir
from sro_bench.run.runner import run

SMOKE = dict(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8, checkpoint_every=1)


def call(capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in-process: (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert expected in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


@pytest.fixture
def cold_cache(tmp_path, monkeypatch) -> Path:
    """An empty cache: any model built or judge trained before validation would leave files here."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SRO_BENCH_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)
    return cache


def nothing_built(cache: Path, tmp_path: Path) -> None:
    assert not [p for p in cache.rglob("*") if p.is_file()], "a model was built or trained before validation"
    assert not (tmp_path / "runs").exists(), "a run directory was made by a command that failed validation"


# -- 1. every name, value and path is checked before any model is built ----------------------------

@pytest.mark.parametrize("args, message", [
    (["run", "--metrics", "sta,bogus"], "--metrics: unknown metric 'bogus'"),
    (["run", "--follower", "bogus"], "--follower: unknown follower 'bogus'"),
    (["run", "--perturb", "swap:bogus"], "--perturb swap:bogus: unknown follower 'bogus'"),
    (["run", "--perturb", "flip:2"], "outside [0, 1]"),
    (["run", "--leader", "bogus"], "--leader: unknown leader 'bogus'"),
    (["run", "--leader", "hf:/no/such/dir"], "--leader hf:/no/such/dir: no such directory"),
    (["run", "--leader", "hf:nobody/no-such-model"], "not in the local Hugging Face cache"),
    (["run", "--train-dataset", "bogus"], "--train-dataset: unknown dataset 'bogus'"),
    (["run", "--lr", "inf"], "--lr must be a finite number, got inf"),
    (["run", "--lr", "1e300"], "--lr must be in (0, 1]"),
    (["run", "--beta", "inf"], "--beta must be a finite number"),
    (["run", "--weight-decay", "nan"], "--weight-decay must be a finite number"),
    (["run", "--seed", "-1"], "--seed must be in [0, 2**32)"),
    (["run", "--method", "grpo"], "--method grpo needs --samples-per-input >= 2"),
    (["robustness", "--methods", "sro,bogus", "--out", "grid"], "unknown method 'bogus'"),
    (["robustness", "--methods", "sro", "--perturb", "swap:nblr,bogus", "--out", "grid"],
     "--perturb swap:bogus: unknown follower 'bogus'"),
    (["robustness", "--methods", "sro", "--seeds", "0,-1", "--out", "grid"], "--seed must be in [0, 2**32)"),
    (["robustness", "--methods", "sro", "--metrics", "bogus", "--out", "grid"], "--metrics: unknown metric 'bogus'"),
])
def test_bad_requests_fail_before_any_work(capsys, cold_cache, tmp_path, args, message):
    code, _, err = call(capsys, *args)
    one_line_error(code, err, message)
    nothing_built(cold_cache, tmp_path)
    assert not (tmp_path / "grid").exists()


def test_eval_checks_its_metrics_before_training_judges(capsys, cold_cache, tmp_path):
    (tmp_path / "in.txt").write_text("you are an idiot\n")
    code, _, err = call(capsys, "eval", "--inputs", "in.txt", "--predictions", "in.txt", "--metrics", "fl,bogus")
    one_line_error(code, err, "--metrics: unknown metric 'bogus'")
    nothing_built(cold_cache, tmp_path)


# -- 2. outputs are checked up front; failed runs are marked, never half-made -----------------------

@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "in.txt").write_text("you are an idiot\nthis is crap\n")
    (tmp_path / "a-file").write_text("not a directory\n")
    (tmp_path / "run" / "leader").mkdir(parents=True)
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["eval", "--inputs", "in.txt", "--predictions", "in.txt", "--json", "a-file/out.json"],
     "--json a-file/out.json: cannot be created: a-file is not a directory"),
    (["eval", "--inputs", "in.txt", "--predictions", "in.txt", "--json", "run"], "'--json': File 'run' is a directory"),
    (["rewrite", "--run", "run", "--input", "in.txt", "--output", "a-file/x.txt"], "--output a-file/x.txt: cannot be created"),
    (["leaderboard", "run", "--out", "board.csv"], "--out board.csv: name the markdown file (e.g. board.md)"),
    (["leaderboard", "run", "--out", "a-file/board.md"], "--out a-file/board.md: cannot be created"),
    (["robustness", "--methods", "sro", "--out", "a-file"], "'--out': Directory 'a-file' is a file"),
    (["run", "--method", "duplicate", "--runs-dir", "a-file"], "'--runs-dir': Directory 'a-file' is a file"),
])
def test_unwritable_outputs_are_refused_before_the_work(capsys, cold_cache, files, args, message):
    code, _, err = call(capsys, *args)
    one_line_error(code, err, message)
    assert not [p for p in cold_cache.rglob("*") if p.is_file()]


@pytest.fixture
def base(data_dir, tmp_path) -> RunConfig:
    return RunConfig(leader=LeaderConfig(name="tiny"), game=GameConfig(**SMOKE), eval_limit=12,
                     data_dir=data_dir, runs_dir=tmp_path / "runs")


def test_a_run_that_fails_is_marked_and_resumes(base, tmp_path, monkeypatch, capsys):
    import sro_bench.leaders as leaders

    real = leaders.build_leader

    def broken(config, context):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr(leaders, "build_leader", broken)
    base.run_id = "broken"
    with pytest.raises(RuntimeError):
        run(base, progress=False)
    run_dir = tmp_path / "runs" / "broken"
    failure = json.loads(RunDir(run_dir).failed.read_text())
    assert failure["error"] == "RuntimeError: out of memory (simulated)" and not (run_dir / "record.json").exists()

    from sro_bench.publish.leaderboard import find_failed_runs

    assert find_failed_runs([tmp_path / "runs"]) == [(run_dir, failure["error"])]
    code, _, err = call(capsys, "run", "--run-id", "broken", "--runs-dir", str(tmp_path / "runs"), "--leader", "tiny")
    one_line_error(code, err, "an unfinished run is already there (continue it with --resume")

    monkeypatch.setattr(leaders, "build_leader", real)
    record = run(RunConfig(), resume=run_dir, progress=False).record
    assert record["game"]["steps"] == 3 and not RunDir(run_dir).failed.exists()


# -- 3. no wrong number without a word ------------------------------------------------------------

def test_references_csv_is_read_as_csv(tmp_path):
    from sro_bench.run.evaluate import read_references

    (tmp_path / "refs.csv").write_text('you are wrong,"well, you are wrong"\nthis is bad\n')
    (tmp_path / "refs.tsv").write_text("you are wrong\twell, you are wrong\nthis is bad\n")
    assert read_references(tmp_path / "refs.csv") == [["you are wrong", "well, you are wrong"], ["this is bad"]]
    assert read_references(tmp_path / "refs.csv") == read_references(tmp_path / "refs.tsv")


@pytest.mark.parametrize("content, message", [
    (b"fine\nbad \x00 byte\n", "pred.txt:2: NUL byte"),
    (b"fine\n" + b"x" * 1_000_000 + b"\n", "pred.txt:2: line of 1,000,000 characters"),
])
def test_binary_or_giant_predictions_are_refused(capsys, cold_cache, tmp_path, content, message):
    (tmp_path / "in.txt").write_text("one\ntwo\n")
    (tmp_path / "pred.txt").write_bytes(content)
    code, _, err = call(capsys, "eval", "--inputs", "in.txt", "--predictions", "pred.txt", "--metrics", "bleu")
    one_line_error(code, err, message)


@pytest.mark.parametrize("header, first", [("id\ttoxic\tneutral", "1"), ("n\ttoxic\tneutral", "17")])
def test_an_id_column_is_not_scored_as_inputs(tmp_path, header, first):
    from sro_bench.data import load_eval_file
    from sro_bench.errors import DataError

    path = tmp_path / "eval.tsv"
    path.write_text(f"{header}\n{first}\tyou are an idiot\tyou are wrong\n2\tcrap\tbad\n")
    with pytest.raises(DataError, match="holds ids, not sentences"):
        load_eval_file(path)


def test_judges_are_the_same_whatever_the_seed(base):
    """Two seeds of a copying rewriter produce the same rewrites, so every figure must agree."""
    base.method = "duplicate"
    records = []
    for seed in (0, 3):
        base.seed, base.run_id = seed, f"dup-{seed}"
        records.append(run(base, progress=False).record)
    assert records[0]["suite"]["judges"] == records[1]["suite"]["judges"]
    assert set(records[0]["suite"]["judges"]) == {"sta", "sim", "fl"}
    assert records[0]["metrics"] == records[1]["metrics"]
    assert records[0]["evaluation"]["digest"] == records[1]["evaluation"]["digest"]

    # `eval` of the same rewrites (as files) gives the same figures and names the same judges
    import csv

    from sro_bench.run.evaluate import evaluate_files

    run_dir = records[1].run_dir
    with open(run_dir / "rewrites.tsv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    files = {name: run_dir / f"{name}.txt" for name in ("inputs", "predictions", "references")}
    files["inputs"].write_text("".join(f"{r[0]}\n" for r in rows))
    files["predictions"].write_text("".join(f"{r[1]}\n" for r in rows))
    files["references"].write_text("".join("\t".join(c for c in r[2:] if c) + "\n" for r in rows))
    external = evaluate_files(files["inputs"], files["predictions"], files["references"], data_dir=base.data_dir)
    assert external["suite"]["judges"] == records[1]["suite"]["judges"]
    for figure in ("STA", "SIM", "FL", "J", "BLEU", "chrF"):
        assert external["metrics"][figure] == pytest.approx(records[1]["metrics"][figure], abs=1e-9), figure


def _record(path: Path, method: str, rows: int, digest: str, judges: dict, j: float) -> Path:
    from sro_bench.run.records import new_record
    from sro_bench.util.dataclass_json import write_json

    record = new_record("eval", run_id=method, seed=None, method={"name": method, "kind": "external", "distribution": None},
                        config={}, perturbation=[], evaluation={"name": "set", "rows": rows, "digest": digest},
                        metrics={"STA": 0.5, "SIM": 0.5, "FL": 0.5, "J": j}, suite={"judges": judges})
    write_json(path / method / "record.json", record)
    return path


def test_leaderboard_never_ranks_different_eval_sets_or_judges_together(tmp_path):
    from sro_bench.publish.leaderboard import publish

    judges, other = {"sta": "sta-a", "fl": "fl-a"}, {"sta": "sta-a", "fl": "fl-b"}
    _record(tmp_path / "r", "full", 671, "d671", judges, 0.3)
    _record(tmp_path / "r", "short", 50, "d50", judges, 0.6)
    _record(tmp_path / "r", "other-judges", 671, "d671", other, 0.5)
    _record(tmp_path / "r", "same", 671, "d671", judges, 0.4)
    result = publish([tmp_path / "r"], tmp_path / "board.md", command="test")
    assert result["tables"] == 3 and result["rows"] == 4
    table = (tmp_path / "board.md").read_text()
    assert "never ranked together" in table
    sections = table.split("\n## ")[1:]
    assert len(sections) == 3
    together = next(s for s in sections if "| full |" in s)
    assert "| same |" in together and "| short |" not in together and "| other-judges |" not in together
    assert together.index("| same |") < together.index("| full |")  # by J within its table
    assert "rows" in table.splitlines()[next(i for i, line in enumerate(table.splitlines()) if line.startswith("| method"))]


# -- 4. what is read back is checked as strictly as what is typed in --------------------------------

@pytest.mark.parametrize("content, message", [
    ('"hello"', "not a run configuration (expected a JSON object)"),
    ("{}", "not a complete run configuration (no 'method' setting)"),
    ("{not json", "not a readable run configuration"),
])
def test_resume_with_a_bad_config_is_one_line(capsys, tmp_path, content, message):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text(content)
    code, _, err = call(capsys, "run", "--resume", str(tmp_path / "r"))
    one_line_error(code, err, message)


def test_resume_with_a_bad_setting_names_it(capsys, base, tmp_path):
    base.run_id = "typed"
    run(base, progress=False, stop_after=1)
    config = tmp_path / "runs" / "typed" / "config.json"
    data = json.loads(config.read_text())
    data["game"]["lr"] = "fast"
    config.write_text(json.dumps(data))
    code, _, err = call(capsys, "run", "--resume", str(config.parent))
    one_line_error(code, err, "config.json: game.lr must be float, got str 'fast'")


@pytest.mark.parametrize("damage, message", [
    ("truncate", "trainable.safetensors: unreadable"),
    ("remove", "trainable.safetensors: missing"),
    ("optimizer", "optimizer.pt: truncated"),
])
def test_resume_from_a_damaged_checkpoint_is_one_line(capsys, base, tmp_path, damage, message):
    base.run_id = "damaged"
    run(base, progress=False, stop_after=2)
    checkpoint = tmp_path / "runs" / "damaged" / "checkpoint"
    weights, optimizer = checkpoint / "trainable.safetensors", checkpoint / "optimizer.pt"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:200])
    elif damage == "remove":
        weights.unlink()
    else:
        optimizer.write_bytes(optimizer.read_bytes()[:100])
    code, _, err = call(capsys, "run", "--resume", str(checkpoint.parent))
    one_line_error(code, err, message)


@pytest.mark.parametrize("field, value, message", [
    ("metrics", {"J": "high"}, "'metrics' must be an object of finite numbers (or null)"),
    ("evaluation", {"rows": "many"}, "'evaluation' must be an object with integer rows"),
    ("method", "sro", "'method' must be an object with a string name"),
    ("seed", "zero", "'seed' must be an integer or null"),
])
def test_leaderboard_names_a_malformed_record(capsys, tmp_path, field, value, message):
    path = _record(tmp_path / "r", "sys", 10, "d", {}, 0.1) / "sys" / "record.json"
    record = json.loads(path.read_text())
    record[field] = value
    path.write_text(json.dumps(record))
    code, _, err = call(capsys, "leaderboard", str(tmp_path / "r"), "--out", str(tmp_path / "b.md"))
    one_line_error(code, err, f"{path}: malformed run record: {message}")
    assert not (tmp_path / "b.md").exists()


def test_a_cache_that_is_a_file_is_one_line(capsys, tmp_path, monkeypatch):
    (tmp_path / "cache").write_text("")
    monkeypatch.setenv("SRO_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    code, _, err = call(capsys, "run", "--method", "duplicate")
    one_line_error(code, err, "cache directory ($SRO_BENCH_CACHE) is not a directory")


def test_a_plugin_name_clash_still_lets_list_show_it(capsys, monkeypatch):
    from sro_bench import plugins

    reg = plugins.Registry()
    reg.load_entry_points()
    reg.conflicts.append("metric 'same' is registered twice: by 'dist-a' and by 'dist-b'")
    monkeypatch.setattr(plugins, "loaded_registry", lambda: reg)
    code, out, _ = call(capsys, "list")
    assert code == 0 and "registered twice" in out and "sro" in out
    code, _, err = call(capsys, "run", "--method", "duplicate")
    one_line_error(code, err, "metric 'same' is registered twice: by 'dist-a' and by 'dist-b' (uninstall one")
