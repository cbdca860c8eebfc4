"""The suite held against people: reading labels, the statistics (checked by hand), held-out calibration,
the signals and the damage check on small cases, and the command on a hand-made file."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from sro_bench.cli.main import main
from sro_bench.errors import UserError
from sro_bench.metrics.agreement import agreement, auc, fold_ids, spearman, worst_rows
from sro_bench.metrics.calibration import Calibration, Judges
from sro_bench.metrics.human import HumanLabels, read_human
from sro_bench.metrics.signals import Signals

# 3 inputs x 2 systems, people's meaning label, and a judge's scores
ROWS = [("a", "a1", "s1", 1.0, 0.9), ("a", "a2", "s2", 0.5, 0.6), ("b", "b1", "s1", 0.0, 0.1),
        ("b", "b2", "s2", 0.5, 0.15), ("c", "c1", "s1", 1.0, 0.8), ("c", "c2", "s2", 0.0, 0.2)]


def write_labels(path, rows=ROWS, header="src,hyp,who,meaning"):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header.split(","))
        writer.writerows(row[:4] for row in rows)
    return path


def test_statistics_match_the_hand_computation():
    labels, scores = np.array([r[3] for r in ROWS]), np.array([r[4] for r in ROWS])
    # ranks: scores [6, 4, 1, 2, 5, 3]; labels with ties [5.5, 3.5, 1.5, 3.5, 5.5, 1.5]:
    # sum dx*dy = 14, sum dx^2 = 17.5, sum dy^2 = 16 -> 14 / sqrt(280)
    assert spearman(scores, labels) == pytest.approx(14 / math.sqrt(280))
    # positives (label >= 0.5): 0.9, 0.6, 0.15, 0.8; negatives 0.1, 0.2: 7 of 8 pairs ordered
    assert auc(scores, labels >= 0.5) == pytest.approx(7 / 8)
    report = agreement({"SIM": scores}, {"SIM": labels}, np.array([0, 0, 1, 1, 2, 2]), [r[2] for r in ROWS],
                       resamples=200)
    sim = report["SIM"]
    assert sim["spearman"].value == pytest.approx(14 / math.sqrt(280))
    assert sim["systems"]["s1"] == {"judge": pytest.approx(0.6), "people": pytest.approx(2 / 3, abs=1e-4),
                                   "spearman": pytest.approx(1.5 / math.sqrt(3), abs=1e-4)}  # ranks [3, 1, 2] vs [2.5, 1, 2.5]
    assert sim["systems"]["s2"]["judge"] == pytest.approx(0.95 / 3, abs=1e-4)
    assert sim["systems"]["s2"]["people"] == pytest.approx(1 / 3, abs=1e-4)
    assert sim["system_spearman"].value == pytest.approx(1.0) and sim["system_kendall"].value == pytest.approx(1.0)
    assert sim["spearman"].low <= sim["spearman"].value <= sim["spearman"].high
    # rank gaps (of 6): rows 3 (judge 2nd, people 3.5th) and 5 (judge 3rd, people 1.5th) are 1.5 apart, the rest 0.5
    assert worst_rows(scores, labels, 2) == [3, 5]


def test_folds_keep_an_input_together_or_split_by_system():
    human = HumanLabels("x", [r[0] for r in ROWS], [r[1] for r in ROWS], [r[2] for r in ROWS])
    by_input = fold_ids(human, "input", folds=3)
    assert by_input[0] == by_input[1] and by_input[2] == by_input[3] and len(set(by_input)) == 3
    assert fold_ids(human, "system").tolist() == [0, 1, 0, 1, 0, 1]


def test_read_human_with_named_columns_and_derived_j(tmp_path):
    path = tmp_path / "labels.tsv"
    path.write_text('input\trewrite\tstyle\tmeaning\tfluency\n"x, quoted"\ty\t1\t0.5\t0.5\n', encoding="utf-8")
    human = read_human(path, input_col="input", rewrite_col="rewrite")
    assert human.inputs == ["x, quoted"] and human.systems is None
    assert human.labels["J"].tolist() == [0.25]


@pytest.mark.parametrize("text, message", [
    ("src,hyp,who,meaning\na,b,s,high\n", "labels.csv:2: column 'meaning': 'high' is not a number"),
    ("src,hyp,who,meaning\na,b,s,0.5\na,b,s,1.5\n", "labels.csv:3: column 'meaning': 1.5 is outside [0, 1]"),
    ("src,hyp,who,meaning\na,b,s\n", "labels.csv:2: 3 fields, the header has 4"),
    ("source,hyp,who,meaning\na,b,s,1\n", "labels.csv:1: no column 'src' (input) in the header"),
    ("", "labels.csv:1: empty file"),
])
def test_malformed_label_files_name_the_line_and_column(tmp_path, text, message):
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as error:
        read_human(path, input_col="src", rewrite_col="hyp", system_col="who", label_cols={"SIM": "meaning"},
                   optional=frozenset())
    assert str(error.value).startswith(f"{tmp_path}/{message}")


def test_calibration_weights_keep_their_declared_signs():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    labels = 1 / (1 + np.exp(-(1.5 * x[:, 0] + 1.0 * x[:, 1])))  # both raise the label
    # "cosine" may only raise a score; "repeats" may only lower it, so its weight stops at zero
    fit = Calibration.fit(("cosine", "repeats"), x, labels)
    assert fit.coef[0] > 0.5 and fit.coef[1] == 0.0
    free = Calibration.fit(("cosine", "p_toxic_input"), x, labels)
    assert free.coef[1] > 0.3  # a signal without a declared sign is free


def test_heldout_scores_never_use_the_labels_of_their_own_inputs():
    rng = np.random.default_rng(1)
    inputs = [f"x{i // 3}" for i in range(60)]
    x = rng.normal(size=(60, 1))
    labels = np.clip(0.5 + 0.3 * x[:, 0] + rng.normal(scale=0.1, size=60), 0, 1)
    human = HumanLabels("h", inputs, [f"y{i}" for i in range(60)], None, {"SIM": labels})
    shipped = Calibration.fit(("cosine",), x, labels)
    judges = Judges(None, {"SIM": shipped}, human, {"SIM": x})
    fold = np.array([0] * 30 + [1] * 30)
    plan = [(fold == f, judges.excluded(np.array(inputs, dtype=object)[fold == f])) for f in (0, 1)]
    assert plan[0][1].tolist() == [True] * 30 + [False] * 30
    held = judges.heldout("SIM", x, plan)
    other_half = Calibration.fit(("cosine",), x[30:], labels[30:])
    assert np.allclose(held[:30], other_half.predict(x[:30]))
    assert not np.allclose(held[:30], shipped.predict(x[:30]))
    # rows whose inputs the calibration never saw get the shipped judge
    unseen = [(np.ones(2, bool), judges.excluded(np.array(["new", "other"], dtype=object)))]
    assert np.allclose(judges.heldout("SIM", x[:2], unseen), shipped.predict(x[:2]))


def test_text_signals_on_small_cases():
    signals = Signals(None, None, None)  # the text-only signals need no model
    values = signals.compute(("positive_insertions", "negation_change", "repeats"),
                             ["you are stupid", "you are stupid", "i hate those people", "a fine day"],
                             ["you are wonderful", "you are wrong", "i not hate those people", "a a fine day"])
    assert values[0, 0] > 2 and values[1, 0] == 0  # praise put in for an insult; a plain replacement
    assert values[:, 1].tolist() == [0, 0, 1, 0]
    assert values[:, 2].tolist() == [0, 0, 0, 1]
    with pytest.raises(KeyError, match="unknown signal"):
        signals.compute(("nonsense",), ["a"], ["b"])


def test_damage_functions_on_small_cases():
    from sro_bench.metrics import damage

    rng = np.random.default_rng(0)
    text = "the old dog slept under the table"
    assert len(damage.double_word(text, rng).split()) == 8
    swapped = damage.swap_adjacent(text, rng).split()
    assert sorted(swapped) == sorted(text.split()) and swapped != text.split()
    for _ in range(20):
        dropped = damage.drop_content_word(text, rng).split()
        assert len(dropped) == 6 and dropped.count("the") == 2  # function words stay
    assert damage.cut_tail(text, rng) == "the old dog slept"  # 7 words, 40% (3) cut
    assert damage.replace_word(text, rng, ["zebra"]).split().count("zebra") == 1
    assert damage.swap_adjacent("no no", rng) is None and damage.cut_tail("too short", rng) is None


def test_agreement_command_refuses_a_malformed_file_before_scoring(tmp_path, capsys):
    bad = tmp_path / "labels.csv"
    bad.write_text("src,hyp,meaning\na,b,0.5\nc,d,lots\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["suite", "agreement", "--human", str(bad), "--input-column", "src", "--rewrite-column", "hyp",
              "--metrics", "sim"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {bad}:3: column 'meaning': 'lots' is not a number"
    with pytest.raises(SystemExit) as exit_info:
        main(["suite", "agreement", "--human", str(bad), "--folds", "1"])
    assert exit_info.value.code == 2 and "--folds: must be at least 2" in capsys.readouterr().err


def test_agreement_command_on_a_hand_made_file(tmp_path, data_dir, capsys):
    rows = [("you are a fucking idiot .", "you are a fucking idiot .", "copy", 0.0, 0),
            ("you are a fucking idiot .", "you are wrong .", "good", 1.0, 0),
            ("shut up , you stupid moron .", "shut up , you stupid moron .", "copy", 0.0, 0),
            ("shut up , you stupid moron .", "please stop talking .", "good", 1.0, 0),
            ("this shit article is crap .", "this shit article is crap .", "copy", 0.0, 0),
            ("this shit article is crap .", "this article is poor .", "good", 1.0, 0)]
    path = write_labels(tmp_path / "mine.csv", rows, header="src,hyp,who,nontoxic")
    out = tmp_path / "agreement.json"
    main(["suite", "agreement", "--human", str(path), "--input-column", "src", "--rewrite-column", "hyp",
          "--system-column", "who", "--sta-column", "nontoxic", "--metrics", "sta", "--resamples", "50",
          "--json", str(out), "--data-dir", str(data_dir)])
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    sta = report["judges"]["STA"]
    assert report["rows"] == 6 and report["inputs"] == 3 and report["systems"] == ["copy", "good"]
    assert sta["label"] == "nontoxic" and sta["auc"]["value"] == 1.0  # every toxic copy below every rewrite
    assert sta["system_spearman"]["value"] == 1.0
    assert sta["systems"]["copy"]["people"] == 0.0 and sta["systems"]["good"]["judge"] > sta["systems"]["copy"]["judge"]
    assert "left out" not in sta["method"] and "0 of them refitted" in sta["method"]  # inputs people never labelled
    assert "Agreement with people" in printed and "STA" in printed and str(out) in printed


def test_suite_2_records_never_share_a_table_with_suite_1_and_quote_their_agreement(tmp_path):
    from sro_bench.publish.leaderboard import publish
    from sro_bench.metrics import Suite
    from sro_bench.metrics.calibration import CalibratedJudge
    from sro_bench.run.records import new_record
    from sro_bench.util.dataclass_json import write_json

    # a suite 2 result from hand-made judges (signals given directly; no model needed)
    human = HumanLabels("h", ["a", "b"], ["a", "b"], None, {j: np.array([0.2, 0.8]) for j in ("STA", "SIM", "FL")})
    x = np.array([[0.0], [1.0]])
    judges = Judges(None, {j: Calibration.fit(("cosine",), x, human.labels[j]) for j in ("STA", "SIM", "FL")},
                    human, {j: x for j in ("STA", "SIM", "FL")},
                    {"judge_id": "judges-v2-test", "agreement": {"STA": {"auc": 0.9, "spearman": 0.5},
                     "SIM": {"auc": 0.7, "spearman": 0.4}, "FL": {"auc": 0.8, "spearman": 0.43},
                     "J": {"auc": 0.7, "spearman": 0.46}, "folds": "5 folds by input", "command": "sro-bench suite agreement"}})
    judges.score = lambda judge, inputs, rewrites: np.full(len(rewrites), 0.5)
    metrics = {name: CalibratedJudge(name, judges) for name in ("sta", "sim", "fl")}
    result = Suite(metrics=metrics, metric_names=list(metrics)).score(["x", "y"], ["x", "y"]).to_dict()
    assert result["version"] == 2 and result["judges"]["sim"] == "sim-judges-v2-test"
    for name, suite in (("new", {k: v for k, v in result.items() if k != "corpus"}),
                        ("old", {"judges": {"sta": "sta-d83a857bc259e5c2", "fl": "fl-3efd1809a23c8c20"}})):
        record = new_record("eval", run_id=name, seed=None, method={"name": name, "kind": "external", "distribution": None},
                            config={}, perturbation=[], evaluation={"name": "set", "rows": 2, "digest": "d"},
                            metrics={"STA": 0.5, "SIM": 0.5, "FL": 0.5, "J": 0.125}, suite=suite)
        write_json(tmp_path / "r" / name / "record.json", record)
    assert publish([tmp_path / "r"], tmp_path / "board.md", command="test")["tables"] == 2
    board = (tmp_path / "board.md").read_text()
    new_table = next(s for s in board.split("\n## ")[1:] if "| new |" in s)
    assert "| old |" not in new_table
    assert "agreement with people, held out (5 folds by input" in new_table and "SIM 0.400" in new_table
    assert "agreement with people" not in next(s for s in board.split("\n## ")[1:] if "| old |" in s)
