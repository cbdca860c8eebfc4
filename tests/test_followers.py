"""Followers: the NB-LR screener (tokenizer, scoring, saving, cache, recipe), perturbations, plugins."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import string
from pathlib import Path

import numpy as np
import pytest

from sro_bench import data as d
from sro_bench.errors import UserError
from sro_bench.followers import (
    Follower,
    FollowerContext,
    NBLRModel,
    NBLRScreener,
    apply_perturbations,
    build_follower,
    fit_nblr,
    load_screener,
    parse_perturbation,
    screener_report,
    train_screener,
    unwrap,
)
from sro_bench.followers import perturb as P
from sro_bench.followers.nblr_char import (
    CharNBLRModel,
    CharNBLRScreener,
    build_char_vectorizer,
    fit_nblr_char,
    load_char_screener,
    train_char_screener,
)
from sro_bench.followers.recipe import build_corpora
from sro_bench.followers.tokenize import (
    SEED_PATTERN,
    analyse,
    analyse_batch,
    fast_tokenize,
    preprocess,
    seed_tokenize,
)

REPO = Path(__file__).resolve().parent.parent

# --- a tiny synthetic corpus and data directory ------------------------------------------------

NEUTRAL = ("the this that a an we they you he she it is are was were have has about article page edit "
           "source reference section talk user discussion please thanks think agree opinion people point "
           "time good wrong right change help read write link image history policy name list view").split()
TOXIC = "idiot stupid moron dumb crap suck loser pathetic shut jerk".split()


def sentence(rng: random.Random, toxic: bool) -> str:
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 9))]
    if toxic:
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(TOXIC))
    text = " ".join(words)
    return text + rng.choice(["", " .", " !", "?", ", ok", " ...", " :)"])


def tiny_corpus(n: int = 600, seed: int = 1) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    labels = [i % 2 for i in range(n)]
    return [sentence(rng, bool(y)) for y in labels], labels


def write_data_dir(root: Path, seed: int = 2) -> Path:
    """The recipe's files in their real formats, small: ParaDetox needs > 671 rows (the dev split)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["toxic", "neutral1", "neutral2", "neutral3"])
    for _ in range(760):
        toxic = sentence(rng, True)
        clean = " ".join(t for t in toxic.split() if t not in TOXIC)
        w.writerow([toxic, clean, sentence(rng, False) if rng.random() < 0.5 else "", ""])
    (root / d.PARADETOX).write_text(buf.getvalue(), encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"])
    for i in range(300):
        w.writerow([f"{i:016x}", sentence(rng, True) + "\n" + sentence(rng, True), 1, 0, 0, 0, 1, 0])
    (root / d.DIRTY).write_text(buf.getvalue(), encoding="utf-8")
    buf = io.StringIO()
    w = csv.writer(buf, delimiter="\t", lineterminator="\n")
    w.writerow(["", "INPUT:toxic_comment", "OUTPUT:reasons"])
    for i in range(200):
        toxic = i % 4 != 0
        reasons = {"toxic_content": True} if toxic else {"not_toxic": True}
        w.writerow([i, f'"{sentence(rng, toxic)}"', json.dumps(reasons)])
    (root / d.CANNOT_REWRITE).write_text(buf.getvalue(), encoding="utf-8")
    for name in d.NORMAL_FILES:
        (root / name).write_text("\n".join(sentence(rng, False) for _ in range(250)) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def tiny_model() -> NBLRModel:
    return fit_nblr(*tiny_corpus())


@pytest.fixture(scope="module")
def tiny_screener(tiny_dir, tmp_path_factory) -> NBLRScreener:
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path_factory.mktemp("cache"))
    return train_screener(ctx, progress=False)


# --- tokenizer ---------------------------------------------------------------------------------


def test_fast_tokenizer_equals_seed_tokenizer_on_every_code_point():
    assert SEED_PATTERN == f"([{string.punctuation}“”¨«»®´·º½¾¿¡§£₤‘’])"  # the seed's, verbatim
    for start in range(0, 0x110000, 8192):
        doc = "".join(f"a{chr(c)}b{chr(c)}{chr(c)} x" for c in range(start, min(start + 8192, 0x110000)))
        assert fast_tokenize(doc) == seed_tokenize(doc), hex(start)
    # The seed's class loses the backslash (``[\]`` escapes the bracket): it never splits there.
    assert seed_tokenize("a\\b [c]") == fast_tokenize("a\\b [c]") == ["a\\b", "[", "c", "]"]


def test_preprocessing_and_batch_analysis_match_scikit_learn_per_text():
    from sklearn.feature_extraction.text import strip_accents_unicode

    rng = random.Random(0)
    alphabet = list("aAbZΣσς \t\n.,'\\-Éé̈ǅİß½¨´") + [chr(c) for c in range(0x300, 0x370)]
    batches = []
    for _ in range(2000):
        batches.append(["".join(rng.choice(alphabet) if rng.random() < 0.6 else chr(rng.randrange(0x20, 0x3000))
                                for _ in range(rng.randrange(0, 15))) for _ in range(rng.randrange(1, 6))])
    batches.append(["ΑΣ", "Σα", "ΑΣ\nΣ", "", "plain ascii, text!"])
    for texts in batches:
        for t in texts:
            assert preprocess(t) == strip_accents_unicode(t.lower())
            assert analyse(t) == seed_tokenize(strip_accents_unicode(t.lower()))
        expected = [tok for t in texts for tok in analyse(t) + ["\n"]]
        assert analyse_batch(texts) == expected, texts


# --- the model: scoring, fitting, saving -------------------------------------------------------


def sklearn_proba(model: NBLRModel, texts: list[str]) -> np.ndarray:
    """The seed's scoring path with scikit-learn and the seed's own tokenizer."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(ngram_range=(1, 2), tokenizer=seed_tokenize, token_pattern=None, lowercase=True,
                          strip_accents="unicode", sublinear_tf=True,
                          vocabulary={g: j for j, g in enumerate(model.vocabulary)})
    vec.idf_ = model.idf
    z = vec.transform(texts).multiply(model.r).tocsr() @ model.coef + model.intercept
    return 1.0 / (1.0 + np.exp(-z))


PROBES = ["you are an idiot", "thanks for the help", "", "   ", "!!!", "Stupid MORON!!", "zzz unknown words",
          "idiot idiot idiot stupid", "Ünïcödé ÇAFÉ idiot…", "a\\b back\\slash", "line\nbreak idiot", "the the the"]


def test_fitting_matches_the_seed_vectorizer(tiny_model):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts, _ = tiny_corpus()
    seed_vec = TfidfVectorizer(ngram_range=(1, 2), tokenizer=seed_tokenize, token_pattern=None, min_df=3,
                               max_df=0.9, strip_accents="unicode", use_idf=True, smooth_idf=True, sublinear_tf=True)
    seed_vec.fit(texts)
    assert tiny_model.vocabulary == sorted(seed_vec.vocabulary_, key=seed_vec.vocabulary_.get)
    np.testing.assert_array_equal(tiny_model.idf, seed_vec.idf_)


def test_fast_scoring_matches_scikit_learn(tiny_model):
    texts = PROBES + tiny_corpus(300, seed=9)[0]
    ours = tiny_model.predict_proba(texts)
    np.testing.assert_allclose(ours, sklearn_proba(tiny_model, texts), rtol=0, atol=1e-12)
    assert ours.dtype == np.float64 and ours.shape == (len(texts),)
    assert tiny_model.predict_proba([]).shape == (0,)
    # Chunking and batch composition do not change a text's score.
    np.testing.assert_array_equal(tiny_model.predict_proba(texts[:5]), ours[:5])


def test_model_separates_the_tiny_corpus(tiny_model):
    texts, labels = tiny_corpus(400, seed=5)
    accuracy = ((tiny_model.predict_proba(texts) > 0.5) == np.array(labels)).mean()
    assert accuracy > 0.95


def test_save_load_round_trip_gives_identical_probabilities_and_no_pickle(tiny_model, tmp_path):
    tiny_model.save(tmp_path / "m", {"note": "x"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.safetensors"]
    loaded, meta = NBLRModel.load(tmp_path / "m")
    assert meta == {"note": "x"}
    texts = PROBES + tiny_corpus(200, seed=3)[0]
    np.testing.assert_array_equal(loaded.predict_proba(texts), tiny_model.predict_proba(texts))
    for path in (tmp_path / "m").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


def test_loading_a_damaged_model_is_a_one_line_error(tiny_model, tmp_path):
    from sro_bench.errors import DataError

    tiny_model.save(tmp_path / "m")
    (tmp_path / "m" / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(DataError, match="weights.safetensors") as err:
        NBLRModel.load(tmp_path / "m")
    assert "\n" not in str(err.value)


def test_core_followers_never_use_pickle_or_joblib():
    for path in (REPO / "sro_bench" / "followers").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(pickle|joblib|cloudpickle|dill)\b", source, re.MULTILINE), path.name


# --- training from a data directory, with the cache ---------------------------------------------


def test_cache_entry_contents_and_second_build(tiny_dir, tmp_path, monkeypatch):
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path)
    first = train_screener(ctx, progress=False)
    entries = list((tmp_path / "followers").iterdir())
    assert [e.name for e in entries] == [f"nblr-{first.metadata['cache_key']}"]  # no temporary leftovers
    assert sorted(p.name for p in entries[0].iterdir()) == ["model.json", "weights.safetensors"]
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]

    import sro_bench.followers.nblr as nblr_module

    def no_training(*args, **kwargs):
        raise AssertionError("the second build must load, not train")

    monkeypatch.setattr(nblr_module, "fit_nblr", no_training)
    second = train_screener(ctx, progress=False)
    texts = PROBES + d.load_dirty(tiny_dir / d.DIRTY).inputs[:50]
    np.testing.assert_array_equal(second.predict_proba(texts), first.predict_proba(texts))
    assert second.describe() == first.describe()
    np.testing.assert_array_equal(load_screener(entries[0]).predict_proba(texts), first.predict_proba(texts))


def test_cache_key_covers_exclusions_that_matter(tiny_dir, tmp_path):
    base = train_screener(FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path), progress=False)
    _, dev = d.split_dev(d.load_paradetox(tiny_dir / d.PARADETOX))
    # Keys matching no training text (or only the dev split, excluded anyway) leave the model alone.
    harmless = frozenset({"no such sentence", d.normalise(dev.inputs[0])})
    same = train_screener(FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, exclude=harmless), progress=False)
    assert same.metadata["cache_key"] == base.metadata["cache_key"]
    dropped = frozenset({d.normalise(d.load_dirty(tiny_dir / d.DIRTY).inputs[0])})
    other = train_screener(FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, exclude=dropped | harmless), progress=False)
    assert other.metadata["cache_key"] != base.metadata["cache_key"]
    assert other.metadata["training"]["exclude_list"] == {
        "given": 3, "effective": 1, "sha256": other.metadata["training"]["exclude_list"]["sha256"]}
    forced = train_screener(FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path), force=True, progress=False)
    assert forced.metadata["cache_key"] == base.metadata["cache_key"]
    assert len(list((tmp_path / "followers").iterdir())) == 2


def test_a_damaged_cache_entry_is_retrained(tiny_dir, tmp_path):
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path)
    first = train_screener(ctx, progress=False)
    entry = tmp_path / "followers" / f"nblr-{first.metadata['cache_key']}"
    (entry / "model.json").write_text("{", encoding="utf-8")
    with pytest.warns(UserWarning, match="retraining"):
        again = train_screener(ctx, progress=False)
    np.testing.assert_array_equal(again.predict_proba(PROBES), first.predict_proba(PROBES))
    assert NBLRModel.load(entry)[0].vocabulary == first.model.vocabulary


def test_an_altered_cached_screener_is_retrained_not_trusted(tiny_dir, tmp_path):
    """Weights changed on disk (still a readable file) used to screen under the old cache entry's name."""
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path)
    first = train_screener(ctx, progress=False)
    weights = tmp_path / "followers" / f"nblr-{first.metadata['cache_key']}" / "weights.safetensors"
    with safe_open(str(weights), framework="np") as f:
        metadata = f.metadata()
    altered = load_file(str(weights))
    altered["coef"] = -altered["coef"]  # every toxic n-gram now votes for passing
    save_file(altered, str(weights), metadata=metadata)
    with pytest.warns(UserWarning, match="weights.safetensors: the weights and model.json differ from the digest"):
        again = train_screener(ctx, progress=False)
    np.testing.assert_array_equal(again.predict_proba(PROBES), first.predict_proba(PROBES))
    (weights.parent / "model.json").write_text((weights.parent / "model.json").read_text().replace('"', '"', 1) + " ")
    with pytest.warns(UserWarning, match="differ from the digest"):  # the JSON half counts too
        train_screener(ctx, progress=False)


def test_recipe_never_trains_on_the_dev_split_or_exclusions(tiny_dir):
    pd_train, dev = d.split_dev(d.load_paradetox(tiny_dir / d.PARADETOX))
    excluded = d.normalise(d.load_dirty(tiny_dir / d.DIRTY).inputs[0])
    train, held, stats = build_corpora(tiny_dir, frozenset({excluded}))
    dev_keys = {d.normalise(t) for t in dev.inputs} | {d.normalise(r) for rs in dev.references for r in rs}
    train_keys = {d.normalise(t) for t in train.texts}
    assert not train_keys & dev_keys
    assert excluded not in train_keys and stats["excluded_by_list"] >= 1
    assert not train_keys & {d.normalise(t) for t in held.texts}  # nothing straddles the split
    # A ParaDetox toxic sentence and its rewrites are on one side.
    for x, refs in zip(pd_train.inputs, pd_train.references):
        sides = {x in held.texts} | {r in held.texts for r in refs if d.normalise(r) not in dev_keys}
        assert len(sides) == 1 or d.normalise(x) in dev_keys
    assert set(held.sources) == {"cannot-rewrite", "dirty", "emnlp-normal", "paradetox-neutral", "paradetox-toxic"}
    assert 0.05 < len(held.texts) / (len(held.texts) + len(train.texts)) < 0.15


def test_screener_report_and_describe(tiny_screener):
    report = screener_report(tiny_screener)
    for key in ("accuracy", "roc_auc", "f1", "pass_rate_dirty", "pass_rate_dev_references", "training_rows"):
        assert key in report
    assert all(not isinstance(v, (dict, list)) for v in report.values())
    assert report["accuracy"] > 0.9 and report["roc_auc"] > 0.9
    assert report["pass_rate_emnlp_toxic"] is None  # the optional evaluation files are absent here
    desc = tiny_screener.describe()
    assert desc["name"] == "nblr" and desc["threshold"] == 0.5 and desc["recipe"]["refit_on_heldout"] is False
    json.dumps(desc)  # run records are JSON
    with pytest.raises(UserError, match="no held-out figures"):
        screener_report(NBLRScreener(tiny_screener.model))


def test_toxic_vocabulary_is_the_words_failed_on_their_own(tiny_screener):
    vocab = tiny_screener.toxic_vocabulary()
    assert vocab and vocab <= set(TOXIC)
    words = [g for g in tiny_screener.model.vocabulary if " " not in g and g.isalpha()]
    p = dict(zip(words, tiny_screener.predict_proba(words)))
    assert vocab == {w for w in words if p[w] > 0.5}
    top = tiny_screener.toxic_vocabulary(top=2)
    assert len(top) == 2 and top <= vocab
    assert tiny_screener.toxic_vocabulary(threshold=0.99) <= vocab


def test_nblr_is_registered_through_the_plugin_hook():
    from sro_bench.followers import plugin
    from sro_bench.plugins import Registry

    reg = Registry()
    reg.add_plugin(plugin, "sro-bench")
    component = reg.get("follower", "nblr")
    assert component.factory.__name__ == "train_screener" and component.distribution == "sro-bench"
    assert {"nblr", "nblr-char"} <= set(reg.names("follower"))


# --- perturbations -----------------------------------------------------------------------------


class Stub(Follower):
    """P(toxic) cycles through 0.005 .. 0.995: half the texts fail at 0.5."""

    name = "stub"

    def predict_proba(self, texts):
        return np.array([(int(t) % 100) / 100 + 0.005 for t in texts], dtype=np.float64)


TEXTS = [str(i) for i in range(10_000)]


def four_sigma(n: int, p: float) -> float:
    return 4 * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_flip_frequency_matches_p(p):
    base = Stub().verdicts(TEXTS)
    follower = apply_perturbations(Stub(), [f"flip:{p}"], FollowerContext(seed=1))
    flipped = (follower.verdicts(TEXTS) != base).sum()
    assert abs(flipped - p * len(TEXTS)) < four_sigma(len(TEXTS), p)
    np.testing.assert_array_equal(follower.predict_proba(TEXTS), Stub().predict_proba(TEXTS))


@pytest.mark.parametrize("kind, changes", [("flip-fail", 1), ("flip-pass", 0)])
def test_asymmetric_flips_change_one_direction_only(kind, changes):
    base = Stub().verdicts(TEXTS)
    v = apply_perturbations(Stub(), [f"{kind}:0.3"], FollowerContext(seed=2)).verdicts(TEXTS)
    changed = v != base
    assert changed.any() and (base[changed] == changes).all()
    eligible = (base == changes).sum()
    assert abs(changed.sum() - 0.3 * eligible) < four_sigma(eligible, 0.3)


def test_flip_extremes():
    base = Stub().verdicts(TEXTS)
    np.testing.assert_array_equal(apply_perturbations(Stub(), ["flip:0"], FollowerContext()).verdicts(TEXTS), base)
    np.testing.assert_array_equal(apply_perturbations(Stub(), ["flip:1"], FollowerContext()).verdicts(TEXTS), 1 - base)
    assert apply_perturbations(Stub(), ["flip-fail:1"], FollowerContext()).verdicts(TEXTS).sum() == 0


@pytest.mark.parametrize("t", [0.3, 0.7])
def test_threshold_shift(t):
    follower = apply_perturbations(Stub(), [f"threshold:{t}"], FollowerContext())
    proba = Stub().predict_proba(TEXTS)
    np.testing.assert_array_equal(follower.verdicts(TEXTS), (proba > t).astype(np.int8))
    assert follower.threshold == t and follower.describe()["perturbation"]["was"] == 0.5
    assert abs(follower.verdicts(TEXTS).mean() - (1 - t)) < 0.01


def test_flips_are_seeded_and_reseedable():
    def run(seed, specs=("flip:0.2",)):
        return apply_perturbations(Stub(), list(specs), FollowerContext(seed=seed))

    a, b = run(5), run(5)
    np.testing.assert_array_equal(a.verdicts(TEXTS), b.verdicts(TEXTS))
    np.testing.assert_array_equal(a.verdicts(TEXTS), b.verdicts(TEXTS))  # streams advance alike
    assert (run(6).verdicts(TEXTS) != run(5).verdicts(TEXTS)).any()
    a.reseed(42)
    b.reseed(42)
    np.testing.assert_array_equal(a.verdicts(TEXTS[:100]), b.verdicts(TEXTS[:100]))
    # Two flip wrappers in one chain draw from different streams.
    two = run(5, ("flip:0.5", "flip:0.5"))
    assert two.seed != two.inner.seed


def test_composition_applies_model_then_threshold_then_flips():
    ctx = FollowerContext(seed=3)
    follower = apply_perturbations(Stub(), ["flip-pass:0.5", "threshold:0.8"], ctx)
    assert isinstance(follower, P.Flip) and isinstance(follower.inner, P.Threshold)
    assert follower.name == "stub+threshold:0.8+flip-pass:0.5"
    v = follower.verdicts(TEXTS)
    at_08 = (Stub().predict_proba(TEXTS) > 0.8).astype(np.int8)
    assert (v[at_08 == 1] == 1).all()  # a fail at 0.8 is never flipped by flip-pass
    assert abs(v.mean() - (0.2 + 0.8 * 0.5)) < 0.03
    desc = follower.describe()
    assert desc["perturbation"]["kind"] == "flip-pass" and desc["perturbation"]["direction"] == "pass->fail"
    assert desc["inner"]["perturbation"]["kind"] == "threshold"
    assert desc["inner"]["inner"] == {"name": "stub", "threshold": 0.5}
    assert unwrap(follower).name == "stub"
    with pytest.raises(UserError, match="one threshold"):
        apply_perturbations(Stub(), ["threshold:0.3", "threshold:0.4"], ctx)


@pytest.mark.parametrize("spec, message", [
    ("flip:1.5", "outside"), ("flip:-0.1", "outside"), ("flip:abc", "not a number"), ("flip:nan", "outside"),
    ("wobble:0.1", "unknown perturbation"), ("flip", "needs a value"), ("swap:", "needs a value"),
    ("threshold:2", "outside"), ("noisy-labels:x", "not a number"),
])
def test_bad_specs_are_one_line_user_errors(spec, message):
    with pytest.raises(UserError, match=message) as err:
        parse_perturbation(spec)
    assert "\n" not in str(err.value)


def test_parse_perturbation_round_trips():
    assert parse_perturbation(" Flip : 0.10 ") == P.Perturbation("flip", 0.1)
    assert parse_perturbation("flip:0.1").spec == "flip:0.1"
    assert parse_perturbation("swap:profanity") == P.Perturbation("swap", "profanity")


def test_swap_uses_the_registry(monkeypatch):
    from sro_bench import plugins
    from sro_bench.hookspecs import hookimpl

    class Always(Follower):
        name = "always"

        def predict_proba(self, texts):
            return np.ones(len(texts))

    class Plugin:
        @hookimpl
        def register_followers(register):  # pluggy calls it with register= only, no self
            register("always", lambda context: Always(), "always fails")

    reg = plugins.Registry()
    reg.add_plugin(Plugin, "test")
    monkeypatch.setattr(plugins, "registry", lambda: reg)
    follower = apply_perturbations(Stub(), ["swap:always", "flip:0"], FollowerContext())
    assert follower.verdicts(TEXTS[:10]).tolist() == [1] * 10
    assert follower.inner.describe()["perturbation"] == {"kind": "swap", "value": "always", "replaces": "stub"}
    with pytest.raises(UserError, match="unknown follower"):
        apply_perturbations(Stub(), ["swap:nothing"], FollowerContext())
    built = build_follower("always", FollowerContext(), ["flip:1"])
    assert built.verdicts(TEXTS[:3]).tolist() == [0, 0, 0]
    with pytest.raises(UserError, match="outside"):
        build_follower("always", FollowerContext(), ["flip:2"])


def test_noisy_labels_retrains_nblr_and_caches_by_q_and_seed(tiny_screener, tiny_dir, tmp_path):
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, seed=4)
    base = train_screener(ctx, progress=False)
    noisy = apply_perturbations(base, ["noisy-labels:0.2"], ctx)
    inner = noisy.inner
    assert isinstance(inner, NBLRScreener) and inner.metadata["recipe"]["label_noise"] == 0.2
    assert inner.metadata["training"]["labels_flipped"] == round(0.2 * inner.metadata["training"]["rows"])
    assert inner.metadata["cache_key"] != base.metadata["cache_key"]
    assert screener_report(inner)["accuracy"] < screener_report(base)["accuracy"]
    assert noisy.describe()["perturbation"]["replaces"] == "nblr"
    assert noisy.toxic_vocabulary() == inner.toxic_vocabulary()
    again = apply_perturbations(base, ["noisy-labels:0.2"], ctx)
    assert again.inner.metadata["cache_key"] == inner.metadata["cache_key"]
    other_seed = apply_perturbations(base, ["noisy-labels:0.2"], FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, seed=5))
    assert other_seed.inner.metadata["cache_key"] != inner.metadata["cache_key"]
    assert len(list((tmp_path / "followers").iterdir())) == 3
    with pytest.raises(UserError, match="cannot be retrained"):
        apply_perturbations(Stub(), ["noisy-labels:0.1"], ctx)


def test_wrappers_pass_the_toxic_vocabulary_through(tiny_screener):
    ctx = FollowerContext()
    flipped = apply_perturbations(tiny_screener, ["flip:0.1"], ctx)
    assert flipped.toxic_vocabulary() == tiny_screener.toxic_vocabulary()
    strict = apply_perturbations(tiny_screener, ["threshold:0.9", "flip:0.1"], ctx)
    assert strict.toxic_vocabulary() == tiny_screener.toxic_vocabulary(threshold=0.9)
    assert apply_perturbations(Stub(), ["flip:0.1"], ctx).toxic_vocabulary() is None  # a follower without word weights


# --- the separately installed profanity plugin -------------------------------------------------


def test_profanity_plugin_registers_its_follower(monkeypatch):
    from sro_bench.plugins import Registry

    monkeypatch.syspath_prepend(str(REPO / "plugins" / "sro-bench-profanity"))
    from sro_bench_profanity import plugin

    reg = Registry()
    reg.add_plugin(plugin, "sro-bench-profanity")
    component = reg.get("follower", "profanity")
    pytest.importorskip("profanity_check", reason="alt-profanity-check is not installed")
    follower = component.factory(FollowerContext())
    proba = follower.predict_proba(["you are a fucking idiot", "thank you for your help"])
    assert proba.shape == (2,) and proba[0] > 0.5 > proba[1]
    assert follower.verdicts([]).shape == (0,)
    assert follower.describe()["model"]["kind"] == "alt-profanity-check"


# --- the real screener on the full data ---------------------------------------------------------


@pytest.mark.slow
def test_full_data_screener_meets_the_accuracy_target(data_dir):
    """Trains once on ../shared/data into the user cache (about 30 s on 2 cores), then loads it."""
    screener = train_screener(FollowerContext(data_dir=data_dir), progress=False)
    report = screener_report(screener)
    assert report["accuracy"] >= 0.90 and report["roc_auc"] >= 0.95
    assert report["pass_rate_dirty"] < 0.2 and report["pass_rate_dev_references"] > 0.9
    assert {"idiot", "stupid"} <= screener.toxic_vocabulary()
    _, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    np.testing.assert_allclose(screener.predict_proba(dev.inputs), sklearn_proba(screener.model, dev.inputs), atol=1e-12)


def test_texts_without_known_ngrams_score_the_intercept(tiny_model):
    """Empty rewrites happen (a collapsed leader produces them); a batch of only those must score."""
    probabilities = tiny_model.predict_proba(["", "", "zzqx"])
    assert probabilities.dtype == np.float64 and np.allclose(probabilities, probabilities[0])
    assert tiny_model.predict_proba(["", "you idiot"])[0] == pytest.approx(probabilities[0])


# --- nblr-char: word and character n-grams -------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_char_screener(tiny_dir, tmp_path_factory) -> CharNBLRScreener:
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path_factory.mktemp("cache"))
    return train_char_screener(ctx, progress=False)


def garbled(words) -> list[str]:
    """Each word with letters appended, or (5 letters and up) one doubled: the leader's way round ``nblr``.

    A 4-letter word with a letter inside keeps too few of its character n-grams to be recognised.
    """
    appended = [w + s for w in words for s in ("ization", "ation", "ness", "ish")]
    return appended + [w[:2] + w[1:] for w in words if len(w) >= 5]


def sklearn_char_proba(model: CharNBLRModel, texts: list[str]) -> np.ndarray:
    """The char model scored by scikit-learn's own vectorizers on its vocabularies and weights."""
    import scipy.sparse as sp

    from sro_bench.followers.model import build_vectorizer

    wv, cv = build_vectorizer(), build_char_vectorizer()
    wv.vocabulary_ = {g: j for j, g in enumerate(model.words.vocabulary)}
    wv.idf_ = model.words.idf
    cv.vocabulary_ = {g: j for j, g in enumerate(model.chars)}
    cv.idf_ = model.idf
    x = sp.hstack([wv.transform(texts), cv.transform(texts)], format="csr")
    z = x @ np.concatenate([model.words.coef * model.words.r, model.coef * model.r]) + model.intercept
    return 1.0 / (1.0 + np.exp(-z))


# Whitespace, accents and code points that char_wb treats specially (NFKD of "¨" is a space).
ODD_TEXTS = ["a  b\t\tc\n d", " lead", "trail ", "x", "ab", "\u00a8idiot", "CAFÉ idiot", "\x1cidiot\x1f",
             "naïve\u3000idiot", "\ud800 idiot", "i d i o t", "\n\n", "ﬁne ﬂow", "ÏDÏÖT stupid!!"]


def test_nblr_char_fails_garbled_words_that_nblr_passes(tiny_screener, tiny_char_screener):
    words = sorted(tiny_screener.toxic_vocabulary())
    assert {"idiot", "stupid", "moron", "dumb"} <= set(words)
    forms = garbled(words)
    assert "idiotization" in forms and "sttupid" in forms
    assert not set(forms) & set(tiny_screener.model.vocabulary)  # no word feature: nblr sees only the rest
    texts = forms + [f"what a {g}" for g in forms] + [f"please stop being {g}" for g in forms]
    assert tiny_screener.verdicts(texts).sum() == 0
    assert tiny_char_screener.verdicts(texts).all()
    assert set(words) <= tiny_char_screener.toxic_vocabulary()


def test_nblr_char_passes_clean_sentences(tiny_char_screener):
    texts, labels = tiny_corpus(400, seed=11)
    clean = [t for t, y in zip(texts, labels) if y == 0]
    assert (tiny_char_screener.verdicts(clean) == 0).mean() > 0.95
    toxic = [t for t, y in zip(texts, labels) if y == 1]
    assert tiny_char_screener.verdicts(toxic).mean() > 0.95


def test_nblr_char_fast_scoring_matches_scikit_learn(tiny_char_screener):
    rng = random.Random(4)
    noise = ["".join(rng.choice("ab idotsu\n\t.!éÉ") for _ in range(rng.randint(0, 30))) for _ in range(500)]
    texts = PROBES + ODD_TEXTS + garbled(TOXIC) + tiny_corpus(300, seed=9)[0] + noise
    model = tiny_char_screener.model
    ours = model.predict_proba(texts)
    np.testing.assert_allclose(ours, sklearn_char_proba(model, texts), rtol=0, atol=1e-12)
    assert ours.dtype == np.float64 and model.predict_proba([]).shape == (0,)
    np.testing.assert_array_equal(model.predict_proba(texts[:5]), ours[:5])  # batch composition is irrelevant


def test_nblr_char_save_load_round_trip_gives_identical_probabilities(tiny_char_screener, tmp_path):
    model = tiny_char_screener.model
    model.save(tmp_path / "m", {"note": "x"})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.safetensors"]
    for path in (tmp_path / "m").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"
    loaded, meta = CharNBLRModel.load(tmp_path / "m")
    assert meta == {"note": "x"}
    texts = PROBES + ODD_TEXTS + garbled(TOXIC) + tiny_corpus(200, seed=3)[0]
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    # A plain nblr entry is not read as a char model, nor the other way round.
    tiny_char_screener.model.words.save(tmp_path / "w")
    from sro_bench.errors import DataError

    with pytest.raises(DataError, match="expected 'sro-bench-nblr-char/1'"):
        CharNBLRModel.load(tmp_path / "w")
    with pytest.raises(DataError, match="expected 'sro-bench-nblr/1'"):
        NBLRModel.load(tmp_path / "m")


def test_nblr_char_cache_is_its_own_and_loads_on_the_second_build(tiny_dir, tmp_path, monkeypatch):
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path)
    first = train_char_screener(ctx, progress=False)
    words = train_screener(ctx, progress=False)
    assert first.metadata["cache_key"] != words.metadata["cache_key"]
    entries = sorted(e.name for e in (tmp_path / "followers").iterdir())
    assert entries == sorted([f"nblr-{words.metadata['cache_key']}", f"nblr-char-{first.metadata['cache_key']}"])
    import sro_bench.followers.nblr_char as nblr_char_module

    def no_training(*args, **kwargs):
        raise AssertionError("the second build must load, not train")

    monkeypatch.setattr(nblr_char_module, "fit_nblr_char", no_training)
    second = train_char_screener(ctx, progress=False)
    texts = PROBES + garbled(TOXIC)
    np.testing.assert_array_equal(second.predict_proba(texts), first.predict_proba(texts))
    assert second.describe() == first.describe()
    entry = tmp_path / "followers" / f"nblr-char-{first.metadata['cache_key']}"
    np.testing.assert_array_equal(load_char_screener(entry).predict_proba(texts), first.predict_proba(texts))
    monkeypatch.undo()
    # The context's options apply as to nblr: label noise is its own entry.
    noisy = train_char_screener(FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, seed=3,
                                                options={"label_noise": 0.2}), progress=False)
    assert noisy.metadata["cache_key"] != first.metadata["cache_key"]
    assert noisy.metadata["training"]["labels_flipped"] == round(0.2 * noisy.metadata["training"]["rows"])


def test_nblr_char_describe_report_and_the_empty_text(tiny_char_screener, tiny_screener):
    desc = tiny_char_screener.describe()
    assert desc["name"] == "nblr-char" and desc["threshold"] == 0.5
    assert desc["model"]["char_ngrams"] == "char_wb 2-5" and desc["model"]["char_features"] > 0
    assert desc["recipe"]["follower"] == "nblr-char" and desc["recipe"]["refit_on_heldout"] is False
    training = desc["training"]
    assert training["rows"] == tiny_screener.metadata["training"]["rows"]  # nblr's very corpus
    assert training["by_source"] == tiny_screener.metadata["training"]["by_source"]
    json.dumps(desc)
    report = screener_report(tiny_char_screener)
    assert report["accuracy"] > 0.9 and report["f1"] > 0.9 and "pass_rate_emnlp_toxic" in report
    # An empty text has no n-gram: only the intercept speaks (the game handles empty outputs itself).
    p = tiny_char_screener.predict_proba(["", "   ", "idiot"])
    assert p[0] == p[1] == pytest.approx(1 / (1 + math.exp(-tiny_char_screener.model.intercept)))
    assert p[0] < 0.5 < p[2]


def test_nblr_char_is_registered_and_wrapped_by_perturbations(tiny_dir, tmp_path, monkeypatch):
    from sro_bench import plugins
    from sro_bench.followers import plugin

    reg = plugins.Registry()
    reg.add_plugin(plugin, "sro-bench")
    assert reg.get("follower", "nblr-char").factory.__name__ == "train_char_screener"
    monkeypatch.setattr(plugins, "registry", lambda: reg)
    ctx = FollowerContext(data_dir=tiny_dir, cache_dir=tmp_path, seed=1)
    texts = garbled(TOXIC) + tiny_corpus(100, seed=6)[0]
    swapped = build_follower("nblr", ctx, ["swap:nblr-char", "threshold:0.6", "flip:0"])
    inner = unwrap(swapped)
    assert isinstance(inner, CharNBLRScreener)
    np.testing.assert_array_equal(swapped.verdicts(texts), (inner.predict_proba(texts) > 0.6).astype(np.int8))
    assert swapped.toxic_vocabulary() == inner.toxic_vocabulary(threshold=0.6)
    flipped = build_follower("nblr-char", ctx, ["flip:1"])
    np.testing.assert_array_equal(flipped.verdicts(texts), 1 - inner.verdicts(texts))
    noisy = build_follower("nblr-char", ctx, ["noisy-labels:0.1"])
    assert isinstance(unwrap(noisy), CharNBLRScreener)
    assert unwrap(noisy).describe() != inner.describe()  # retrained on flipped labels


# Garbled forms of words full-data nblr fails alone: unknown words to it, so only the rest is judged.
GARBLED = ["idiotization", "idiotation", "dumbization", "what a stupidness", "such moronness", "what a shitness",
           "fuckization", "bitchness", "what a crapation", "assholeish", "bastardness", "what a dumbness",
           "such idiotness", "such a dickization", "what a moronish", "iddiot", "stuppid"]


@pytest.mark.slow
def test_full_data_nblr_char_catches_garbled_words_and_keeps_the_figures(data_dir):
    """Trains both screeners once on ../shared/data into the user cache (about 35 s on one core)."""
    words = train_screener(FollowerContext(data_dir=data_dir), progress=False)
    chars = train_char_screener(FollowerContext(data_dir=data_dir), progress=False)
    assert {"idiot", "stupid", "dumb", "moron", "shit", "fuck", "bitch", "crap", "asshole", "bastard", "dick"} <= \
        words.toxic_vocabulary()
    assert words.verdicts(GARBLED).sum() == 0
    assert chars.verdicts(GARBLED).all()
    w, c = screener_report(words), screener_report(chars)
    assert c["accuracy"] >= w["accuracy"] and c["recall"] >= w["recall"] and c["roc_auc"] >= 0.98
    assert c["pass_rate_dev_references"] > 0.95 and c["pass_rate_heldout_emnlp-normal"] > 0.95
    assert c["pass_rate_emnlp_toxic"] is not None and c["pass_rate_dirty"] < 0.1
    _, dev = d.split_dev(d.load_paradetox(data_dir / d.PARADETOX))
    np.testing.assert_allclose(chars.predict_proba(dev.inputs), sklearn_char_proba(chars.model, dev.inputs), atol=1e-12)
