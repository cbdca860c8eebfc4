"""What a resume may change: a resumed run continues the experiment it was, so every setting given with
``--resume`` is compared with the run's stored configuration. The schedule's length and bookkeeping may
change (and the change is reported); anything else that differs is refused, one line naming each setting.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..leaders.config import LeaderConfig
from ..objectives.config import ObjectiveConfig
from ..training.config import GameConfig
from ..util.settings import flag_of
from .config import RunConfig
from .run_dirs import RunDir

# (section, field) pairs a resume applies: more (or fewer, not below what is done) steps, and bookkeeping
# that does not change what is trained.
CHANGEABLE = {("game", "max_steps"), ("game", "epochs"), ("game", "checkpoint_every"), ("game", "eval_batch_size"),
              ("run", "report_to")}
# Where the run is, not how it is trained: given with --resume, they contradict it.
_WHERE = ("runs_dir", "run_id")
_SECTIONS = {"leader": LeaderConfig, "objective": ObjectiveConfig, "game": GameConfig}  # objective: the flags all share


def saved_step(run_dir: Path) -> int:
    """The step the run directory's checkpoint holds (the game's or trl's layout); 0 when none is saved."""
    path = RunDir(run_dir).checkpoint
    try:
        step = json.loads((path / "state.json").read_text(encoding="utf-8")).get("step")
        if isinstance(step, int):
            return step
    except (OSError, ValueError, AttributeError):
        pass
    trl = [int(m.group(1)) for p in path.glob("checkpoint-*") if (m := re.fullmatch(r"checkpoint-(\d+)", p.name))]
    return max(trl, default=0)


def _given(config: RunConfig | None, game_overrides: dict[str, Any] | None) -> dict[tuple[str, str], Any]:
    """(section, field) -> value of every setting given explicitly (constructor arguments, CLI options)."""
    given: dict[tuple[str, str], Any] = {}
    if config is not None:
        explicit = config.explicit_fields
        for f in dataclasses.fields(RunConfig):
            if f.name in _SECTIONS:
                section = getattr(config, f.name)
                for name in section.explicit_fields if section is not None else ():
                    given[(f.name, name)] = getattr(section, name)
            elif f.name in explicit:
                given[("run", f.name)] = getattr(config, f.name)
    for name, value in (game_overrides or {}).items():
        given[("game", name)] = value
    return given


def _flag(section: str, name: str) -> str:
    cls = _SECTIONS.get(section, RunConfig)
    field = next((f for f in dataclasses.fields(cls) if f.name == name), None)
    return flag_of(field).split("/")[0] if field is not None else "--" + name.replace("_", "-")


def _same(a: Any, b: Any) -> bool:
    from ..util.dataclass_json import jsonable

    return json.dumps(jsonable(a), sort_keys=True) == json.dumps(jsonable(b), sort_keys=True)


def resumed_config(run_dir: Path, stored: RunConfig, given: RunConfig | None,
                   game_overrides: dict[str, Any] | None = None) -> tuple[RunConfig, list[str]]:
    """``stored`` with the given changes a resume may make, and a line for each one made; any other setting
    that differs from the stored one is refused."""
    from ..util.paths import resolve_data_dir

    settings = _given(given, game_overrides)
    where = [_flag("run", name) for section, name in settings if section == "run" and name in _WHERE]
    if where:
        raise UserError(f"--resume {run_dir}: {', '.join(where)} cannot be given with --resume "
                        "(the run directory is the run)")
    refused, changes = [], {}
    for (section, name), value in settings.items():
        holder = stored if section == "run" else getattr(stored, section)
        before = getattr(holder, name, None)  # None: the stored method has no such setting
        if section == "run" and name == "data_dir":
            value = resolve_data_dir(value)
        if (section == "run" and name in ("data_dir", "cache_dir", "eval_file", "exclude") and value is not None
                and before is not None):
            same = Path(value).resolve() == Path(before).resolve()
        else:
            same = _same(value, before)
        if same:
            continue
        flag = _flag(section, name)
        if (section, name) in CHANGEABLE:
            changes[(section, name)] = (flag, before, value)
        else:
            refused.append(f"{flag} {_shown(value)} (the run has {_shown(before)})")
    if refused:
        raise UserError(f"--resume {run_dir}: a resume continues the run as it was configured; "
                        f"these differ: {'; '.join(refused)}. Start a new run for other settings")
    done = saved_step(run_dir)
    steps = changes.get(("game", "max_steps"))
    if steps is not None and steps[2] is not None and steps[2] < done:
        raise UserError(f"--resume {run_dir}: --steps {steps[2]} is fewer than the {done} steps already played")
    game = dataclasses.replace(stored.game, **{n: c[2] for (s, n), c in changes.items() if s == "game"})
    config = dataclasses.replace(stored, game=game, **{n: c[2] for (s, n), c in changes.items() if s == "run"})
    return config, [f"{flag} {_shown(value)} (was {_shown(before)})" for flag, before, value in changes.values()]


def _shown(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None else str(value)
