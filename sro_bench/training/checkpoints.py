"""The game's checkpoint: its trainable weights (safetensors), the optimizer's state and the game's own state
(step, history, timings), swapped in atomically, so a run resumes where it stopped. The functions take the
checkpoint directory itself (a run directory's ``checkpoint``, ``run.run_dirs.RunDir.checkpoint``)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from ..errors import UserError
from ..util.files import building, remove_leftovers, replace_directory


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """The parameters that train, the optimizer's state and ``state`` (JSON), swapped in atomically."""
    final = Path(path)
    recover_newest(final)
    remove_leftovers(final)
    named = {n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad}
    optimizer_state = io.BytesIO()
    torch.save(optimizer.state_dict(), optimizer_state)
    files = {"trainable.safetensors": safetensors_bytes(named), "optimizer.pt": optimizer_state.getvalue(),
             "state.json": json.dumps(state).encode()}
    with building(final) as tmp:
        # Python's own writes, so that a full disk is an OSError naming the file (torch and safetensors say less)
        for name, data in files.items():
            try:
                with open(tmp / name, "wb") as handle:
                    handle.write(data)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(final / name)) from None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, device) -> dict | None:
    """Weights and optimizer state loaded from the checkpoint at ``path``, and its saved state; None if there is none."""
    path = Path(path)
    recover_newest(path)
    if not (path / "state.json").exists():
        return None
    problem = checkpoint_problem(path)
    if problem:
        raise UserError(problem)
    weights = load_file(str(path / "trainable.safetensors"), device=str(device))
    missing = set(weights) - {n for n, _ in model.named_parameters()}
    if missing:
        raise UserError(f"{path}: does not match the leader (unknown parameters: {sorted(missing)[:3]})")
    model.load_state_dict(weights, strict=False)
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True))
    return json.loads((path / "state.json").read_text())


def recover_newest(path: Path) -> None:
    """Where a save was cut off (a kill between its writes and its swap), make the newest complete copy the
    checkpoint: the checkpoint itself, the one a save finished building beside it, or the old one a swap moved
    aside. Incomplete copies are left for the next save to clear; no complete one is deleted."""
    path = Path(path)
    built = [p for p in path.parent.glob(f".{path.name}-*") if p.is_dir() and not p.name.startswith(f".{path.name}-old-")]
    aside = list(path.parent.glob(f".{path.name}-old-*/entry"))
    best, best_step = None, -1
    for candidate in ([path] if path.exists() else []) + sorted(built) + sorted(aside):
        step = _complete_step(candidate)
        if step is not None and step > best_step:
            best, best_step = candidate, step
    if best is None or best == path:
        return
    if path.exists():
        replace_directory(best, path)
    else:
        os.rename(best, path)


def _complete_step(path: Path) -> int | None:
    """The step a complete checkpoint at ``path`` holds; None where it is incomplete or unreadable."""
    if not (path / "state.json").is_file() or _problem(path) is not None:
        return None
    return json.loads((path / "state.json").read_text(encoding="utf-8"))["step"]


def checkpoint_problem(path: Path) -> str | None:
    """What makes the checkpoint at ``path`` unusable (missing or truncated files), or None; reads headers only.
    A copy a cut-off save left complete beside it is put in place first (:func:`recover_newest`)."""
    recover_newest(path)
    return _problem(Path(path))


def _problem(path: Path) -> str | None:
    import zipfile

    from safetensors import safe_open

    own = ("state.json", "trainable.safetensors", "optimizer.pt")
    if not path.is_dir() or not any((path / name).exists() for name in own):
        return None  # nothing saved yet, or another loop's layout (trl's checkpoint-N directories)
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{path}: incomplete checkpoint (no state.json); delete the directory to start the game again"
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return f"{path / 'state.json'}: unreadable ({exc})"
    if not (isinstance(state, dict) and isinstance(state.get("step"), int) and isinstance(state.get("history"), list)):
        return f"{path / 'state.json'}: expected an object with an integer step and a history list"
    weights = path / "trainable.safetensors"
    try:
        with safe_open(str(weights), framework="pt") as f:
            list(f.keys())
    except FileNotFoundError:
        return f"{weights}: missing (the checkpoint has no weights)"
    except Exception as exc:  # safetensors reports truncation as several error types
        return f"{weights}: unreadable ({exc})"
    optimizer = path / "optimizer.pt"
    try:
        with zipfile.ZipFile(optimizer) as archive:
            archive.namelist()
    except FileNotFoundError:
        return f"{optimizer}: missing (the checkpoint has no optimizer state)"
    except zipfile.BadZipFile:
        return f"{optimizer}: truncated or not a torch checkpoint"
    return None
