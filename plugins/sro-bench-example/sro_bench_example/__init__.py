"""An example sro-bench plugin, written exactly as a third party would write one.

It adds a method (the ``unlikelihood`` objective: SRO's fail branch alone), a metric
(``length-ratio``: rewrite words over input words) and a command (``sro-bench hello``). Install it with ``pip install`` and it shows
in ``sro-bench list`` and runs with ``sro-bench run --method unlikelihood``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sro_bench import (LossTerms, Metric, MetricResult, Objective, ObjectiveConfig, UserError, hookimpl, masked_mean,
                       setting, smoothed_sigmoid_loss)


@dataclass
class UnlikelihoodConfig(ObjectiveConfig):
    """``--method unlikelihood``'s settings (options of ``sro-bench run``, listed under the method)."""

    beta: float = setting(0.1, "inverse temperature of the log-ratio")

    def validate(self):
        super().validate()
        if self.beta <= 0:
            raise UserError(f"--beta must be > 0, got {self.beta}")


class Unlikelihood(Objective):
    """Push failing samples' likelihood below the reference; passing samples are left alone."""

    name = "unlikelihood"
    source = "samples"
    uses_rejected = False
    config_class = UnlikelihoodConfig

    def loss(self, t: LossTerms):
        per_sample = smoothed_sigmoid_loss(-(t.policy_chosen - t.ref_chosen), self.config.beta, 0.0) * t.fails
        return per_sample.mean(), {"loss_fail": masked_mean(per_sample.detach(), t.fails).item()}


class LengthRatio(Metric):
    """Words in the rewrite over words in the input (deletion-heavy rewriters score low)."""

    name = "length-ratio"
    figures = {"length_ratio": {"format": ".2f"}}  # how the leaderboard shows it

    def score(self, inputs, rewrites, references=None):
        ratio = np.array([len(y.split()) / max(len(x.split()), 1) for x, y in zip(inputs, rewrites)])
        return MetricResult(sentence={"length_ratio": ratio}, corpus={"length_ratio": float(ratio.mean())})


@hookimpl
def register_objectives(register):
    register("unlikelihood", Unlikelihood, "Example plugin: SRO's fail branch alone (unlikelihood vs the reference)",
             config=UnlikelihoodConfig)


@hookimpl
def register_metrics(register):
    register("length-ratio", lambda context: LengthRatio(), "Example plugin: rewrite words over input words")


@hookimpl
def register_commands(cli):
    import click

    @cli.command("hello")
    def hello():
        """Example plugin: a command added by a plugin."""
        click.echo("hello from sro-bench-example")
