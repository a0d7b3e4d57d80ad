"""Tests of sampler.CertifyConfig: validated once, the configuration hash of release 0.1
kept (so 0.1 campaign files resume), and the 0.1 flat keywords still accepted with a
DeprecationWarning, giving the same results."""

import warnings

import pytest
import torch

import rstheory
import sampler
from sampler import CertifyConfig, SequentialRule
from sampler.certify import certify, certify_sequential
from sampler.models import ImageClassifier
from sampler.oracles import RefusalJudge
from sampler.run import config_hash, run_config

BASE = dict(n0=10, n=100, sigma=0.25, alpha=0.001, seed=7, batch_size=16)

# The hashes release 0.1's run_config(clf, n0=10, n=100, sigma=0.25, alpha=0.001, seed=7,
# batch_size=16, model_name="linear", ...) gave for these settings.
HASHES_01 = {
    "plain": "8d13c53f673ac8f3400bf9f15491c4a54b9ca7a8f83974cfbb4173ee071486da",
    "eps": "e1a9288fe31376684810f973fcf5c38c4faebd5dfb8302d2c565304a878172d5",
    "unknown": "d1ce80ba45c9dfa22aad22e26d87d9b530fe1bff7639f8f17b6356c7b9500d0f",
    "bound": "d1be9ca31adb214cdb85ce5c5e843837b7d9c383c1c53661d5d2f8df21983eec",
    "refusal": "3cf23482d5c3a7ea6a56960579aef995afc8942c361eb536e91477eaa755a06a",
}


class Two(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.one_hot(torch.full((len(x),), 2), 3).float()


@pytest.mark.parametrize("case", sorted(HASHES_01))
def test_the_configuration_hash_is_the_one_release_01_wrote(case):
    clf = ImageClassifier(torch.nn.Linear(2, 3))
    config, kw = {
        "plain": (dict(num_classes=3), {}),
        "eps": (dict(oracle_error=0.05), {}),
        "unknown": (dict(oracle_error="unknown"), {}),
        "bound": (dict(oracle_error=rstheory.oracle.ErrorBound(0.1, 0.001)), {}),
        "refusal": ({}, dict(oracle=RefusalJudge(), oracle_name="refusal")),
    }[case]
    cfg = CertifyConfig(**BASE, **config)
    assert config_hash(run_config(clf, config=cfg, model_name="linear", **kw)) == HASHES_01[case]


def test_keep_texts_is_not_hashed_and_a_sequential_rule_is():
    clf = ImageClassifier(torch.nn.Linear(2, 3))
    cfg = CertifyConfig(**BASE)
    h = config_hash(run_config(clf, config=cfg, model_name="linear"))
    assert config_hash(run_config(clf, config=cfg.replace(keep_texts=True), model_name="x")) != h
    assert (
        config_hash(run_config(clf, config=cfg.replace(keep_texts=True), model_name="linear")) == h
    )
    seq = cfg.replace(n=None, sequential=SequentialRule(radius=0.1, n_max=100))
    assert "sequential" in run_config(clf, config=seq)


def test_defaults_and_integer_valued_floats():
    cfg = CertifyConfig(n0=10.0, n=1000.0, sigma=0.5, seed=0)
    assert (cfg.n0, cfg.n, cfg.alpha, cfg.batch_size) == (10, 1000, 0.001, 32)
    assert isinstance(cfg.n, int)
    with pytest.raises(dataclasses_error()):
        cfg.n = 3


def dataclasses_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n0=0), "n0 must be an integer >= 1"),
        (dict(n=2.5), "n must be an integer >= 1"),
        (dict(n=True), "n must be an integer"),
        (dict(n=None), "n is required"),
        (dict(sigma=0.0), r"sigma must lie in \(0, inf\)"),
        (dict(alpha=1.0), r"alpha must lie in \(0, 1\)"),
        (dict(seed=-1), "seed must be an integer in"),
        (dict(batch_size=0), "batch_size"),
        (dict(num_classes=0), "num_classes"),
        (dict(oracle_error=1.5), "oracle_error"),
        (dict(oracle_error="known"), "oracle_error"),
        (dict(oracle_error=[0.1]), "oracle_error"),
        (dict(keep_texts="yes"), "keep_texts"),
        (dict(decoding={"do_sample": True}), "decoding"),
        (dict(sequential=SequentialRule(radius=0.1, n_max=10)), "n must be None"),
        (dict(n=None, sequential=(0.1, 10)), "SequentialRule"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CertifyConfig(**{**BASE, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(radius=0.0), "radius"), (dict(n_max=0), "n_max"), (dict(prior=(1.0, -1.0)), "prior")],
)
def test_bad_sequential_rules_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SequentialRule(**{"radius": 0.1, "n_max": 10, **kwargs})


def test_certify_takes_the_01_flat_keywords_with_a_warning_and_the_same_result():
    clf, image = ImageClassifier(Two()), torch.rand(3, 4, 4)
    new = certify(clf, image, config=CertifyConfig(**BASE, num_classes=3))
    with pytest.warns(DeprecationWarning, match="config=CertifyConfig"):
        old = certify(clf, image, **BASE, num_classes=3)
    assert old.summary() == new.summary()
    with pytest.raises(TypeError, match="not both"):
        certify(clf, image, config=CertifyConfig(**BASE), n=5)
    with pytest.raises(TypeError, match="config="):
        certify(clf, image)


def test_the_sequential_rule_takes_the_01_flat_keywords_with_a_warning():
    clf, image = ImageClassifier(Two()), torch.rand(3, 4, 4)
    rule = SequentialRule(radius=0.25, n_max=200)
    kw = dict(n0=10, sigma=0.25, alpha=0.001, batch_size=20, seed=0, num_classes=3)
    new = certify(clf, image, config=CertifyConfig(**kw, sequential=rule))
    with pytest.warns(DeprecationWarning):
        old = certify_sequential(clf, image, **kw, radius=0.25, n_max=200)
    assert old.summary() == new.summary()
    # certify's flat keywords name the sequential rule with radius= and n_max=
    with pytest.warns(DeprecationWarning, match="config=CertifyConfig"):
        flat = certify(clf, image, **kw, radius=0.25, n_max=200)
    assert flat.summary() == new.summary()
    with (
        pytest.warns(DeprecationWarning, match="certify_sequential is renamed certify"),
        pytest.raises(ValueError, match="sequential rule"),
    ):
        certify_sequential(clf, image, config=CertifyConfig(**BASE))
    # certify runs the rule its configuration names (it used to refuse a sequential one)
    assert isinstance(certify(clf, image, config=CertifyConfig(**kw, sequential=rule)), type(new))
    assert isinstance(certify(clf, image, config=CertifyConfig(**BASE)), sampler.CertifyResult)
    assert isinstance(new, sampler.SequentialResult)


def test_oracle_eps_and_oracle_rates_map_to_oracle_error():
    clf, image = ImageClassifier(Two()), torch.rand(3, 4, 4)
    bound = rstheory.oracle.ErrorBound(0.1, 0.001)
    for old_kw, new in ((dict(oracle_eps=0.05), 0.05), (dict(oracle_rates=bound), bound)):
        want = certify(clf, image, config=CertifyConfig(**BASE, oracle_error=new))
        with pytest.warns(DeprecationWarning):
            got = certify(clf, image, **BASE, **old_kw)
        assert got.summary() == want.summary()


def test_vote_certificate_is_a_deprecated_alias_of_certify_result():
    with pytest.warns(DeprecationWarning, match="CertifyResult"):
        alias = sampler.VoteCertificate
    assert alias is sampler.CertifyResult
    res = sampler.certificate_from_counts(
        torch.tensor([1, 9]), torch.tensor([2, 98]), alpha=0.001, sigma=0.5
    )
    assert isinstance(res, sampler.CertifyResult) and isinstance(res, sampler.Votes)


def test_count_votes_takes_num_classes_positionally_with_a_warning():
    labels = torch.tensor([0, 2, 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = sampler.count_votes(labels, 3)
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)
    assert torch.equal(old, sampler.count_votes(labels, num_classes=3))
