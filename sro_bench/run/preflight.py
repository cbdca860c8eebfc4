"""One validation pass over a whole request, before any model is built or any file is written.

Every name (method, leader, follower, perturbation, metric, dataset), value and path a command takes
is checked here, so a mistake costs seconds, not a trained leader.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

from ..errors import UserError
from ..leaders.config import LeaderConfig, LeaderContext
from ..plugins import registry
from ..util.files import output_problem
from ..util.paths import resolve_cache_dir
from .config import RunConfig


def check_output(path: Path, option: str, *, directory: bool = False) -> None:
    problem = output_problem(path, directory=directory)
    if problem:
        raise UserError(f"{option} {path}: {problem}")


def check_metrics(names: list[str] | None) -> None:
    reg = registry()
    for name in names or []:
        if reg.find("metric", name) is None:
            raise UserError(f"--metrics: unknown metric {name!r} (known: {', '.join(reg.names('metric'))})")


def check_follower(name: str, option: str) -> None:
    reg = registry()
    if reg.find("follower", name) is None:
        raise UserError(f"{option}: unknown follower {name!r} (known: {', '.join(reg.names('follower'))})")


def check_perturbations(specs: list[str]) -> None:
    from ..followers.perturb import KINDS, parse_perturbation

    for spec in specs:
        perturbation = parse_perturbation(spec)
        if KINDS[perturbation.kind][1] == "follower":
            check_follower(str(perturbation.value), f"--perturb {spec}")


def hf_source_problem(source: str) -> str | None:
    """Why ``hf:<source>`` cannot load offline, or None; a hub id is looked up in the local hub cache only."""
    if not source:
        return "needs a hub id or a directory, e.g. hf:t5-small"
    path = Path(source).expanduser()
    if source.startswith(("/", ".", "~")) or path.exists():
        if not path.is_dir():
            return "no such directory"
        if not (path / "config.json").is_file() and not (path / "leader.json").is_file():
            return "not a model directory (no config.json)"
        return None
    if os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes", "on"):
        return None  # may download
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.utils import HFValidationError

    try:
        cached = try_to_load_from_cache(source, "config.json")
    except HFValidationError:
        return "neither a directory nor a valid hub id"
    if not isinstance(cached, str):
        return "not in the local Hugging Face cache and the hub is offline (HF_HUB_OFFLINE); give a local directory"
    return None


def check_leader(name: str) -> None:
    if name.startswith("hf:"):
        problem = hf_source_problem(name[3:])
        if problem:
            raise UserError(f"--leader {name}: {problem}")
        return
    reg = registry()
    component = reg.find("leader", name)
    if component is None:
        raise UserError(f"--leader: unknown leader {name!r} (known: {', '.join(reg.names('leader'))}, "
                        "or hf:<hub-id-or-directory>)")
    try:
        inspect.signature(component.factory).bind(LeaderConfig(), LeaderContext())
    except TypeError:
        raise UserError(f"--leader {name}: the factory registered by {component.distribution!r} does not take "
                        "(config, context), the leader factory contract since LeaderContext (docs/PLUGINS.md)") from None
    except ValueError:  # a builtin or C callable without a signature: nothing to check
        pass


def check_run(config: RunConfig) -> None:
    """Everything a resolved run configuration names or sets; raises a one-line UserError."""
    config.validate()  # again: a field may have been set after construction
    reg = registry()
    method = reg.method(config.method)
    if method.kind != "rewriter":
        objective = method.factory(config.method_settings())
        least = objective.min_group_size
        if objective.source == "pairs" and config.game.guided_samples:
            raise UserError(f"--guided-samples: --method {config.method} trains on pairs, not on the leader's samples")
        if objective.source == "pairs" and config.game.decode != "greedy":
            raise UserError(f"--decode {config.game.decode}: --method {config.method} trains on pairs, not against "
                            "the follower (--decode greedy)")
        if objective.source == "samples" and config.game.samples_per_input < least:
            raise UserError(f"--method {config.method} needs --samples-per-input >= {least} "
                            f"(got {config.game.samples_per_input})")
        check_leader(config.leader.name)
        from ..leaders.device import resolve_device

        resolve_device(config.leader.device)
    if config.train_dataset is not None and reg.find("dataset", config.train_dataset) is None:
        raise UserError(f"--train-dataset: unknown dataset {config.train_dataset!r} "
                        f"(known: {', '.join(reg.names('dataset'))})")
    check_follower(config.follower, "--follower")
    config.checked_judge_set()  # the judge set's published models loadable: not after an hour of training
    check_perturbations(config.perturb)
    check_metrics(config.metrics)
    from .tracking import check_trackers

    check_trackers(config.report_to)
    resolve_cache_dir(config.cache_dir)
    check_output(Path(config.runs_dir), "--runs-dir", directory=True)
