"""Tests of sampler._tiny and the ``build-tiny`` command: the offline tokenizer, and tiny
models that are deterministic per seed, written as safetensors only, fast to build, and
loaded back through ``from_pretrained``."""

import importlib
import json
import pathlib
import time

import pytest
import safetensors.torch
import torch
import transformers

from sampler.__main__ import main as sampler_main
from sampler.tiny import (
    DEFAULT_WORDS,
    IMAGE_TOKEN,
    build_tiny_causal_lm,
    build_tiny_llava,
    build_tiny_nli,
    build_tiny_text_encoder,
    build_tokenizer,
)

# The brief for the tiny builders: well under 10 s each on one CPU thread (observed < 1 s
# once transformers is imported).
BUILD_SECONDS_MAX = 10.0

BUILDERS = {
    "causal_lm": build_tiny_causal_lm,
    "text_encoder": build_tiny_text_encoder,
    "nli": build_tiny_nli,
    "llava_15": lambda path, *, seed: build_tiny_llava(path, version="1.5", seed=seed),
    "llava_16": lambda path, *, seed: build_tiny_llava(path, version="1.6", seed=seed),
}


def _weights(path: pathlib.Path) -> dict[str, torch.Tensor]:
    return safetensors.torch.load_file(path / "model.safetensors")


def test_tokenizer_round_trips_refusals_answers_and_commands():
    tok = build_tokenizer()
    for text in [
        "i'm sorry, i cannot help with that.",
        "yes, the dog is on the left.",
        "move forward then turn left and stop.",
        "pick the red box and place it on the table.",
    ]:
        ids = tok(text)["input_ids"]
        assert tok.unk_token_id not in ids, text
        assert ids[0] == tok.bos_token_id
        assert tok.decode(ids, skip_special_tokens=True) == text
    assert tok("I'm SORRY")["input_ids"] == tok("i'm sorry")["input_ids"]  # lower-cased
    assert tok.convert_ids_to_tokens(tok("zzyzx")["input_ids"]) == ["<s>", "[UNK]"]


def test_tokenizer_specials_ids_and_determinism():
    tok = build_tokenizer()
    assert [tok.pad_token, tok.unk_token, tok.bos_token, tok.eos_token, tok.mask_token] == [
        "[PAD]",
        "[UNK]",
        "<s>",
        "</s>",
        "[MASK]",
    ]
    assert [tok.pad_token_id, tok.unk_token_id, tok.bos_token_id, tok.eos_token_id] == [0, 1, 2, 3]
    assert 250 <= len(DEFAULT_WORDS) <= 1000 and len(set(DEFAULT_WORDS)) == len(DEFAULT_WORDS)
    assert len(tok) == 5 + len(DEFAULT_WORDS)
    assert tok.get_vocab() == build_tokenizer().get_vocab()
    assert IMAGE_TOKEN not in tok.get_vocab()


def test_tokenizer_with_image_token_and_custom_words():
    tok = build_tokenizer(["go", "stop", "go"], image_token=True)
    assert len(tok) == 5 + 1 + 2
    ids = tok(f"{IMAGE_TOKEN} go stop")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", IMAGE_TOKEN, "go", "stop"]
    pair = tok("go", "stop")
    assert tok.convert_ids_to_tokens(pair["input_ids"]) == ["<s>", "go", "</s>", "stop", "</s>"]


@pytest.mark.parametrize("words", [[], ["Upper"], ["two words"], [""]])
def test_tokenizer_refuses_bad_words(words):
    with pytest.raises(ValueError, match="words"):
        build_tokenizer(words)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builders_are_fast_deterministic_and_write_safetensors_only(name, tmp_path):
    build = BUILDERS[name]
    start = time.perf_counter()
    a = build(tmp_path / "a", seed=3)
    elapsed = time.perf_counter() - start
    b = build(tmp_path / "b", seed=3)
    c = build(tmp_path / "c", seed=4)
    assert a == tmp_path / "a"
    assert elapsed < BUILD_SECONDS_MAX
    for path in (a, b, c):
        names = {p.name for p in path.iterdir()}
        assert "model.safetensors" in names and "config.json" in names
        assert not any(n.endswith((".bin", ".pt", ".pth", ".pkl")) for n in names), names
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert wa.keys() == wb.keys() == wc.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    assert (a / "tokenizer.json").read_bytes() == (c / "tokenizer.json").read_bytes()


def test_builders_leave_the_global_rng_alone(tmp_path):
    before = torch.random.get_rng_state()
    build_tiny_nli(tmp_path, seed=9)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_tiny_causal_lm_loads_and_generates_with_its_chat_template(tiny_causal_lm_path):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_causal_lm_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        tiny_causal_lm_path, use_safetensors=True
    )
    assert type(model).__name__ == "LlamaForCausalLM" and model.config.hidden_size == 32
    text = tok.apply_chat_template(
        [{"role": "user", "content": "turn left"}], add_generation_prompt=True, tokenize=False
    )
    assert text == "user: turn left\nassistant:"
    enc = tok([text, "stop"], return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=4, do_sample=False)
    assert out.shape == (2, enc["input_ids"].shape[1] + 4)
    texts = tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert all(isinstance(t, str) for t in texts)


def test_tiny_text_encoder_gives_mean_pooled_sentence_embeddings(tiny_text_encoder_path):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_text_encoder_path)
    model = transformers.AutoModel.from_pretrained(tiny_text_encoder_path, use_safetensors=True)
    assert type(model).__name__ == "BertModel"
    enc = tok(["turn left now", "stop"], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    emb = (hidden * mask).sum(1) / mask.sum(1)
    assert emb.shape == (2, 32) and torch.isfinite(emb).all()


def test_tiny_nli_has_the_three_labels_and_scores_pairs(tiny_nli_path):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_nli_path)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        tiny_nli_path, use_safetensors=True
    )
    assert model.config.id2label == {0: "contradiction", 1: "neutral", 2: "entailment"}
    enc = tok(["the dog is red"], ["the dog is blue"], return_tensors="pt")
    assert enc["token_type_ids"].tolist() == [[0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]]
    with torch.inference_mode():
        logits = model(**enc).logits
    assert logits.shape == (1, 3)


@pytest.mark.parametrize(
    ("fixture", "model_class", "processor_class"),
    [
        ("tiny_llava_15_path", "LlavaForConditionalGeneration", "LlavaProcessor"),
        ("tiny_llava_16_path", "LlavaNextForConditionalGeneration", "LlavaNextProcessor"),
    ],
)
def test_tiny_llava_loads_through_the_auto_classes(request, fixture, model_class, processor_class):
    path = request.getfixturevalue(fixture)
    model = transformers.AutoModelForImageTextToText.from_pretrained(path, use_safetensors=True)
    processor = transformers.AutoProcessor.from_pretrained(path)
    assert type(model).__name__ == model_class
    assert type(processor).__name__ == processor_class
    assert processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) == model.config.image_token_id


def test_build_tiny_llava_refuses_an_unknown_version(tmp_path):
    with pytest.raises(ValueError, match="version"):
        build_tiny_llava(tmp_path, version="2.0")


def test_cli_build_tiny_writes_the_same_model_as_the_builder(tmp_path, capsys):
    argv = ["build-tiny", str(tmp_path / "cli"), "--version", "1.6", "--seed", "2"]
    assert sampler_main(argv) == 0
    reported = json.loads(capsys.readouterr().out)
    assert reported == {"path": str(tmp_path / "cli"), "version": "1.6", "seed": 2}
    direct = build_tiny_llava(tmp_path / "direct", version="1.6", seed=2)
    wa, wb = _weights(tmp_path / "cli"), _weights(direct)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sampler_main(["build-tiny", str(tmp_path), "--version", "2"])
    with pytest.raises(SystemExit):
        sampler_main([])
    assert "build-tiny" in capsys.readouterr().err


def test_importing_the_cli_module_runs_nothing(capsys):
    """Re-executing `sampler.__main__` as a module (not as __main__) parses and prints nothing."""
    import sampler.__main__ as cli

    importlib.reload(cli)
    assert capsys.readouterr() == ("", "")
