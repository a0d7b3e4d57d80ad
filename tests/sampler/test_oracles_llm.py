"""Tests of sampler._oracle_llm: parsing of judge outputs, and the batched judge on a tiny random
causal LM (deterministic, independent of batch size and order) and on faked generations."""

import pytest
import torch
import transformers

from sampler.oracles import LLMJudge, Oracle, parse_judgement
from sampler.tiny import build_tiny_causal_lm

LABELS = ("harmless", "harmful")

# Short answers in the tiny tokenizer's vocabulary, so that the random model's outputs differ.
TEXTS = [
    "sure here is how",
    "i cannot help with that",
    "stop",
    "turn left now",
    "the red cup is on the table",
    "i cannot help with that",
    "yes",
    "no maybe",
]


@pytest.fixture(scope="module")
def lm_path(tmp_path_factory):
    return build_tiny_causal_lm(tmp_path_factory.mktemp("judge_lm"), seed=1)


@pytest.fixture(scope="module")
def judge(lm_path):
    return LLMJudge(lm_path, prompt="{response}", batch_size=3, max_new_tokens=4, device="cpu")


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("harmful", 1),
        ("Harmless", 0),
        ("  **HARMFUL**!\n", 1),
        ("`harmless`.", 0),
        ("### Answer: harmful", 1),
        ("harmless, not harmful", 0),  # the first label word wins
        ("It is harmful, not harmless", 1),
        ("unharmful", 2),  # whole words only
        ("harm", 2),
        ("", 2),
        ("I'm not sure.", 2),
    ],
)
def test_parse_judgement_table(output, expected):
    assert parse_judgement(output, LABELS) == expected


def test_parse_judgement_multiword_and_overlapping_labels():
    labels = ("safe", "unsafe", "not sure")
    assert parse_judgement("Unsafe.", labels) == 1
    assert parse_judgement("I am not sure, maybe safe", labels) == 2
    assert parse_judgement("NOT   SURE", labels) == 2
    assert parse_judgement("nothing", labels) == 3


def test_judge_is_deterministic_and_labels_every_text(judge):
    assert judge.labels == ("harmless", "harmful", "unparseable")
    assert judge.num_classes == 3 and judge.unparseable == 2
    assert isinstance(judge, Oracle)
    first, second = judge(TEXTS), judge(TEXTS)
    assert first.dtype == torch.int64 and first.shape == (len(TEXTS),)
    assert first.tolist() == second.tolist()
    assert ((first >= 0) & (first < 3)).all()


def test_judge_outputs_do_not_depend_on_batch_size_or_order(judge, lm_path):
    outs = judge.judge(TEXTS)
    assert len(set(outs)) > 1  # the test would be vacuous if all outputs were equal
    single = LLMJudge(lm_path, prompt="{response}", batch_size=1, max_new_tokens=4, device="cpu")
    assert single.judge(TEXTS) == outs
    perm = [3, 0, 7, 5, 1, 6, 2, 4]
    assert judge.judge([TEXTS[i] for i in perm]) == [outs[i] for i in perm]
    assert [parse_judgement(o, LABELS) for o in outs] == judge(TEXTS).tolist()


def test_judge_output_matches_a_direct_greedy_generate(judge, lm_path):
    """One prompt, no padding: the judge's continuation is model.generate's greedy one."""
    tok = transformers.AutoTokenizer.from_pretrained(lm_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(lm_path, use_safetensors=True)
    prompt = judge.format_prompt("turn left now")
    assert prompt == "user: turn left now\nassistant:"  # the tokenizer's chat template is used
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(
            **enc, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id
        )
    expected = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    assert judge.judge(["turn left now"]) == [expected]


def test_unparseable_outputs_are_their_own_class_and_never_dropped(judge, monkeypatch):
    monkeypatch.setattr(judge, "generate", lambda prompts: ["%%% no idea ###"] * len(prompts))
    got = judge(TEXTS)
    assert got.tolist() == [2] * len(TEXTS)
    assert torch.bincount(got, minlength=3).tolist() == [0, 0, len(TEXTS)]


def test_label_words_in_odd_formatting_are_parsed(judge, monkeypatch):
    fake = {"stop": "  **HARMFUL**!\n", "yes": "`harmless`", "no maybe": "Answer:\n\nharmful."}
    monkeypatch.setattr(
        judge,
        "generate",
        lambda prompts: [
            next((v for k, v in fake.items() if prompt.endswith(f": {k}\nassistant:")), "???")
            for prompt in prompts
        ],
    )
    assert judge(["stop", "yes", "no maybe", "turn left now"]).tolist() == [1, 0, 1, 2]


def test_judge_batches_distinct_prompts_once(judge, monkeypatch):
    calls = []

    def fake(prompts):
        calls.append(list(prompts))
        return ["harmful"] * len(prompts)

    monkeypatch.setattr(judge, "generate", fake)
    texts = ["a", "b", "a", "c", "d", "b", "e"]
    assert judge(texts).tolist() == [1] * 7
    flat = [p for c in calls for p in c]
    assert all(len(c) <= judge.batch_size for c in calls)
    assert sorted(flat) == sorted({judge.format_prompt(t) for t in texts})


def test_request_field(lm_path, monkeypatch):
    judge = LLMJudge(
        lm_path,
        prompt="Q: {request} A: {response}",
        chat_template=False,
        batch_size=2,
        device="cpu",
    )
    assert judge.format_prompt("yes", "is it safe") == "Q: is it safe A: yes"
    monkeypatch.setattr(judge, "generate", lambda prompts: ["harmless"] * len(prompts))
    assert judge(["yes", "no"], requests=["q1", "q2"]).tolist() == [0, 0]
    with pytest.raises(ValueError, match="requests are required"):
        judge(["yes"])
    with pytest.raises(ValueError, match="requests must have one entry per text"):
        judge(["yes", "no"], requests=["q1"])


def test_loaded_model_and_tokenizer_objects(lm_path):
    tok = transformers.AutoTokenizer.from_pretrained(lm_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(lm_path, use_safetensors=True)
    judge = LLMJudge(model, tok, prompt="{response}", max_new_tokens=4, device="cpu")
    ref = LLMJudge(lm_path, prompt="{response}", max_new_tokens=4, device="cpu")
    assert judge.judge(TEXTS[:3]) == ref.judge(TEXTS[:3])
    with pytest.raises(ValueError, match="tokenizer is required"):
        LLMJudge(model, device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        ({"labels": ()}, "labels must hold at least one entry"),
        ({"labels": ("yes", "unparseable")}, "reserved name 'unparseable'"),
        ({"prompt": "no field"}, r"must contain the field \{response\}"),
        ({"prompt": "{response} {other}"}, r"no field other than"),
        ({"prompt": "{response"}, "not a valid format string"),
        ({"max_new_tokens": 0}, "max_new_tokens must be an int >= 1"),
        (
            {"device": "nonsense"},
            "device must be .auto., .cpu., .cuda., .cuda:N. or a torch.device",
        ),
    ],
)
def test_judge_rejects_bad_arguments(lm_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LLMJudge(lm_path, **kwargs)


def test_judge_rejects_bad_texts(judge):
    with pytest.raises(ValueError, match="texts must be a sequence of strings"):
        judge("one string")
    with pytest.raises(ValueError, match="texts must hold only strings"):
        judge(["ok", 3])
    with pytest.raises(ValueError, match="model must be a path"):
        LLMJudge(3.0)
