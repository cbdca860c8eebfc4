"""Judge sets: which judges score a suite, so that a row can be put on a published table's scale.

``offline`` is the harness's own suite (it runs anywhere). The others reproduce a published protocol with the
published models, which load from the Hugging Face cache or a local copy (``--sta-model`` and the like):

- ``paradetox-2022`` (Logacheva et al. 2022, s-nlp/paradetox ``evaluation_detox``): STA = argmax of
  s-nlp/roberta_toxicity_classifier is "neutral"; FL = argmax of cointegrated/roberta-large-cola-krishna2020 is
  "acceptable" (index 0) after the evaluation's detokenisation; SIM is the offline suite's, as the Wieting SIM
  model is not on the hub; J = mean(STA x SIM x FL).
- ``pan-2024`` (PAN@CLEF 2024 TextDetox, pan-code ``clef24/text-detoxification/evaluate.py`` at 88037f4):
  STA = P(neutral) from textdetox/xlmr-large-toxicity-classifier; SIM = LaBSE cosine of input and rewrite;
  chrF = sentence chrF against the references / 100; J = mean(STA x SIM x chrF).

Torch-free: commands read the sets for their help and checks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..util.settings import Settings, setting


@dataclass(frozen=True)
class JudgeModel:
    """A published model a set loads: its ``role`` (``sta``, ``sim``, ``fl``: ``--ROLE-model`` points it at a local
    copy) and its hub id."""

    role: str
    hub_id: str


@dataclass(frozen=True)
class JudgeSet:
    """The metrics a suite scores with, and which figures J multiplies, sentence by sentence."""

    name: str
    description: str
    #: the metrics scored; None: every registered metric no other set claims (the offline suite, plugins' included)
    metrics: tuple[str, ...] | None
    #: the sentence figures whose product's mean is J; () for a set without J
    joint: tuple[str, ...] = ("STA", "SIM", "FL")
    models: tuple[JudgeModel, ...] = ()
    #: where the set departs from the published protocol, said wherever its figures are shown
    notes: tuple[str, ...] = ()

    def model(self, role: str) -> JudgeModel | None:
        return next((m for m in self.models if m.role == role), None)


OFFLINE = JudgeSet("offline", "the harness's own judges, calibrated on people's labels; offline, anywhere", None)
PARADETOX_2022 = JudgeSet(
    "paradetox-2022", "ParaDetox (Logacheva et al. 2022): RoBERTa toxicity and CoLA classifiers, argmax",
    ("paradetox-sta", "sim", "paradetox-fl", "bleu", "chrf"),
    models=(JudgeModel("sta", "s-nlp/roberta_toxicity_classifier"),
            JudgeModel("fl", "cointegrated/roberta-large-cola-krishna2020")),
    notes=("SIM is the offline suite's (the Wieting SIM model of the paper is not on the hub)",))
PAN_2024 = JudgeSet(
    "pan-2024", "PAN@CLEF 2024 TextDetox: XLM-R toxicity P(neutral), LaBSE similarity, chrF against references",
    ("pan-sta", "labse-sim", "chrf", "bleu"), joint=("STA", "SIM", "chrF"),
    models=(JudgeModel("sta", "textdetox/xlmr-large-toxicity-classifier"),
            JudgeModel("sim", "sentence-transformers/LaBSE")))

BUILTIN_SETS = (OFFLINE, PARADETOX_2022, PAN_2024)
ROLES = ("sta", "sim", "fl")


@dataclass
class JudgeOptions(Settings):
    """Which judge set scores a command's rewrites, and local copies of its published models."""

    judges: str = setting("offline", "the judge set: offline (the harness's own), paradetox-2022 or pan-2024 "
                                     "(the published models; `sro-bench list` shows plugins' sets)")
    sta_model: str | None = setting(None, "a local copy of the judge set's STA model (None: its hub id, from the cache)")
    sim_model: str | None = setting(None, "a local copy of the judge set's SIM model (None: its hub id, from the cache)")
    fl_model: str | None = setting(None, "a local copy of the judge set's FL model (None: its hub id, from the cache)")

    def judge_models(self) -> tuple[tuple[str, str], ...]:
        """(role, local copy) for each model option given, absolute."""
        given = {"sta": self.sta_model, "sim": self.sim_model, "fl": self.fl_model}
        return tuple((role, str(Path(path).resolve()) if Path(path).exists() else path)
                     for role, path in given.items() if path)

    def checked_judge_set(self) -> JudgeSet:
        """The named set, its models checked loadable (a one-line error before any work)."""
        judges = judge_set(self.judges)
        check_models(judges, dict(self.judge_models()))
        return judges


def known_sets() -> dict[str, JudgeSet]:
    """Every registered judge set (the built-ins through the same hook as plugins'), by name, offline first."""
    from ..plugins import registry

    sets = {}
    for name in registry().names("judge_set"):
        made = registry().get("judge_set", name).factory()
        if not isinstance(made, JudgeSet) or made.name != name:
            component = registry().get("judge_set", name)
            raise UserError(f"judge set {name!r} ({component.distribution}) gave {made!r}, not a JudgeSet named {name!r}")
        sets[name] = made
    return dict(sorted(sets.items(), key=lambda item: (item[0] != "offline", item[0])))


def judge_set(name: str) -> JudgeSet:
    sets = known_sets()
    if name not in sets:
        raise UserError(f"--judges: unknown judge set {name!r} (known: {', '.join(sets)})")
    return sets[name]


def missing_model(source: str) -> str | None:
    """Why ``source`` (a local directory or a hub id) cannot be loaded here, or None where it can."""
    if Path(source).is_dir():
        saved = (Path(source) / "config.json").is_file() or (Path(source) / "modules.json").is_file()
        return None if saved else f"{source} is not a saved model (no config.json)"
    if source.startswith((".", "/", "~")) or source.count("/") != 1:
        return f"{source}: no such directory"
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() not in ("1", "true", "yes"):
        return None  # the hub is asked when the model loads
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(source, "config.json")
    return None if isinstance(found, str) else "not in the Hugging Face cache, and the hub is offline"


def check_models(judges: JudgeSet, models: dict[str, str] | None = None) -> None:
    """Every published model of ``judges`` loadable (a local copy given per role in ``models``, else the hub id),
    checked before any scoring: a one-line error naming the model and the option that points at a copy."""
    models = models or {}
    unknown = sorted(set(models) - {m.role for m in judges.models})
    if unknown:
        raise UserError(f"--{unknown[0]}-model: the judge set {judges.name!r} loads no {unknown[0].upper()} model")
    for model in judges.models:
        why = missing_model(str(models.get(model.role) or model.hub_id))
        if why:
            raise UserError(f"--judges {judges.name}: {model.role.upper()} needs {model.hub_id}: {why}; download it "
                            f"where there is network, or point --{model.role}-model at a local copy")
