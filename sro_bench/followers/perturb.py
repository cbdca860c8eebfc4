"""Perturbed followers: the robustness suite's knobs, as composable, seeded wrappers.

Specs (``--perturb`` values), ``KIND:VALUE``:

- ``flip:P``          every verdict is flipped with probability P (the paper's p_flip);
- ``flip-fail:P``     only *fail* verdicts are flipped, to pass, with probability P (missed toxicity);
- ``flip-pass:P``     only *pass* verdicts are flipped, to fail, with probability P (false alarms);
- ``threshold:T``     a text fails when P(toxic) > T instead of the follower's own threshold;
- ``noisy-labels:Q``  the ``nblr`` screener retrained with a fraction Q of its training labels flipped
                      (seeded by the context seed, cached separately);
- ``swap:NAME``       the follower is replaced by the registered follower NAME.

Perturbations apply in three stages whatever order they are given in: the model (``swap``,
``noisy-labels``, in the order given), then ``threshold`` (at most one), then the flips (in the
order given), so that a flip always acts on the verdicts that are finally returned. Flips change
``verdicts()`` only; ``predict_proba()`` is the inner follower's. Each flip wrapper draws from its
own numpy Generator, seeded from the context seed, its position and its spec, and records that seed;
``reseed(seed)`` (which the game calls once per step) re-derives every wrapper's stream from a new
base seed, so a step's flips do not depend on how many texts earlier steps screened.

Wrappers pass ``toxic_vocabulary`` (the ``delete`` rewriter's NB word list) through to the model
inside; under ``threshold:T`` it is computed at T.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import UserError
from .base import Follower, FollowerContext

# kind -> (stage, what VALUE is); stage 0 = model, 1 = threshold, 2 = verdict flips
KINDS = {
    "flip": (2, "probability"),
    "flip-fail": (2, "probability"),
    "flip-pass": (2, "probability"),
    "threshold": (1, "probability"),
    "noisy-labels": (0, "probability"),
    "swap": (0, "follower"),
}


@dataclass(frozen=True)
class Perturbation:
    """One parsed spec: ``kind`` and its ``value`` (a float, or a follower name for ``swap``)."""

    kind: str
    value: float | str

    @property
    def spec(self) -> str:
        return f"{self.kind}:{self.value:g}" if isinstance(self.value, float) else f"{self.kind}:{self.value}"

    @property
    def stage(self) -> int:
        return KINDS[self.kind][0]


def parse_perturbation(spec: str) -> Perturbation:
    """``"flip:0.1"`` -> ``Perturbation("flip", 0.1)``; a bad spec is a one-line UserError."""
    text = str(spec).strip()
    kind, sep, raw = text.partition(":")
    kind, raw = kind.strip().lower(), raw.strip()
    if kind not in KINDS:
        raise UserError(f"unknown perturbation {kind or text!r} in {text!r} (known: {', '.join(KINDS)})")
    what = KINDS[kind][1]
    if not sep or not raw:
        example = "NAME" if what == "follower" else "P"
        raise UserError(f"perturbation {text!r} needs a value: {kind}:{example}")
    if what == "follower":
        return Perturbation(kind, raw)
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"perturbation {text!r}: {raw!r} is not a number (expected a value in [0, 1])") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise UserError(f"perturbation {text!r}: {raw} is outside [0, 1]")
    return Perturbation(kind, value)


# --- wrappers ----------------------------------------------------------------------------------


class Perturbed(Follower):
    """A follower wrapping ``inner``; by itself it changes nothing."""

    def __init__(self, inner: Follower, perturbation: Perturbation):
        self.inner = inner
        self.perturbation = perturbation
        self.name = f"{inner.name}+{perturbation.spec}"
        self.threshold = inner.threshold

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.predict_proba(texts)

    def verdicts(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.verdicts(texts)

    def reseed(self, seed: int) -> None:
        """Re-derive the random streams of this wrapper and those inside it from ``seed``."""
        self.inner.reseed(seed)

    def toxic_vocabulary(self, top: int | None = None, threshold: float | None = None) -> set[str] | None:
        return self.inner.toxic_vocabulary(top, threshold)

    def record(self) -> dict:
        return {"kind": self.perturbation.kind, "value": self.perturbation.value}

    def describe(self) -> dict:
        return {"name": self.name, "threshold": self.threshold, "perturbation": self.record(), "inner": self.inner.describe()}


class Flip(Perturbed):
    """Flips verdicts at random: both ways (``flip``), fail to pass, or pass to fail."""

    def __init__(self, inner: Follower, perturbation: Perturbation, base_seed: int, position: int):
        super().__init__(inner, perturbation)
        self.p = float(perturbation.value)
        self.position = position
        # Which verdicts may flip: either kind (None), only fails (1), only passes (0).
        self.only = {"flip": None, "flip-fail": 1, "flip-pass": 0}[perturbation.kind]
        self.initial_seed = int(base_seed)  # what describe() records; reseed() moves on from it
        self._seed(base_seed)

    def _seed(self, base_seed: int) -> None:
        self.base_seed = int(base_seed)
        self.seed = stream_seed(self.base_seed, self.position, self.perturbation.spec)
        self.rng = np.random.default_rng(self.seed)

    def reseed(self, seed: int) -> None:
        super().reseed(seed)
        self._seed(seed)

    def verdicts(self, texts: Sequence[str]) -> np.ndarray:
        v = np.array(self.inner.verdicts(texts), dtype=np.int8)
        # One draw per verdict whatever the direction, so streams stay aligned across kinds.
        hit = self.rng.random(len(v)) < self.p
        if self.only is not None:
            hit &= v == self.only
        v[hit] = 1 - v[hit]
        return v

    def record(self) -> dict:
        direction = {None: "both", 1: "fail->pass", 0: "pass->fail"}[self.only]
        return {"kind": self.perturbation.kind, "p": self.p, "direction": direction, "seed": self.initial_seed,
                "position": self.position}


class Threshold(Perturbed):
    """Judges with another threshold on the inner follower's P(toxic)."""

    def __init__(self, inner: Follower, perturbation: Perturbation):
        super().__init__(inner, perturbation)
        self.threshold = float(perturbation.value)

    def verdicts(self, texts: Sequence[str]) -> np.ndarray:
        return (np.asarray(self.inner.predict_proba(texts)) > self.threshold).astype(np.int8)

    def toxic_vocabulary(self, top: int | None = None, threshold: float | None = None) -> set[str] | None:
        return self.inner.toxic_vocabulary(top, self.threshold)  # the word list at this threshold

    def record(self) -> dict:
        return {"kind": "threshold", "threshold": self.threshold, "was": self.inner.threshold}


class Replaced(Perturbed):
    """Another model in place of the original (``swap`` or ``noisy-labels``); ``inner`` is the new one."""

    def __init__(self, replacement: Follower, perturbation: Perturbation, original: Follower):
        super().__init__(replacement, perturbation)
        self.name = f"{original.name}+{perturbation.spec}"
        self.replaces = original.name

    def record(self) -> dict:
        return {"kind": self.perturbation.kind, "value": self.perturbation.value, "replaces": self.replaces}


# --- applying ----------------------------------------------------------------------------------


def stream_seed(seed: int, position: int, spec: str) -> int:
    """A wrapper's own seed: distinct per position and spec, reproducible from the context seed."""
    return int(np.random.SeedSequence([int(seed), position, zlib.crc32(spec.encode())]).generate_state(1)[0])


def _replace_model(follower: Follower, p: Perturbation, context: FollowerContext) -> Follower:
    if p.kind == "swap":
        from ..plugins import registry

        return Replaced(registry().get("follower", str(p.value)).factory(context), p, follower)
    from ..plugins import registry

    base = follower.inner if isinstance(follower, Replaced) else follower
    if not base.retrains_with_label_noise:
        raise UserError(f"perturbation {p.spec!r} retrains the screener with noisy labels; "
                        f"the follower {follower.name!r} cannot be retrained (nblr and nblr-char can)")
    noisy_ctx = dataclasses.replace(context, options={**(context.options or {}), "label_noise": p.value})
    return Replaced(registry().get("follower", base.name).factory(noisy_ctx), p, follower)


def apply_perturbations(follower: Follower, specs: Sequence[str | Perturbation], context: FollowerContext) -> Follower:
    """``follower`` wrapped by every spec, in stage order (model, threshold, flips); see module doc."""
    parsed = [s if isinstance(s, Perturbation) else parse_perturbation(s) for s in specs]
    if sum(p.kind == "threshold" for p in parsed) > 1:
        raise UserError("at most one threshold perturbation may be given")
    out = follower
    for position, p in enumerate(sorted(parsed, key=lambda p: p.stage)):  # sorted() is stable
        if p.stage == 0:
            out = _replace_model(out, p, context)
        elif p.kind == "threshold":
            out = Threshold(out, p)
        else:
            out = Flip(out, p, context.seed, position)
    return out


def unwrap(follower: Follower) -> Follower:
    """The innermost follower (after a swap or noisy-labels, the replacement)."""
    while isinstance(follower, Perturbed):
        follower = follower.inner
    return follower
