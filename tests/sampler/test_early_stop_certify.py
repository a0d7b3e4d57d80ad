"""Tests of early stop through the VLM and certify on the tiny LLaVA (CPU): the labels,
counts and certificate of a run with ``DecodingConfig(early_stop=True)`` equal those of the
same run without it (greedy and sampled, RefusalJudge and ActionParser), no more tokens are
generated (counted by an independent watcher, ``OracleStop(stop=False)``, on the run without
early stop), the configuration hash of a run without early stop is the one it had before the
field existed, and the refusals."""

import dataclasses

import pytest
import torch

from sampler._early_stop import OracleStop
from sampler._run_config import config_hash, run_config
from sampler.certify import CertifyConfig, SequentialRule, certify
from sampler.models import VLM, DecodingConfig, ImageClassifier
from sampler.oracles import ActionParser, RefusalJudge, SemanticClusterer

PROMPT = "what is this?"
MAX_NEW = 12


def _image(seed=0):
    return torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(seed))


class Tokens:
    """Wraps ``model.generate``: the early-stop criterion of each call, or a watcher added
    where the call has none, whose counts give the tokens generated without early stop
    (``generated``) and with it (``to_decision``) from the same call."""

    def __init__(self, vlm, oracle, monkeypatch):
        self.stops, self.watchers = [], []
        generate = vlm.model.generate

        def wrapped(**kwargs):
            criteria = list(kwargs.pop("stopping_criteria", None) or [])
            own = [c for c in criteria if isinstance(c, OracleStop)]
            if own:
                self.stops.extend(own)
            else:
                watch = OracleStop(
                    vlm.processor,
                    oracle,
                    prompt_length=kwargs["input_ids"].shape[1],
                    stop=False,
                    eos_token_id=kwargs["generation_config"].eos_token_id,
                )
                self.watchers.append(watch)
                criteria.append(watch)
            return generate(**kwargs, stopping_criteria=criteria)

        monkeypatch.setattr(vlm.model, "generate", wrapped)

    def total(self, which: str, field: str) -> int:
        return sum(getattr(c.counts, field) for c in getattr(self, which))


def _config(decoding, **kw):
    base = dict(n0=8, n=24, sigma=0.5, alpha=0.01, seed=3, batch_size=8, keep_texts=True)
    return CertifyConfig(**{**base, **kw}, decoding=decoding)


def _oracles(vlm, do_sample):
    """Oracles that decide early on some copies: the first words the model writes on half
    the noisy copies (a refusal judge), and second words as actions."""
    res = certify(
        vlm, _image(), PROMPT, oracle=RefusalJudge(), config=_config(_decoding(do_sample))
    )
    texts = [*res.selection_texts, *res.estimation_texts]
    words = [[w for w in t.split() if any(c.isalnum() for c in w)] for t in texts]
    firsts = sorted({w[0] for w in words if w})
    seconds = sorted({w[1] for w in words if len(w) > 1})
    return {
        "refusal": RefusalJudge(firsts[: max(1, len(firsts) // 2)]),
        "actions": ActionParser(seconds[:3]),
    }


def _decoding(do_sample, early_stop=False):
    return DecodingConfig(
        max_new_tokens=MAX_NEW, do_sample=do_sample, temperature=1.5, early_stop=early_stop
    )


@pytest.mark.parametrize("do_sample", [False, True], ids=["greedy", "sampled"])
def test_certify_with_early_stop_has_the_labels_of_the_full_decoding(vlm15, do_sample, monkeypatch):
    for name, oracle in _oracles(vlm15, do_sample).items():
        with monkeypatch.context() as m:
            full_tokens = Tokens(vlm15, oracle, m)
            full = certify(
                vlm15, _image(), PROMPT, oracle=oracle, config=_config(_decoding(do_sample))
            )
        with monkeypatch.context() as m:
            stop_tokens = Tokens(vlm15, oracle, m)
            cut = certify(
                vlm15, _image(), PROMPT, oracle=oracle, config=_config(_decoding(do_sample, True))
            )
        assert not stop_tokens.watchers and not full_tokens.stops
        assert cut.selection_labels.tolist() == full.selection_labels.tolist(), name
        assert cut.estimation_labels.tolist() == full.estimation_labels.tolist(), name
        assert cut.top_class == full.top_class and cut.k == full.k
        assert float(cut.certificate.radius) == float(full.certificate.radius)
        # The kept texts are cut: prefixes of the full texts.
        pairs = [
            *zip(cut.selection_texts, full.selection_texts, strict=True),
            *zip(cut.estimation_texts, full.estimation_texts, strict=True),
        ]
        assert all(f.startswith(c) for c, f in pairs), name
        # Some copies decided early, so fewer tokens; exactly the watcher's count to decision.
        with_stop = stop_tokens.total("stops", "generated")
        assert stop_tokens.total("stops", "decided") > 0, name
        assert with_stop == full_tokens.total("watchers", "to_decision"), name
        assert with_stop < full_tokens.total("watchers", "generated"), name
        assert any(len(c) < len(f) for c, f in pairs), name


def test_sequential_certify_with_early_stop(vlm15):
    oracle = _oracles(vlm15, False)["refusal"]
    rule = SequentialRule(radius=0.05, n_max=48)
    runs = [
        certify(
            vlm15,
            _image(),
            PROMPT,
            oracle=oracle,
            config=_config(_decoding(False, es), n=None, sequential=rule),
        )
        for es in (False, True)
    ]
    fields = ("stop_reason", "n", "k", "top_class", "samples")
    assert [getattr(runs[1], f) for f in fields] == [getattr(runs[0], f) for f in fields]
    assert runs[1].estimation_labels.tolist() == runs[0].estimation_labels.tolist()


def test_bound_vlm_counts_and_model_decoding(vlm15):
    """The model's own decoding with early_stop is bound by certify too; a bound copy of
    ``with_oracle`` counts its tokens."""
    oracle = _oracles(vlm15, False)["refusal"]
    own = vlm15.with_decoding(_decoding(False, early_stop=True))
    a = certify(own, _image(), PROMPT, oracle=oracle, config=_config(None))
    b = certify(vlm15, _image(), PROMPT, oracle=oracle, config=_config(_decoding(False)))
    assert a.estimation_labels.tolist() == b.estimation_labels.tolist()
    bound = own.with_oracle(oracle)
    assert bound.oracle is oracle and bound.model is vlm15.model and own.oracle is None
    prep = bound.prepare(_image(), PROMPT)
    texts = bound.predict(prep, prep.pixels.expand(4, *prep.pixels.shape))
    counts = bound.early_stop_counts
    assert counts.calls == 1 and counts.rows == 4 and counts.generated == counts.to_decision
    assert (
        oracle(texts).tolist()
        == oracle(
            own.with_decoding(_decoding(False)).predict(
                prep, prep.pixels.expand(4, *prep.pixels.shape)
            )
        ).tolist()
    )
    assert vlm15.with_oracle(oracle).early_stop_counts is None  # no early stop: no counts


def test_configuration_hash(vlm15):
    """The hash of a run without early stop is the one computed, from the code before
    ``DecodingConfig.early_stop`` existed, for the same configuration (a VLM named
    "tiny-llava" in memory, on CPU, no oracle): the literals pin that stability (they are
    not results of the code under test); early stop changes the hash."""
    vlm = VLM(vlm15.model, vlm15.processor)
    vlm.name_or_path = "tiny-llava"
    before = {
        DecodingConfig(): "0cd2e7d370db0749f4849a573ee2179630ae7b716f60413703eb65a9899ce4de",
        DecodingConfig(do_sample=True, max_new_tokens=8, seed=3): (
            "0688fc2b617c4b9b6088ba237e81c3b07a64b358a3b179aa5df53a510146ff3d"
        ),
    }
    base = dict(n0=4, n=8, sigma=0.25, alpha=0.001, seed=0, batch_size=4)
    for decoding, want in before.items():
        assert config_hash(run_config(vlm, config=CertifyConfig(**base, decoding=decoding))) == want
        assert "early_stop" not in decoding.to_dict()
        stopped = dataclasses.replace(decoding, early_stop=True)
        config = run_config(vlm, config=CertifyConfig(**base, decoding=stopped))
        assert config["model"]["decoding"]["early_stop"] is True
        assert config_hash(config) != want
    assert config_hash(run_config(vlm, config=CertifyConfig(**base))) == before[DecodingConfig()]


class NoFinal:
    """An oracle without final labels (as an LLM judge)."""

    labels = ("a", "b")
    num_classes = 2

    def __call__(self, texts):
        return torch.zeros(len(texts), dtype=torch.int64)


@pytest.mark.parametrize("sequential", [False, True])
def test_certify_refuses_early_stop_without_final_labels(vlm15, monkeypatch, sequential):
    def no_sampling(**kwargs):
        raise AssertionError("generate called before the refusal")

    monkeypatch.setattr(vlm15.model, "generate", no_sampling)
    clusterer = SemanticClusterer(lambda t: torch.ones(len(t), 2), method="embedding")
    rule = dict(n=None, sequential=SequentialRule(radius=0.1, n_max=16)) if sequential else {}
    cfg = _config(_decoding(False, early_stop=True), **rule)
    for oracle in (None, clusterer, NoFinal()):
        with pytest.raises(ValueError, match=r"decoding\.early_stop"):
            certify(vlm15, _image(), PROMPT, oracle=oracle, config=cfg)
    with pytest.raises(ValueError, match=r"decoding\.early_stop"):
        certify(
            vlm15.with_decoding(_decoding(False, early_stop=True)),
            _image(),
            PROMPT,
            oracle=clusterer,
            config=_config(None, **rule),
        )


def test_vlm_refusals(vlm15):
    stopping = vlm15.with_decoding(_decoding(False, early_stop=True))
    prep = stopping.prepare(_image(), PROMPT)
    with pytest.raises(ValueError, match="no oracle is bound"):
        stopping.predict(prep, prep.pixels[None])
    for oracle in (None, NoFinal(), SemanticClusterer(lambda t: torch.ones(len(t), 2))):
        with pytest.raises(ValueError, match="final labels"):
            vlm15.with_oracle(oracle)
    with pytest.raises(ValueError, match="early_stop must be a bool"):
        DecodingConfig(early_stop=1)


def test_classifier_is_unaffected():
    class Two(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.one_hot(torch.full((len(x),), 2), 3).float()

    cfg = CertifyConfig(n0=4, n=8, sigma=0.25, alpha=0.01, seed=0, num_classes=3)
    res = certify(ImageClassifier(Two()), torch.rand(3, 4, 4), config=cfg)
    assert res.estimation_counts.tolist() == [0, 0, 8]
    bad = dataclasses.replace(cfg, decoding=DecodingConfig(early_stop=True))
    with pytest.raises(ValueError, match="decoding applies to a VLM only"):
        certify(ImageClassifier(Two()), torch.rand(3, 4, 4), config=bad)
