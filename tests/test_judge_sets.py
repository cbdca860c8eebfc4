"""Judge sets: the published protocols' arithmetic, checked on tiny models saved to local directories with the
published label layouts, and the one-line refusal where a published model cannot be had."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sro_bench.errors import UserError
from sro_bench.metrics import MetricContext, Suite
from sro_bench.metrics.judge_sets import OFFLINE, PAN_2024, PARADETOX_2022, check_models, judge_set
from sro_bench.metrics.published import detokenize, label_index

WORDS = ["you", "are", "an", "idiot", "a", "nice", "person", "this", "is", "fine", "."]


def _tokenizer(path):
    from transformers import BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"))
    tokenizer.save_pretrained(path)
    return tokenizer


def _classifier(path, id2label: dict[int, str], bias: list[float]):
    """A tiny classifier whose logits are ``bias`` whatever the text (its classifier weights are zero)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = _tokenizer(path)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, num_labels=len(id2label), id2label=id2label,
                        label2id={v: k for k, v in id2label.items()})
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(path)
    return path


def _sentence_encoder(path):
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel

    base = path / "bert"
    tokenizer = _tokenizer(base)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16)).save_pretrained(base)
    bert = models.Transformer(str(base))
    stack = [bert, models.Pooling(8, pooling_mode="cls"), models.Dense(8, 8, activation_function=torch.nn.Tanh()),
             models.Normalize()]
    SentenceTransformer(modules=stack, device="cpu").save(str(path / "labse"))
    return path / "labse"


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("judges")
    return {
        # the published layouts: index 0 neutral / acceptable
        "toxicity": _classifier(root / "toxicity", {0: "neutral", 1: "toxic"}, [2.0, 0.0]),
        "reversed": _classifier(root / "reversed", {0: "toxic", 1: "neutral"}, [2.0, 0.0]),
        "cola": _classifier(root / "cola", {0: "LABEL_0", 1: "LABEL_1"}, [0.0, 1.0]),
        "labse": _sentence_encoder(root),
    }


INPUTS = ["you are an idiot", "this is fine .", "you are a nice person"]
REWRITES = ["you are an idiot", "", "you are a nice person"]
REFERENCES = [["you are an idiot"], ["this is fine ."], ["a nice person", "you are a nice person"]]


def test_pan_2024_by_hand(tiny_models):
    """STA = P(neutral) = e^2 / (e^2 + 1) on every row; SIM = 1 where the rewrite is the input; sentence chrF is 1
    against an identical reference (the best of several) and 0 for an empty rewrite; J = mean of the products."""
    context = MetricContext(models=(("sta", str(tiny_models["toxicity"])), ("sim", str(tiny_models["labse"]))))
    result = Suite(context, judges=PAN_2024).score(INPUTS, REWRITES, REFERENCES)
    p = math.exp(2) / (math.exp(2) + 1)
    np.testing.assert_allclose(result.sentence["STA"], [p, p, p], rtol=1e-6)
    assert result.sentence["SIM"][0] == pytest.approx(1.0) and result.sentence["SIM"][2] == pytest.approx(1.0)
    np.testing.assert_allclose(result.sentence["chrF"][[0, 2]], [1.0, 1.0])
    assert result.sentence["chrF"][1] == 0.0
    assert result.corpus["J"] == pytest.approx((p + 0 + p) / 3, rel=1e-6)
    assert result.to_dict()["judge_set"] == "pan-2024" and "J_chrF" not in result.corpus


def test_soft_and_argmax_sta_read_the_label_order_from_the_config(tiny_models):
    """The same logits [2, 0]: P(neutral) is 0.881 where index 0 is neutral and 0.119 where the config says index 1
    is; argmax STA is 1 and 0."""
    low = math.exp(0) / (math.exp(2) + 1)
    for model, soft, argmax in [("toxicity", 1 - low, 1.0), ("reversed", low, 0.0)]:
        pan = Suite(MetricContext(models=(("sta", str(tiny_models[model])), ("sim", str(tiny_models["labse"])))),
                    judges=PAN_2024).score(INPUTS, REWRITES, REFERENCES)
        assert pan.corpus["STA"] == pytest.approx(soft, rel=1e-6), model
        para = Suite(MetricContext(models=(("sta", str(tiny_models[model])), ("fl", str(tiny_models["cola"])))),
                     judges=PARADETOX_2022, metric_names=["paradetox-sta", "paradetox-fl"]).score(INPUTS, REWRITES)
        assert para.corpus["STA"] == argmax, model


def test_paradetox_2022_fl_is_cola_index_0_by_argmax_after_detokenising(tiny_models):
    # the CoLA config names its labels generically: the documented index 0 is "acceptable"; logits [0, 1] say no
    context = MetricContext(models=(("sta", str(tiny_models["toxicity"])), ("fl", str(tiny_models["cola"]))))
    result = Suite(context, judges=PARADETOX_2022, metric_names=["paradetox-sta", "paradetox-fl"]).score(INPUTS, REWRITES)
    assert result.corpus["FL"] == 0.0 and result.corpus["STA"] == 1.0
    assert label_index({0: "LABEL_0", 1: "LABEL_1"}, "acceptable", 0) == 0
    assert label_index({"0": "toxic", "1": "neutral"}, "neutral", 0) == 1
    with pytest.raises(UserError, match="none of them 'neutral'"):
        label_index({0: "positive", 1: "negative"}, "neutral", 0)
    assert detokenize("you ( sure ) , right ? yes ! no . fine") == "you (sure), right? yes! no. fine"


def test_a_published_model_that_cannot_be_had_is_one_line_before_any_scoring(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(UserError, match=r"--judges pan-2024: STA needs textdetox/xlmr-large-toxicity-classifier: "
                                        r"not in the Hugging Face cache, and the hub is offline; .* point --sta-model"):
        check_models(PAN_2024)
    with pytest.raises(UserError, match="--judges pan-2024: STA needs"):
        Suite(MetricContext(), judges=PAN_2024)
    with pytest.raises(UserError, match=f"{tmp_path / 'nowhere'}: no such directory"):
        check_models(PARADETOX_2022, {"sta": str(tmp_path / "nowhere")})
    with pytest.raises(UserError, match="--fl-model: the judge set 'pan-2024' loads no FL model"):
        check_models(PAN_2024, {"fl": str(tmp_path)})
    with pytest.raises(UserError, match="unknown judge set 'pan-2025' .known: offline, pan-2024, paradetox-2022"):
        judge_set("pan-2025")
    assert judge_set("offline") is OFFLINE


def test_a_run_and_a_board_on_the_pan_2024_scale(tiny_models, data_dir, tmp_path):
    """`run --judges pan-2024` with local copies writes a record naming the set and its models; the board says
    pan-2024 in the table's heading and never ranks it beside offline-judged rows."""
    import json

    from sro_bench.publish.leaderboard import publish
    from sro_bench.run.config import RunConfig
    from sro_bench.run.runner import run

    eval_file = tmp_path / "dev.tsv"
    eval_file.write_text("toxic\tneutral1\n" + "".join(f"{x}\t{refs[-1]}\n" for x, refs in zip(INPUTS, REFERENCES)))
    config = RunConfig(method="duplicate", eval_file=eval_file, data_dir=data_dir, runs_dir=tmp_path / "runs",
                       run_id="pan", judges="pan-2024", sta_model=str(tiny_models["toxicity"]),
                       sim_model=str(tiny_models["labse"]))
    record = run(config, progress=False).record
    assert record["suite"]["judge_set"] == "pan-2024"
    assert record["metrics"]["J"] == pytest.approx(math.exp(2) / (math.exp(2) + 1), rel=1e-6)  # copies of the references
    assert str(tiny_models["toxicity"]) in json.dumps(record["suite"]["judges"])
    assert all("@sha256:" in judge for judge in record["suite"]["judges"].values())  # named by what scores
    offline = run(RunConfig(method="duplicate", eval_file=eval_file, data_dir=data_dir, runs_dir=tmp_path / "runs",
                            run_id="offline", metrics=["bleu", "chrf"]), progress=False).record
    assert offline["suite"]["judge_set"] == "offline"
    board = publish([tmp_path / "runs"], tmp_path / "board.md", command="test")
    text = (tmp_path / "board.md").read_text()
    assert board["tables"] == 2 and "set pan-2024:" in text
    assert "Judge set pan-2024 (docs/published.md): J = mean over sentences of STA * SIM * chrF (pan-2024)." in text
    from sro_bench.grids.baselines import run_baselines

    rows = run_baselines([tmp_path / "runs" / "pan"], tmp_path / "baselines")
    assert sorted(r.run_dir.name for r in rows) == ["delete-pan-2024", "reference-pan-2024"]
    assert {r["suite"]["judge_set"] for r in rows} == {"pan-2024"}  # scored like the run they sit beside
    assert rows[1]["metrics"]["chrF"] == pytest.approx(100.0)  # the references against themselves


def test_the_agreement_command_holds_a_published_set_against_people(tiny_models, data_dir, tmp_path, capsys):
    import json

    from sro_bench.cli.main import main

    path = tmp_path / "labels.csv"
    path.write_text("src,hyp,nontoxic\n" + "".join(f"{x},{y or 'you'},{label}\n" for x, y, label in
                                                    zip(INPUTS * 2, REWRITES * 2, [0, 1, 1, 0, 1, 0])))
    out = tmp_path / "agreement.json"
    main(["suite", "agreement", "--human", str(path), "--input-column", "src", "--rewrite-column", "hyp",
          "--sta-column", "nontoxic", "--judges", "pan-2024", "--sta-model", str(tiny_models["toxicity"]),
          "--sim-model", str(tiny_models["labse"]), "--resamples", "20", "--json", str(out), "--data-dir", str(data_dir)])
    report = json.loads(out.read_text())
    assert report["judge_set"] == "pan-2024" and "STA" in report["judges"]
    assert "judge set pan-2024" in " ".join(capsys.readouterr().out.split())


def test_eval_without_the_published_model_is_one_line_exit_2_before_reading_anything(monkeypatch, tmp_path, capsys):
    from sro_bench.cli.main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    (tmp_path / "in.txt").write_text("you idiot\n")
    with pytest.raises(SystemExit) as done:
        main(["eval", "--inputs", str(tmp_path / "in.txt"), "--predictions", str(tmp_path / "in.txt"),
              "--judges", "paradetox-2022"])
    err = capsys.readouterr().err
    assert done.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: --judges paradetox-2022: STA needs s-nlp/roberta_toxicity_classifier: not in the "
                          "Hugging Face cache") and "--sta-model" in err


def test_a_robustness_grid_scores_every_cell_with_its_judge_set(tiny_models):
    from sro_bench.grids.config import RobustnessConfig
    from sro_bench.grids.robustness import Cell, cell_config
    from sro_bench.run.config import RunConfig

    base = RunConfig(judges="pan-2024", sta_model=str(tiny_models["toxicity"]), sim_model=str(tiny_models["labse"]))
    cell = cell_config(RobustnessConfig(base=base, methods=["sro"]), Cell("sro", "flip:0.1", 0))
    assert (cell.judges, cell.sta_model, cell.sim_model) == ("pan-2024", base.sta_model, base.sim_model)
