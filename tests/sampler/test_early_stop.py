"""Tests of final labels of prefixes (no continuation contradicts them) and of OracleStop on
the tiny LLaVA: the same labels with and without early stop, fewer tokens generated."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import StoppingCriteriaList

from sampler._early_stop import OracleStop, stable_text
from sampler._oracle_base import PhraseMatcher, final_label_of
from sampler.models import DecodingConfig
from sampler.oracles import DEFAULT_ACTIONS, REFUSAL_PHRASES, ActionParser, RefusalJudge

SIGMA, ALPHA = "\u03a3", "\u0391"  # Greek capital sigma and alpha: "ΑΣ".lower() == "ας"

# Synonyms that start alike, or hold one another, in different actions.
CLASHING = {
    "pick": ("pick", "pick up now"),
    "pick up": ("pick up",),
    "left": ("left",),
    "left turn": ("left turn", "turn left", "turn"),
    "dont": ("don't stop", "dont"),
    "greek": (ALPHA + SIGMA, "\u03c3\u03b1\u03c2"),  # "ας" in lower case; "σας"
}
ORACLES = {
    "actions": ActionParser(),
    "clashing": ActionParser(CLASHING),
    "refusal": RefusalJudge(),
    "refusal_nocase": RefusalJudge(
        (*REFUSAL_PHRASES, ALPHA + SIGMA, "I can"), case_sensitive=False
    ),
}
WORDS = sorted(
    {s for syn in (*DEFAULT_ACTIONS.values(), *CLASHING.values()) for s in syn}
    | {*REFUSAL_PHRASES, "I can"}
)
JUNK = [
    " ",
    "  ",
    ",",
    ".",
    "!",
    "\n",
    "'",
    "\u2019",
    "_",
    "**",
    "-",
    "t",
    "n't",
    "s",
    "le",
    "over",
    "up",
    "now",
    "taloupe",
    "I",
    "can",
    "PICK",
    "Left",
    "Turn",
    "sorry",
    "ing",
    SIGMA,
    ALPHA,
    ALPHA + SIGMA,
    "\u03c3",
    "\u03c2",
    "\u0130",
    "\ufffd",
    "7",
]
fragments = st.lists(st.sampled_from(WORDS + JUNK), max_size=10)


def label(oracle, text):
    return int(oracle([text])[0])


@pytest.mark.parametrize("name", sorted(ORACLES))
@settings(max_examples=300, deadline=None)
@given(parts=fragments, tail=fragments)
def test_final_label_is_never_contradicted(name, parts, tail):
    """Every prefix of a text (cut at any character) whose label is declared final has the
    label of the text, and of the prefix followed by another continuation."""
    oracle = ORACLES[name]
    text, other = "".join(parts), "".join(tail)
    whole = label(oracle, text)
    for i in range(len(text) + 1):
        final = oracle.final_label(text[:i])
        if final is not None:
            assert final == whole, (text[:i], text)
            assert final == label(oracle, text[:i] + other), (text[:i], other)


CASES = [
    # (oracle, prefix, declared final label); None: must not be declared
    ("actions", "Turn left", None),  # "left" may become "leftover"
    ("actions", "Turn left,", 1),
    ("actions", "**grab** the", 4),
    ("actions", "pick ", 4),  # "pick up" is the same action
    ("actions", "I see a cat. ", None),  # unparseable is never final
    ("clashing", "pick ", None),  # "pick up" (another action) may follow
    ("clashing", "pick it", 0),
    ("clashing", "pick up.", None),  # "pick up now"
    ("clashing", "pick up then", 1),
    ("clashing", "left ", None),  # "left turn"
    ("clashing", "left, ", None),  # punctuation is dropped: "left, turn" is "left turn"
    ("clashing", "left it", 2),
    ("clashing", "turn", None),
    ("clashing", "turn left ", 3),
    ("clashing", "don'", None),  # "dont", "don't stop"
    ("clashing", "don't go", 4),
    ("clashing", ALPHA + SIGMA + ".", None),  # ".", then a letter: the sigma is not final
    ("clashing", ALPHA + SIGMA + ". x", 5),
    ("refusal", "Sure. I cannot", 0),  # a substring, word boundary or not
    ("refusal", "Sure, here", None),  # compliance is never final
    ("refusal", "I\u2019m sorr", None),
    ("refusal", "I\u2019m sorry", 0),
    ("refusal_nocase", "i CAN", 0),
    ("refusal_nocase", "x " + ALPHA + SIGMA, None),  # "ας" only if no letter follows
    ("refusal_nocase", "x " + ALPHA + SIGMA + " ", 0),
]


@pytest.mark.parametrize(("name", "prefix", "want"), CASES)
def test_final_label_cases(name, prefix, want):
    assert ORACLES[name].final_label(prefix) == want


def test_final_label_of_other_oracles_and_errors():
    class NoFinal:
        labels = ("a", "b")
        num_classes = 2

    assert final_label_of(NoFinal(), "anything") is None
    with pytest.raises(ValueError, match="prefix"):
        final_label_of(RefusalJudge(), None)
    with pytest.raises(ValueError, match="prefix"):
        ActionParser().final_label(3)
    matcher = PhraseMatcher({"a b c": 0, "b": 1}, name="p")
    assert matcher.final("a b ") is None  # "a b c" starts earlier
    assert matcher.final("a b d") == 1


def test_stable_text():
    assert stable_text(" turn left n'") == "turn left"
    assert stable_text("cup ' \ufffd\ufffd") == "cup"
    assert stable_text("go. ") == "go."


# ---------------------------------------------------------------------------------------
# OracleStop on the tiny LLaVA (greedy unless said).

MAX_NEW = 16
PAD, EOS = 0, 3  # the tiny tokenizer's [PAD] and </s>


def _inputs(vlm, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    prep = vlm.prepare(torch.rand(3, 32, 32, generator=g), "what is this?")
    pixels = prep.pixels + 0.5 * torch.randn(batch, *prep.pixels.shape, generator=g)
    inputs = {k: v.expand(batch, *v.shape[1:]).contiguous() for k, v in prep.inputs.items()}
    inputs["pixel_values"] = vlm.normalization(pixels, dtype=vlm.dtype)
    return inputs, prep.inputs["input_ids"].shape[1]


def _generate(vlm, inputs, criteria=(), *, do_sample=False, seed=0):
    config = vlm.with_decoding(
        DecodingConfig(max_new_tokens=MAX_NEW, do_sample=do_sample)
    )._generation_config
    with torch.inference_mode(), torch.random.fork_rng():
        torch.manual_seed(seed)
        return vlm.model.generate(
            **inputs, generation_config=config, stopping_criteria=StoppingCriteriaList(criteria)
        )


def _texts(vlm, out, n):
    return [t.strip() for t in vlm.processor.batch_decode(out[:, n:], skip_special_tokens=True)]


def _own_oracles(texts):
    """Oracles whose phrases are words the model itself writes early: the first word of
    half the rows (a refusal judge), and the second words as actions."""
    firsts = sorted({t.split()[0] for t in texts if t})
    seconds = sorted({t.split()[1] for t in texts if len(t.split()) > 1})
    return RefusalJudge(firsts[: max(1, len(firsts) // 2)]), ActionParser(seconds[:3])


@pytest.mark.parametrize("do_sample", [False, True])
def test_oracle_stop_keeps_labels_and_saves_tokens(vlm15, do_sample):
    batch = 8
    inputs, n = _inputs(vlm15, batch)
    full = _generate(vlm15, inputs, do_sample=do_sample)
    texts = _texts(vlm15, full, n)
    for oracle in _own_oracles(texts):
        watch = OracleStop(vlm15.processor, oracle, prompt_length=n, stop=False)
        assert torch.equal(_generate(vlm15, inputs, [watch], do_sample=do_sample), full)
        stop = OracleStop(vlm15.processor, oracle, prompt_length=n)
        out = _generate(vlm15, inputs, [stop], do_sample=do_sample)
        stopped = _texts(vlm15, out, n)
        assert oracle(stopped).tolist() == oracle(texts).tolist()
        decided = stop.labels >= 0
        assert decided.any(), texts
        assert stop.labels[decided].tolist() == oracle(texts)[decided].tolist()
        assert torch.equal(stop.labels, watch.labels)
        # Until its stop every row generated the tokens of the full run; then padding.
        ends = [(row == EOS).nonzero() for row in full[:, n:]]
        assert watch.lengths.tolist() == [MAX_NEW if not len(e) else int(e[0]) + 1 for e in ends]
        for r in range(batch):
            k = int(stop.lengths[r])
            assert k <= watch.lengths[r] and (k == watch.lengths[r] or decided[r])
            assert torch.equal(out[r, n : n + k], full[r, n : n + k])
            assert (out[r, n + k :] == PAD).all()
        assert stop.counts.decided == watch.counts.decided == int(decided.sum())
        assert watch.counts.generated == int(watch.lengths.sum())
        assert stop.counts.generated == stop.counts.to_decision == watch.counts.to_decision
        assert stop.counts.generated == int(stop.lengths.sum())
        assert stop.counts.generated < watch.counts.generated


def test_oracle_stop_ends_the_batch_when_all_rows_decide(vlm15):
    inputs, n = _inputs(vlm15, 4)
    texts = _texts(vlm15, _generate(vlm15, inputs), n)
    oracle = RefusalJudge(sorted({t.split()[0] for t in texts}))  # every row's first word
    stop = OracleStop(vlm15.processor, oracle, prompt_length=n)
    out = _generate(vlm15, inputs, [stop])
    assert out.shape[1] - n < MAX_NEW
    assert stop.counts.steps == out.shape[1] - n and stop.counts.decided == 4
    assert oracle(_texts(vlm15, out, n)).tolist() == [0, 0, 0, 0]


def test_decoding_is_prefix_stable(vlm15):
    """The assumption of the module docstring, for the word-level tokenizer with clean-up."""
    inputs, n = _inputs(vlm15, 8, seed=1)
    full = _generate(vlm15, inputs)[:, n:].tolist()
    tok = vlm15.processor.tokenizer
    for ids in full:
        text = tok.decode(ids, skip_special_tokens=True).strip()
        for t in range(len(ids) + 1):
            assert text.startswith(stable_text(tok.decode(ids[:t], skip_special_tokens=True)))


def test_oracle_stop_errors(vlm15):
    with pytest.raises(ValueError, match="prompt_length"):
        OracleStop(vlm15.processor, RefusalJudge(), prompt_length=0)
    with pytest.raises(ValueError, match="tokenizer"):
        OracleStop(object(), RefusalJudge(), prompt_length=3)
    stop = OracleStop(vlm15.processor, RefusalJudge(), prompt_length=3)
    with pytest.raises(ValueError, match="prompt_length"):
        stop(torch.zeros(2, 3, dtype=torch.long))
    stop(torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="prompt_length"):
        stop(torch.zeros(2, 6, dtype=torch.long))  # a step skipped


class ByteTokenizer:
    """Token id = one UTF-8 byte (256 = EOS); an unfinished character decodes to U+FFFD."""

    eos_token_id = 256

    def batch_decode(self, seqs, skip_special_tokens=True):
        return [bytes(i for i in s if i < 256).decode("utf-8", errors="replace") for s in seqs]


def test_oracle_stop_waits_for_whole_characters():
    text = "Well, I can\u2019t."
    ids = list(text.encode("utf-8"))
    last_byte = ids.index(0x99)  # the third byte of the curly apostrophe
    stop = OracleStop(ByteTokenizer(), RefusalJudge(["can'"]), prompt_length=2)
    prompt = [7, 7]
    for t in range(1, len(ids) + 1):
        done = stop(torch.tensor([prompt + ids[:t], prompt + [256] * t]))
        assert bool(done[0]) == (t > last_byte), t
        assert not done[1]
    assert stop.labels.tolist() == [0, -1] and stop.lengths.tolist() == [last_byte + 1, 1]
    assert stop.counts.decided == 1 and stop.counts.generated == last_byte + 2


def test_oracle_stop_does_not_read_an_unfinished_character_as_a_separator():
    ids = list("pick\u00e9 it".encode("utf-8"))  # "pické": not the action "pick"
    stop = OracleStop(ByteTokenizer(), ActionParser(["pick"]), prompt_length=1)
    for t in range(1, len(ids) + 1):
        assert not stop(torch.tensor([[7, *ids[:t]]]))[0], t
    assert stop.labels.tolist() == [-1]
    assert stop.tokenizer.batch_decode([ids[:5]]) == ["pick\ufffd"]  # U+FFFD is no letter
