"""The published judges of the judge sets (:mod:`.judge_sets`): sequence classifiers read as STA or FL, and a
sentence encoder's cosine as SIM. Each loads on first use, from the Hugging Face cache, a local copy or (with
network) the hub, runs on the suite's device in batches, and reports its model, revision and throughput."""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from ..errors import UserError
from .base import Metric, MetricContext, MetricResult
from .judge_sets import PAN_2024, PARADETOX_2022, JudgeSet

BATCH = 32
MAX_LENGTH = 512  # tokens, as both published evaluations truncate


def detokenize(text: str) -> str:
    """ParaDetox's clean-up before the CoLA classifier: six literal replacements, in this order, and nothing else."""
    for spaced, joined in ((" .", "."), (" ,", ","), (" !", "!"), (" ?", "?"), (" )", ")"), ("( ", "(")):
        text = text.replace(spaced, joined)
    return text


def label_index(id2label: dict, wanted: str, documented: int) -> int:
    """The index of the label named ``wanted`` in the model's config; ``documented`` where the config names its
    labels generically (LABEL_0, ...), as the CoLA model does; an error where it names them otherwise."""
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    found = [i for i, name in names.items() if name == wanted]
    if found:
        return found[0]
    if all(name == f"label_{i}" for i, name in names.items()):
        return documented
    raise UserError(f"the classifier's labels are {sorted(names.values())}, none of them {wanted!r}: not the model "
                    "this judge expects")


def model_source(context: MetricContext, role: str, hub_id: str) -> str:
    """The local copy given for ``role`` (``--sta-model`` and the like), else the hub id."""
    given = dict(context.models).get(role)
    return str(given) if given else hub_id


class ClassifierJudge(Metric):
    """A published sequence classifier as a judge: P(``label``) per rewrite (``soft``), or 1 where the argmax is
    ``label`` and 0 elsewhere."""

    def __init__(self, name: str, figure: str, source: str, label: str, documented_index: int, *, soft: bool,
                 device: str = "cpu", prepare: Callable[[str], str] | None = None):
        self.name, self.figure, self.source, self.label = name, figure, source, label
        self.documented_index, self.soft, self.device, self.prepare = documented_index, soft, device, prepare
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            # offline (HF_HUB_OFFLINE) transformers reads the cache only; the suite checked it (check_models)
            tokenizer = AutoTokenizer.from_pretrained(self.source)
            model = AutoModelForSequenceClassification.from_pretrained(self.source)
            model.to(self.device).eval()
            index = label_index(model.config.id2label, self.label, self.documented_index)
            self._loaded = tokenizer, model, index
        return self._loaded

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Softmax over the labels, one row per text."""
        import torch

        tokenizer, model, _ = self._load()
        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH):
                batch = tokenizer(list(texts[start:start + BATCH]), return_tensors="pt", padding=True, truncation=True,
                                  max_length=MAX_LENGTH).to(self.device)
                rows.append(torch.softmax(model(**batch).logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(rows) if rows else np.zeros((0, model.config.num_labels))

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        _, model, index = self._load()
        started = time.perf_counter()  # the throughput of scoring, the model's loading apart
        texts = [self.prepare(t) if self.prepare else t for t in rewrites]
        probs = self.probabilities(texts)
        values = probs[:, index] if self.soft else (probs.argmax(axis=1) == index).astype(np.float64)
        seconds = time.perf_counter() - started
        revision = revision_of(self.source)
        reading = "P(label)" if self.soft else "argmax is the label"
        return MetricResult({self.figure: values}, {self.figure: float(values.mean())}, {
            "model": self.source, "revision": revision, "label": f"{model.config.id2label.get(index, index)} (index {index})",
            "reading": reading, "rows_per_second": round(len(texts) / seconds, 1),
            "judge_id": f"{self.source}@{revision}:{self.label}:{'soft' if self.soft else 'argmax'}"})


class EncoderSimilarity(Metric):
    """SIM as the cosine of a sentence encoder's embeddings of the input and the rewrite (no clipping)."""

    def __init__(self, name: str, source: str, device: str = "cpu"):
        self.name, self.source, self.device, self._model = name, source, device, None

    def score(self, inputs, rewrites, references=None) -> MetricResult:
        from sentence_transformers import SentenceTransformer

        if self._model is None:
            self._model = SentenceTransformer(self.source, device=self.device)
        started = time.perf_counter()
        a = self._model.encode(list(inputs), batch_size=BATCH, convert_to_numpy=True)
        b = self._model.encode(list(rewrites), batch_size=BATCH, convert_to_numpy=True)
        cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
        seconds = time.perf_counter() - started
        revision = revision_of(self.source)
        return MetricResult({"sim": cos.astype(np.float64)}, {"sim": float(cos.mean())}, {
            "model": self.source, "revision": revision, "rows_per_second": round(len(inputs) / seconds, 1),
            "judge_id": f"{self.source}@{revision}:cosine"})


def revision_of(source: str) -> str:
    """What scores, named by content: a local copy's file digest, else the hub commit the cache holds."""
    from pathlib import Path

    if Path(source).is_dir():
        from ..util.digests import files_digest

        return "sha256:" + files_digest(Path(source))[:16]
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "config.json")
    return Path(cached).parent.name if isinstance(cached, str) else "hub"  # .../snapshots/<commit>/config.json


def judge_device(context: MetricContext) -> str:
    """The suite's device where it names a GPU; else the GPU when there is one (the published models are large)."""
    import torch

    return context.device if context.device != "cpu" or not torch.cuda.is_available() else "cuda"


def _classifier(judges: JudgeSet, name: str, role: str, figure: str, label: str, index: int, soft: bool, prepare=None):
    def factory(context: MetricContext) -> ClassifierJudge:
        source = model_source(context, role, judges.model(role).hub_id)
        return ClassifierJudge(name, figure, source, label, index, soft=soft, device=judge_device(context),
                               prepare=prepare)

    return factory


paradetox_sta_factory = _classifier(PARADETOX_2022, "paradetox-sta", "sta", "sta", "neutral", 0, soft=False)
paradetox_fl_factory = _classifier(PARADETOX_2022, "paradetox-fl", "fl", "fl", "acceptable", 0, soft=False,
                                   prepare=detokenize)
pan_sta_factory = _classifier(PAN_2024, "pan-sta", "sta", "sta", "neutral", 0, soft=True)


def labse_sim_factory(context: MetricContext) -> EncoderSimilarity:
    return EncoderSimilarity("labse-sim", model_source(context, "sim", PAN_2024.model("sim").hub_id),
                             judge_device(context))
