"""The whole extension contract of sro-bench.

Every ``register_<kind>s`` hook receives ``register(name, factory, description)``. ``factory`` is
whatever the kind documents below; ``description`` is one line shown by ``sro-bench list``. Built-in
components are registered through these same hooks, from the project's own entry points.
``register_commands`` adds command-line verbs. Everything a plugin needs is importable from
``sro_bench`` itself (docs/PLUGINS.md).
"""

import pluggy

PROJECT = "sro_bench"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_leaders(register):
    """Leaders: ``factory(config: LeaderConfig, context: LeaderContext) -> sro_bench.leaders.Leader``."""


@hookspec
def register_followers(register):
    """Followers (screeners): ``factory(context: FollowerContext) -> sro_bench.followers.Follower``."""


@hookspec
def register_objectives(register):
    """Training objectives (methods that train a leader): ``factory(config) -> sro_bench.objectives.Objective``.

    ``register(name, factory, description, config=SettingsClass)`` names the objective's settings: a dataclass
    subclassing ``ObjectiveConfig`` whose fields (declared with ``setting``) become ``run`` options listed under
    the method; ``factory`` receives an instance. Without ``config=`` it receives an ``ObjectiveConfig``."""


@hookspec
def register_rewriters(register):
    """Training-free rewriters (methods too): ``factory(context) -> sro_bench.rewriters.Rewriter``."""


@hookspec
def register_metrics(register):
    """Suite metrics: ``factory(context) -> sro_bench.metrics.Metric``."""


@hookspec
def register_judge_sets(register):
    """Judge sets (named sets of metrics, ``--judges NAME``): ``factory() -> sro_bench.metrics.JudgeSet``."""


@hookspec
def register_datasets(register):
    """Datasets: ``factory(data_dir: Path) -> sro_bench.data.Dataset``."""


@hookspec
def register_commands(cli):
    """Command-line verbs: add ``click`` commands to the ``cli`` group (``@cli.command()``); a plugin may not
    replace a built-in command."""
