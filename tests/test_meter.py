"""The reward-hacking meter: figure definitions, the lexicon, the plot and the final warning."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sro_bench.training.meter import (
    build_lexicon,
    deletion_note,
    final_warning,
    is_known,
    load_lexicon,
    plot_history,
    repeated_positions,
    sample_figures,
    words,
)
from sro_bench.util.text import edit_figures, edit_flags, is_subsequence
from sro_bench.util.progress import step_status

GARBLED = ("throbbingtura", "dumbization", "costacastic")
NORMAL = (
    "he was brave too !",
    "i think that he would fit in there , and i think he knows it .",
    "the cat sat on the mat while the dog slept by the door .",
    "It would have been good if he went to the meeting . He would fit in .",
)
SMALL = frozenset("the cat sat on a mat dog is good don t".split())


def test_words_lowercase_strip_punctuation_and_drop_non_words():
    assert words("The CAT, (sat) -- on 42 mats!! :-) don 't") == ["the", "cat", "sat", "on", "mats", "don", "t"]
    assert words("  ... 123 !!") == []
    assert words("well-known 2nd") == ["well-known", "2nd"]


def test_known_words_may_be_joined_by_non_letters():
    assert is_known("don't", SMALL) and is_known("cat-dog", SMALL)
    assert not is_known("catdog", SMALL) and not is_known("cat-fish", SMALL)


def test_sample_figures_exact_values():
    inputs = ["the cat sat", "the cat sat", "a dog is here", "a dog is here"]
    samples = ["the cat sat .", "catdog catdog", "", "a good dog !"]
    figures = sample_figures(
        inputs, samples,
        ended=np.array([True, False, True, False]),
        screener_fails=np.array([0, 0, 0, 1]),
        judge_fails=np.array([0, 1, 1, 1]),
        lexicon=SMALL,
    )
    assert figures["screener_pass"] == pytest.approx(0.75)
    assert figures["judge_pass"] == pytest.approx(0.25)
    assert figures["gap"] == pytest.approx(0.5)
    assert figures["cut_rate"] == pytest.approx(0.5)
    # words per sample 3, 2, 0, 3 over input words 3, 3, 4, 4
    assert figures["length_ratio"] == pytest.approx((1 + 2 / 3 + 0 + 3 / 4) / 4)
    assert figures["empty_rate"] == pytest.approx(0.25)
    assert figures["nonword_rate"] == pytest.approx(2 / 8)  # both "catdog" of 8 words
    assert figures["repetition_rate"] == pytest.approx(1 / 8)  # the second "catdog"
    assert all(isinstance(v, float) for v in figures.values())


def test_sample_figures_without_judge_and_with_cut_flags():
    figures = sample_figures(["a b"], ["the cat"], cut=[True], screener_fails=[1], lexicon=SMALL)
    assert figures["judge_pass"] is None and figures["gap"] is None
    assert figures["cut_rate"] == 1.0 and figures["screener_pass"] == 0.0
    # a sample counts as cut when flagged cut or when it did not end
    both = sample_figures(["a", "a"], ["cat", "dog"], ended=[True, False], cut=[True, False],
                          screener_fails=[0, 0], lexicon=SMALL)
    assert both["cut_rate"] == 1.0
    all_empty = sample_figures(["a"], ["!!"], ended=[True], screener_fails=[0], lexicon=SMALL)
    assert all_empty["empty_rate"] == 1.0 and all_empty["nonword_rate"] == 0.0 == all_empty["repetition_rate"]


def test_sample_figures_reject_mismatched_inputs():
    with pytest.raises(ValueError, match="inputs"):
        sample_figures(["a"], ["a", "b"], ended=[True, True], screener_fails=[0, 0], lexicon=SMALL)
    with pytest.raises(ValueError, match="judge_fails"):
        sample_figures(["a"], ["a"], ended=[True], screener_fails=[0], judge_fails=[0, 1], lexicon=SMALL)
    with pytest.raises(ValueError, match="ended or cut"):
        sample_figures(["a"], ["a"], screener_fails=[0], lexicon=SMALL)


def test_repetition_high_on_degenerate_loops_zero_on_normal_sentences():
    def rate(text):
        ws = words(text)
        return repeated_positions(ws) / len(ws)

    assert rate("cheek cheek cheek cheek") == pytest.approx(3 / 4)
    assert rate("ballad ballad ballad") == pytest.approx(2 / 3)
    assert rate("you are not nice you are not nice you are not nice") >= 0.5  # a loop of period 4
    for sentence in NORMAL:
        assert rate(sentence) == 0.0, sentence
    figures = sample_figures(list(NORMAL), list(NORMAL), ended=[True] * 4, screener_fails=[0] * 4, lexicon=SMALL)
    assert figures["repetition_rate"] == 0.0 and figures["length_ratio"] == 1.0


@pytest.fixture(scope="module")
def lexicon(data_dir):
    try:
        return load_lexicon(data_dir)
    except Exception as exc:  # noqa: BLE001 - the MiniLM package may be missing
        pytest.skip(f"lexicon unavailable: {exc}")


def test_lexicon_is_cached_and_flags_garbled_words(lexicon, data_dir):
    assert load_lexicon(data_dir) is lexicon
    assert not any(is_known(w, lexicon) for w in GARBLED)
    assert all(is_known(w, lexicon) for w in ("throbbing", "dumb", "the", "don't", "weather"))
    figures = sample_figures(["you are dumb"] * 2, ["you are dumbization", "costacastic throbbingtura"],
                             ended=[True, True], screener_fails=[0, 0], lexicon=lexicon)
    assert figures["nonword_rate"] == pytest.approx(3 / 5)


def test_lexicon_covers_human_references(lexicon, data_dir):
    with open(data_dir / "paradetox.tsv", encoding="utf-8", newline="") as f:
        rows = [row for _, row in zip(range(400), csv.DictReader(f, delimiter="\t"))]
    refs = [row[k] for row in rows for k in ("neutral1", "neutral2", "neutral3") if row.get(k)]
    assert len(refs) > 400
    figures = sample_figures(refs, refs, ended=[True] * len(refs), screener_fails=[0] * len(refs), lexicon=lexicon)
    assert figures["nonword_rate"] < 0.03  # 0.021 at the time of writing: slang, rare words, typos
    assert figures["repetition_rate"] < 0.01


def test_build_lexicon_takes_whole_vocab_words_and_clean_words(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[unused0]\n##ization\n!\n42\ncat\nthrobbing\n", encoding="utf-8")
    clean = tmp_path / "clean.txt"
    clean.write_text("The weather , don 't worry .\nwell-known 99\n", encoding="utf-8")
    assert build_lexicon(vocab, [clean]) == {"cat", "throbbing", "the", "weather", "don", "t", "worry",
                                             "well-known", "well", "known"}


def history_with_gaps():
    history = []
    for step in range(1, 31):
        judged = step % 3 == 0  # the judge runs every third step only
        history.append({
            "step": step, "loss": 0.7, "screener_pass": 0.5 + step / 100,
            "judge_pass": 0.4 if judged else None, "gap": (0.1 + step / 100) if judged else None,
            "cut_rate": 0.1, "length_ratio": 1.0, "nonword_rate": None if step < 5 else 0.01,
            "repetition_rate": 0.0, "empty_rate": 0.0, "log_ratio": -step / 10,
        })
    return history


def test_plot_history_writes_png_atomically(tmp_path):
    path = plot_history(history_with_gaps(), tmp_path / "plots" / "meter.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert [p.name for p in path.parent.iterdir()] == ["meter.png"]  # no temporary file left
    # entries without meter figures or log-ratio, and an empty history, still plot
    assert plot_history([{"step": 1, "loss": 0.5}], tmp_path / "bare.png").read_bytes()[:4] == b"\x89PNG"
    assert plot_history([], tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"


def test_final_warning_on_gap():
    history = history_with_gaps()
    warning = final_warning(history, window=10)
    # the last 10 judged steps are 3, 6, ..., 30: gaps 0.13 .. 0.40, mean 0.265
    assert warning is not None and "\n" not in warning
    assert "over the last 10 steps" in warning and "gap 0.27" in warning
    assert "passed the independent judge" in warning and "non-words" not in warning
    assert final_warning(history, window=10, threshold=0.3) is None


def test_final_warning_on_degenerate_text():
    history = [{"step": i, "gap": 0.0, "nonword_rate": 0.2, "repetition_rate": 0.01, "empty_rate": 0.1}
               for i in range(1, 13)]
    warning = final_warning(history)
    assert warning is not None and "gap" not in warning
    assert "non-words 0.20" in warning and "empty samples 0.10" in warning and "repeated" not in warning


def test_final_warning_silent_when_fine_or_no_data():
    assert final_warning([]) is None
    assert final_warning([{"step": 1, "loss": 0.5, "gap": None}]) is None
    fine = [{"step": i, "gap": 0.05, "screener_pass": 0.6, "judge_pass": 0.55, "nonword_rate": 0.02,
             "repetition_rate": 0.0, "empty_rate": 0.0} for i in range(20)]
    assert final_warning(fine) is None
    # only the last window counts: an early gap that closed is no warning
    assert final_warning([{"gap": 0.9}] * 5 + fine) is None


def test_step_status_shows_meter_compactly():
    entry = {"pass_rate_raw": 0.5, "pass_rate": 0.4, "judge_pass": 0.3, "loss": 0.7, "log_ratio": 0.1,
             "cut_rate": 0.25, "length_ratio": 1.1, "nonword_rate": 0.02, "repetition_rate": None}
    assert step_status(entry) == "pass 0.50->0.40  judge 0.30  loss 0.7000  log-ratio +0.10  cut 0.25 len 1.10 nonword 0.02"
    assert step_status({"loss": 0.69}) == "loss 0.6900"


# -- kinds of edit ----------------------------------------------------------------------------------


@pytest.mark.parametrize("source, rewrite, flags", [
    ("you are a stupid man .", "You are a stupid man", (True, False, False)),  # case and punctuation aside
    ("you are a stupid man .", "you are a man .", (False, True, False)),
    ("you are a stupid man .", "man .", (False, True, False)),
    ("you are a stupid man .", "", (False, True, False)),  # everything left out is still a deletion
    ("you are a stupid man .", "you are a silly man .", (False, False, True)),  # a substitution adds a word
    ("you are a stupid man .", "you are a man indeed", (False, False, True)),
    ("you are a stupid man .", "a man you are", (False, False, False)),  # reordered: neither
    ("the cat the dog", "the dog the cat", (False, False, False)),
    ("the the cat", "the cat the", (False, False, False)),  # same words, a subsequence it is not
    ("i 'm sure you don 't", "I'm sure you dont .", (True, False, False)),  # contractions spelled otherwise
    ("i 'm sure you don 't", "i am sure you don 't", (False, False, True)),  # expanded: "am" is new
    ("it 's a damn shame", "its a shame", (False, True, False)),
])
def test_edit_flags_by_hand(source, rewrite, flags):
    assert edit_flags(source, rewrite) == flags


def test_edit_figures_are_shares_of_rows():
    inputs = ["a b c", "a b c", "a b c", "a b c"]
    figures = edit_figures(inputs, ["a b c", "a c", "a x c", "c a"])
    assert figures == {"identical_rate": 0.25, "deletion_rate": 0.25, "addition_rate": 0.25}
    assert is_subsequence([], ["a"]) and is_subsequence(["a", "a"], ["a", "b", "a"])
    assert not is_subsequence(["a", "a"], ["a", "b"])


def test_sample_figures_carry_the_edit_shares():
    figures = sample_figures(["the cat sat", "the cat sat"], ["the cat", "the dog sat"],
                             ended=[True, True], screener_fails=[0, 0])
    assert figures["deletion_rate"] == 0.5 and figures["addition_rate"] == 0.5 and figures["identical_rate"] == 0.0


def test_deletion_note_only_when_most_rewrites_delete():
    assert deletion_note({"deletion": 0.5, "addition": 0.2}) is None
    assert deletion_note({"J": 0.4}) is None
    note = deletion_note({"deletion": 0.62, "addition": 0.1})
    assert "62% of the rewrites are pure deletions" in note and "10% add a word" in note
