"""A run directory is the user's data: run ids are names, one writer at a time, a resume changes nothing
silently, checks come before work, and Ctrl-C says what was saved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sro_bench.training.config import GameConfig
from sro_bench.run.config import RunConfig
from sro_bench.errors import UserError
from sro_bench.leaders import LeaderConfig, LeaderContext
from sro_bench.grids.robustness import Cell
from sro_bench.run.run_dirs import RunDir, check_run_id, run_id_problem
from sro_bench.run.runner import run

SMOKE = dict(max_steps=3, batch_size=4, max_train_inputs=24, max_new_tokens=8, checkpoint_every=1)
SMOKE_FLAGS = ["--leader", "tiny", "--steps", "3", "--batch-size", "4", "--max-train-inputs", "24",
               "--max-new-tokens", "8", "--checkpoint-every", "1", "--eval-limit", "12"]


@pytest.fixture
def base(data_dir, tmp_path) -> RunConfig:
    return RunConfig(leader=LeaderConfig(name="tiny"), game=GameConfig(**SMOKE), eval_limit=12,
                     data_dir=data_dir, runs_dir=tmp_path / "runs")


def cli(*args: str, cwd: Path, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from sro_bench.cli.main import main; main()", *args],
                          capture_output=True, text=True, cwd=cwd, env={**os.environ, "COLUMNS": "200"}, **popen)


def refused(done: subprocess.CompletedProcess, message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


# --- 1. a run id is a name ---------------------------------------------------------------------------

@pytest.mark.parametrize("run_id, problem", [
    ("../escape", "is a path"), ("a/b", "is a path"), ("..", "is a path"), ("", "is empty"),
    (".hidden", "not a plain name"), ("sp ace", "not a plain name"), ("x" * 129, "at most 128"),
])
def test_a_run_id_that_is_not_a_name_is_refused(run_id, problem):
    assert problem in run_id_problem(run_id)
    with pytest.raises(UserError, match="--run-id"):
        check_run_id(run_id)


def test_plain_run_ids_and_grid_cells_are_names():
    for run_id in ("sro-minilm-s0-20261203-091500", "my_run.2", "A"):
        assert run_id_problem(run_id) is None
    assert run_id_problem(Cell("team/sro", "swap:../x", 0).run_id) is None


@pytest.mark.parametrize("run_id", ["../escape", "a/b", ""])
def test_run_refuses_a_path_as_run_id_and_writes_nothing(tmp_path, data_dir, run_id):
    done = cli("run", "--method", "duplicate", "--eval-limit", "2", "--runs-dir", "runs", "--run-id", run_id,
               "--data-dir", str(data_dir), cwd=tmp_path)
    refused(done, "error: --run-id")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- 2. one writer at a time -------------------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from sro_bench.run.run_dirs import one_writer
with one_writer(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(120)
"""


def hold(run_dir: Path) -> subprocess.Popen:
    """Another process holding ``run_dir``'s lock, as a live run does."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_second_writer_is_refused_while_the_first_lives_and_allowed_after_sigkill(base, tmp_path):
    interrupted = run(base, progress=False, stop_after=1)
    run_dir = interrupted.run_dir.path
    holder = hold(run_dir)
    try:
        done = cli("run", "--resume", str(run_dir), "--quiet", cwd=tmp_path)
        refused(done, f"in use by process {holder.pid}")
        with pytest.raises(UserError, match=f"in use by process {holder.pid}"):  # a new run with its id as well
            run(_same_id(base, run_dir.name), progress=False)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    done = cli("run", "--resume", str(run_dir), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((run_dir / "record.json").read_text())["game"]["steps"] == 3


def _same_id(base: RunConfig, run_id: str) -> RunConfig:
    return RunConfig(leader=base.leader, game=GameConfig(**SMOKE), eval_limit=12, data_dir=base.data_dir,
                     runs_dir=base.runs_dir, run_id=run_id)


def test_an_unfinished_run_that_nobody_holds_is_offered_to_resume(base):
    base.run_id = "left"
    run(base, progress=False, stop_after=1)
    with pytest.raises(UserError, match="unfinished run is already there .continue it with --resume"):
        run(_same_id(base, "left"), progress=False)


def test_a_new_run_that_fails_its_checks_leaves_no_directory(base, tmp_path):
    base.run_id = "fresh"
    base.eval_file = tmp_path / "empty.tsv"
    base.eval_file.write_text("")
    with pytest.raises(UserError):
        run(base, progress=False)
    assert not (base.runs_dir / "fresh").exists()


# --- 3. a resume changes nothing silently -----------------------------------------------------------

def test_resume_refuses_settings_that_differ_from_the_run(base):
    base.run_id = "r"
    run_dir = run(base, progress=False, stop_after=2).run_dir.path
    with pytest.raises(UserError, match=r"--method dpo \(the run has sro\); --lr 0.001 \(the run has 2e-05\)"):
        run(RunConfig(method="dpo"), resume=run_dir, progress=False, game_overrides={"lr": 1e-3})
    with pytest.raises(UserError, match="--steps 1 is fewer than the 2 steps already played"):
        run(RunConfig(), resume=run_dir, progress=False, game_overrides={"max_steps": 1})
    with pytest.raises(UserError, match="--run-id cannot be given with --resume"):
        run(RunConfig(run_id="other"), resume=run_dir, progress=False)
    from sro_bench.objectives import SROConfig

    with pytest.raises(UserError, match=r"these differ: --beta 0.2 \(the run has 0.1\)\. Start"):
        run(RunConfig(objective=SROConfig(beta=0.2, p_flip=0.1)), resume=run_dir, progress=False)  # p_flip: as stored
    assert not (run_dir / "record.json").exists()


def test_a_run_directory_from_before_per_method_settings_reads_as_the_methods_class(tmp_path):
    """Older runs saved one shared objective section, "None" meaning the objective's default; it still resumes."""
    from sro_bench.objectives import GRPOFluentConfig
    from sro_bench.run.config import read_run_config
    from sro_bench.util.dataclass_json import jsonable

    shared = {"beta": 0.1, "label_smoothing": 0.1, "p_flip": None, "assumed_flip": None, "dr_beta": 0.0,
              "kto_desirable_weight": 1.0, "kto_undesirable_weight": 1.0, "grpo_kl": 0.02, "kept_measure": None,
              "dpo_backend": "auto", "options": {}}
    saved = {**jsonable(RunConfig(method="grpo-fluent")), "objective": shared}
    (tmp_path / "config.json").write_text(json.dumps(saved))
    objective = read_run_config(tmp_path).objective
    assert type(objective) is GRPOFluentConfig
    assert (objective.grpo_kl, objective.kept_measure, objective.p_flip) == (0.02, "overlap", 0.0)
    (tmp_path / "config.json").write_text(json.dumps({**saved, "objective": {"grpo_kl": 0.02, "betta": 1}}))
    with pytest.raises(UserError, match="config.json: unknown setting objective.betta"):
        read_run_config(tmp_path)


def test_resume_applies_more_steps_and_says_so(base, tmp_path):
    base.run_id = "more"
    run_dir = run(base, progress=False, stop_after=2).run_dir.path
    done = cli("run", "--resume", str(run_dir), "--steps", "5", "--method", "sro", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resuming with --steps 5 (was 3)" in done.stderr + done.stdout
    record = json.loads((run_dir / "record.json").read_text())
    assert record["game"]["steps"] == 5 and record["config"]["game"]["max_steps"] == 5
    assert json.loads((run_dir / "config.json").read_text())["game"]["max_steps"] == 5


# --- 4. checks before work ---------------------------------------------------------------------------

def missing_device() -> str:
    return f"cuda:{torch.cuda.device_count()}" if torch.cuda.is_available() else "cuda"


@pytest.mark.parametrize("args, message", [
    (["--device", missing_device()], f"error: --device {missing_device()}: "),
    (["--samples-per-input", "300000000"], "samples a step (at most 65,536)"),
    (["--max-new-tokens", "100000000"], "--max-new-tokens must be <= 32,768"),
    (["--metrics", ","], "no value in ','"),
    (["--lora-target-modules", " "], "no value in ' '"),
])
def test_run_refuses_before_any_directory_is_made(tmp_path, data_dir, args, message):
    done = cli("run", *SMOKE_FLAGS, "--runs-dir", "runs", "--data-dir", str(data_dir), *args, cwd=tmp_path)
    refused(done, message)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("args, message", [
    (["--methods", ","], "Invalid value for '--methods': no value in ','"),
    (["--seeds", ","], "Invalid value for '--seeds': no value in ','"),
    (["--seeds", "0,x"], "Invalid value for '--seeds': expected int values like 0,1, got '0,x'"),
    (["--address", "10.0.0.1:6379"], "--address is a Ray cluster's; it needs --executor ray"),
    (["--gpus-per-cell", "1"], "--gpus-per-cell is what a Ray task asks for"),
])
def test_robustness_refuses_empty_lists_and_options_its_executor_ignores(tmp_path, args, message):
    done = cli("robustness", "--out", "grid", "--budget", "1", "--eval-limit", "2", *args, cwd=tmp_path)
    refused(done, message)
    assert not (tmp_path / "grid" / "cells").exists()


# --- 5. Ctrl-C (and SIGTERM, SIGHUP) says what was saved ---------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_says_what_was_saved_and_how_to_resume(tmp_path, data_dir, signum):
    flags = list(SMOKE_FLAGS)
    flags[flags.index("--steps") + 1] = "100000"
    flags += ["--epochs", "5000"]  # one epoch of the 24 inputs is only 6 steps: it could end before the signal
    proc = subprocess.Popen([sys.executable, "-c", "from sro_bench.cli.main import main; main()", "run", *flags,
                             "--runs-dir", "runs", "--run-id", "long", "--quiet", "--data-dir", str(data_dir)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    state = tmp_path / "runs" / "long" / "checkpoint" / "state.json"
    try:  # the 100,000-step game must never outlive the test, whatever fails
        deadline = time.monotonic() + 240
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint in time"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signum
    step = json.loads(state.read_text())["step"]
    assert f"its checkpoint at step {step} is saved; continue with: sro-bench run --resume runs/long" in stderr, stderr
    assert "Traceback" not in stderr
    assert json.loads((tmp_path / "runs" / "long" / "failed.json").read_text())["interrupted"] is True
    assert (tmp_path / "runs" / "long" / RunDir.LOCK).exists()


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the grid's workers through /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_a_grid_stopped_by_a_signal_ends_its_workers_and_marks_their_cells(tmp_path, data_dir, signum):
    """A scheduler's SIGTERM to `robustness --jobs 2` stopped the grid and orphaned its workers, which trained on.
    Now they stop with it, each cell marked to resume; after a SIGKILL too (the kernel tells them, on Linux)."""
    proc = subprocess.Popen([sys.executable, "-c", "from sro_bench.cli.main import main; main()", "robustness",
                             "--methods", "sro,rs-sft", "--perturb", "flip:0.1", "--jobs", "2", "--leader", "tiny",
                             "--budget", "100000", "--batch-size", "4", "--eval-limit", "2", "--out", "grid", "--quiet",
                             "--set", "sro:checkpoint_every=1", "--set", "rs-sft:checkpoint_every=1",
                             "--data-dir", str(data_dir)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 300
        while (len(list((tmp_path / "grid" / "cells").glob("*/checkpoint/state.json"))) < 2 and proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()
        workers = [pid for pid in _children(proc.pid) if "spawn" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2, workers
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=240)
        deadline = time.monotonic() + 120
        while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived its grid"
    finally:
        for pid in [proc.pid, *workers]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc.communicate()
    assert proc.returncode == (128 + signum if signum != signal.SIGKILL else -signum), stderr
    marks = [json.loads(p.read_text()) for p in (tmp_path / "grid" / "cells").glob("*/failed.json")]
    assert len(marks) == 2 and all(mark["interrupted"] for mark in marks), marks


def test_a_run_directory_names_every_file_and_writes_them(tmp_path):
    run_dir = RunDir(tmp_path / "r")
    run_dir.path.mkdir()
    assert (run_dir.record, run_dir.rewrites, run_dir.checkpoint) == (
        tmp_path / "r" / "record.json", tmp_path / "r" / "rewrites.tsv", tmp_path / "r" / "checkpoint")
    run_dir.write_rewrites(["a b", "c"], ["a", "c"], [["a"], ["c", "see"]])
    assert run_dir.rewrites.read_text().splitlines() == [
        "input\trewrite\treference1\treference2", "a b\ta\ta\t", "c\tc\tc\tsee"]
    run_dir.write_scores({"J": [0.5, None], "STA": [1.0, 0.25], "other": [1, 2]})
    assert run_dir.scores.read_text().splitlines() == ["STA\tJ", "1.0000\t0.5000", "0.2500\t"]
    try:
        raise ValueError("boom")
    except ValueError as exc:
        run_dir.mark_failed(exc)
    assert run_dir.read_failure()["error"] == "ValueError: boom" and not run_dir.finished
    run_dir.checkpoint.mkdir()
    run_dir.finish({"schema": "x"})
    assert run_dir.finished and run_dir.read_failure() is None and not run_dir.checkpoint.exists()


def test_each_config_refuses_a_bad_value_where_it_is_made():
    from sro_bench.objectives import SROConfig

    for make, message in [(lambda: GameConfig(batch_size=0), "--batch-size must be >= 1, got 0"),
                          (lambda: GameConfig(lr=float("nan")), "--lr must be a finite number, got nan"),
                          (lambda: SROConfig(beta=0.0), "--beta must be > 0, got 0.0"),
                          (lambda: RunConfig(method="dpo", objective=SROConfig()), "--method dpo takes DPOConfig settings, got SROConfig"),
                          (lambda: LeaderConfig(lora_r=-1), "--lora-r must be >= 0, got -1"),
                          (lambda: RunConfig(seed=-1), r"--seed must be in \[0, 2\*\*32\), got -1")]:
        with pytest.raises(UserError, match=message):
            make()


def test_the_context_is_resolved_once_and_each_kind_extends_it(tmp_path):
    from sro_bench.context import Context
    from sro_bench.followers import FollowerContext
    from sro_bench.metrics import MetricContext

    data = tmp_path / "data"
    data.mkdir()
    context = Context.resolved(seed=3, data_dir=data, cache_dir=tmp_path / "cache", progress=False)
    assert context.data_dir == data.resolve() and context.cache_dir.is_absolute()
    follower = context.as_(FollowerContext, exclude=frozenset({"x"}))
    assert (follower.seed, follower.data_dir, follower.exclude) == (3, context.data_dir, frozenset({"x"}))
    assert isinstance(context.as_(MetricContext), Context) and context.as_(LeaderContext).progress is False
    with pytest.raises(UserError, match="data directory not found"):
        Context.resolved(data_dir=tmp_path / "missing")



def test_an_interrupted_checkpoint_swap_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    """Ctrl-C between moving the old checkpoint aside and renaming the new one in puts the old one back;
    a kill there leaves it aside, and the next save or load restores it instead of starting from step 0."""
    from sro_bench.util import files

    final, tmp = tmp_path / "checkpoint", tmp_path / ".checkpoint-new"
    final.mkdir()
    (final / "state.json").write_text("old")
    tmp.mkdir()
    (tmp / "state.json").write_text("new")
    rename = os.rename

    def interrupted(src, dst):
        if Path(src) == tmp:
            raise KeyboardInterrupt
        rename(src, dst)

    monkeypatch.setattr(files.os, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.replace_directory(tmp, final)
    monkeypatch.undo()
    assert (final / "state.json").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]

    aside = tmp_path / ".checkpoint-old-x" / "entry"  # what a SIGKILL at that moment leaves
    aside.parent.mkdir()
    os.replace(final, aside)
    files.remove_leftovers(final)  # the next save starts with this
    assert (final / "state.json").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


@pytest.mark.parametrize("new_is_complete, step", [(True, 5), (False, 4)])
def test_a_resume_after_a_kill_mid_save_takes_the_newest_complete_checkpoint(tmp_path, new_is_complete, step):
    from sro_bench.training.checkpoints import load_checkpoint, save_checkpoint

    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    final = tmp_path / "checkpoint"
    save_checkpoint(final, model, optimizer, {"step": 4, "history": []})
    save_checkpoint(tmp_path / "built", model, optimizer, {"step": 5, "history": []})
    os.rename(tmp_path / "built", tmp_path / ".checkpoint-built")  # the new one, built beside ...
    if not new_is_complete:
        (tmp_path / ".checkpoint-built" / "state.json").unlink()  # ... or cut off before its last file
    (tmp_path / ".checkpoint-old-x").mkdir()
    os.replace(final, tmp_path / ".checkpoint-old-x" / "entry")  # ... and the old one moved aside: then a kill
    state = load_checkpoint(final, model, optimizer, "cpu")
    assert state["step"] == step and (final / "state.json").exists()


def test_without_a_terminal_long_work_prints_plain_lines_at_a_steady_pace(capsys, monkeypatch):
    from sro_bench.util import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY", 0.0)
    with progress.busy("training the judges"):
        pass
    with progress.make_progress() as bar:
        task = bar.add_task("minilm copier", total=4, completed=0, status="")
        for step in range(1, 5):
            bar.update(task, completed=step, status=f"loss {1 / step:.2f}")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "training the judges ..." and lines[1].startswith("training the judges: done in 0:00:0")
    assert lines[2] == "minilm copier: 0/4 ..." and lines[3].startswith("minilm copier: 1/4, 0:00:00 spent, ~0:00:00 left")
    assert lines[3].endswith("loss 1.00") and lines[-1].startswith("minilm copier: 4/4")


def test_a_run_with_relative_paths_resumes_from_another_directory(base, tmp_path, monkeypatch):
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir(), elsewhere.mkdir()
    (here / "eval.txt").write_text("you are an idiot .\nshut up , moron .\n")
    monkeypatch.chdir(here)
    base.run_id, base.eval_file, base.eval_limit = "rel", Path("eval.txt"), None
    run_dir = run(base, progress=False, stop_after=1).run_dir.path
    assert json.loads((run_dir / "config.json").read_text())["eval_file"] == str(here / "eval.txt")
    monkeypatch.chdir(elsewhere)  # the relative path would now name nothing
    record = run(RunConfig(), resume=run_dir, progress=False).record
    assert record["evaluation"]["rows"] == 2


# --- a full disk names the file, keeps what was saved, and leaves nothing behind ----------------------

def test_a_full_disk_during_a_checkpoint_save_names_the_file_and_keeps_the_last_checkpoint(base, monkeypatch):
    import builtins
    import errno

    from sro_bench.training import checkpoints

    optimizer_writes = []

    def full_on_the_second_save(path, mode="r", *args, **kwargs):
        if str(path).endswith("optimizer.pt"):
            optimizer_writes.append(path)
            if len(optimizer_writes) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "open", full_on_the_second_save, raising=False)
    base.run_id = "full"
    run_dir = base.runs_dir / "full"
    with pytest.raises(UserError) as caught:
        run(base, progress=False)
    assert str(caught.value) == (f"{run_dir / 'checkpoint' / 'optimizer.pt'}: No space left on device; "
                                 f"its checkpoint at step 1 is saved; continue with: sro-bench run --resume {run_dir}")
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".checkpoint")]  # no half-built copy
    assert json.loads((run_dir / "checkpoint" / "state.json").read_text())["step"] == 1
    assert "No space left" in json.loads((run_dir / "failed.json").read_text())["error"]
    monkeypatch.undo()
    assert run(RunConfig(), resume=run_dir, progress=False).record["game"]["steps"] == 3


@pytest.fixture
def full_disk(tmp_path):
    """A small tmpfs filled to the last byte (where this machine lets a test mount one)."""
    mount = tmp_path / "full"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()[:80]}); the injected ENOSPC tests cover the code")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_new_run_on_a_full_disk_names_the_path_and_leaves_no_directory(full_disk, data_dir, tmp_path):
    done = cli("run", "--method", "duplicate", "--metrics", "bleu", "--eval-limit", "3", "--data-dir", str(data_dir),
               "--runs-dir", str(full_disk / "runs"), "--run-id", "x", cwd=tmp_path)
    refused(done, "No space left on device")
    assert str(full_disk) in done.stderr
    assert not (full_disk / "runs" / "x").exists()
    assert sorted(p.name for p in full_disk.rglob("*")) in (["filler"], ["filler", "runs"])  # no lock-only directory


def test_a_board_on_a_full_disk_names_the_file_and_writes_none(full_disk, tmp_path):
    records = Path(__file__).resolve().parent.parent / "leaderboards" / "paradetox-dev-records"
    done = cli("leaderboard", str(records), "--out", str(full_disk / "board.md"), cwd=tmp_path)
    refused(done, "No space left on device")
    assert "none of the 5 files was replaced" in done.stderr
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
