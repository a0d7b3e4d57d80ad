"""Tests of sampler._certify: the certificate against rstheory on the returned counts, the
selection and estimation noise drawn from separate seeded streams (checked against an
independent redraw), reproducibility, the oracle paths (judge, semantic clusters,
classifier) and the oracle correction passed through to rstheory."""

import numpy as np
import pytest
import torch

import rstheory
from sampler.certify import CertifyConfig, CertifyResult, certify, derive_seed
from sampler.models import VLM, DecodingConfig, ImageClassifier
from sampler.noise import add_gaussian_noise, noise_generator
from sampler.oracles import RefusalJudge, SemanticClusterer, error_rates

PROMPT = "what is in the picture?"


def _image(seed=0, size=(32, 32)):
    return torch.rand(3, *size, generator=torch.Generator().manual_seed(seed))


class FirstWord:
    """A stub oracle: class = length of the first word mod 3 (varied on the tiny model)."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)


class Recorder(torch.nn.Module):
    """A classifier that records every batch it sees; class = sign of the mean pixel noise."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        score = (x - 0.5).flatten(1).mean(1)
        return torch.stack([-score, score], dim=1)


def _assert_certificate_matches(res, *, alpha, sigma, **kwargs):
    top = int(np.argmax(res.selection_counts.numpy()))  # first maximum, as numpy
    k = int(res.estimation_counts[top])
    ref = rstheory.certify(k, res.n, alpha=alpha, sigma=sigma, **kwargs)
    assert res.top_class == top and res.k == k
    for field in ("p_lower", "radius", "abstained", "q_lower", "alpha_spent"):
        np.testing.assert_array_equal(
            np.asarray(getattr(res.certificate, field)), np.asarray(getattr(ref, field))
        )
    assert res.certificate.correction == ref.correction


def test_vlm_certificate_equals_rstheory_on_the_returned_counts(vlm15):
    res = certify(
        vlm15,
        _image(),
        PROMPT,
        oracle=FirstWord(),
        config=CertifyConfig(
            n0=6, n=10, sigma=0.5, alpha=0.01, seed=3, batch_size=4, keep_texts=True
        ),
    )
    assert isinstance(res, CertifyResult)
    # Labels recomputed from the kept texts by the oracle; counts by numpy.
    assert res.selection_labels.tolist() == FirstWord()(res.selection_texts).tolist()
    assert res.estimation_labels.tolist() == FirstWord()(res.estimation_texts).tolist()
    assert res.selection_counts.tolist() == np.bincount(res.selection_labels, minlength=3).tolist()
    assert (
        res.estimation_counts.tolist() == np.bincount(res.estimation_labels, minlength=3).tolist()
    )
    assert int(res.selection_counts.sum()) == 6 and int(res.estimation_counts.sum()) == 10
    assert res.selection_labels.dtype == res.estimation_labels.dtype == torch.int64
    assert len(res.selection_texts) == 6 and len(res.estimation_texts) == 10
    assert res.n == 10 and res.n0 == 6 and res.num_classes == 3
    assert res.class_names == FirstWord.labels
    assert res.noise.sigma == 0.5 and res.noise.input_shape == (3, 28, 28)
    assert all(t >= 0 for t in res.timings)
    _assert_certificate_matches(res, alpha=0.01, sigma=0.5)
    # Without keep_texts the texts are not kept, the rest is identical.
    again = certify(
        vlm15,
        _image(),
        PROMPT,
        oracle=FirstWord(),
        config=CertifyConfig(n0=6, n=10, sigma=0.5, alpha=0.01, seed=3, batch_size=4),
    )
    assert again.selection_texts is None and again.estimation_texts is None
    assert again.estimation_labels.tolist() == res.estimation_labels.tolist()


def test_selection_and_estimation_noise_come_from_separate_seeded_streams():
    clean = _image(1, (4, 4))
    net = Recorder()
    res = certify(
        ImageClassifier(net),
        clean,
        config=CertifyConfig(
            n0=5, n=11, sigma=0.3, alpha=0.001, seed=7, batch_size=4, num_classes=2
        ),
    )
    seen = torch.cat(net.seen)
    assert seen.shape == (16, 3, 4, 4)
    selection, estimation = seen[:5], seen[5:]
    # Independent redraw: one generator per set, seeded from the documented derived seeds.
    for got, stream, count in (
        (selection, "selection/noise", 5),
        (estimation, "estimation/noise", 11),
    ):
        gen = noise_generator(seed=derive_seed(7, stream))
        want = torch.cat(
            [
                add_gaussian_noise(clean, num=min(4, count - s), sigma=0.3, generator=gen)
                for s in range(0, count, 4)
            ]
        )
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    # No selection noise tensor appears among the estimation draws ...
    dist = torch.cdist(selection.flatten(1), estimation.flatten(1))
    assert float(dist.min()) > 0.1
    # ... nor are the estimation draws the continuation of the selection stream.
    gen = noise_generator(seed=derive_seed(7, "selection/noise"))
    add_gaussian_noise(clean, num=5, sigma=0.3, generator=gen)
    continued = add_gaussian_noise(clean, num=11, sigma=0.3, generator=gen)
    assert not torch.allclose(continued, estimation)
    # Labels are the classifier's own ids (sign of the mean noise), recomputed here.
    want_labels = ((seen - 0.5).flatten(1).mean(1) > 0).long()
    assert torch.cat([res.selection_labels, res.estimation_labels]).tolist() == want_labels.tolist()
    assert res.class_names is None and res.selection_texts is None
    _assert_certificate_matches(res, alpha=0.001, sigma=0.3)


def test_same_seed_same_result_and_another_seed_other_noise():
    clean = _image(2, (4, 4))
    runs = {}
    for seed in (0, 0, 1):
        net = Recorder()
        res = certify(
            ImageClassifier(net),
            clean,
            config=CertifyConfig(
                n0=4, n=8, sigma=0.5, alpha=0.01, seed=seed, batch_size=3, num_classes=2
            ),
        )
        runs.setdefault(seed, []).append((torch.cat(net.seen), res))
    (a, ra), (b, rb) = runs[0]
    ((c, _),) = runs[1]
    assert torch.equal(a, b)
    assert ra.selection_labels.tolist() == rb.selection_labels.tolist()
    assert ra.estimation_labels.tolist() == rb.estimation_labels.tolist()
    assert float(ra.certificate.p_lower) == float(rb.certificate.p_lower)
    assert not torch.allclose(a, c)


def test_sampled_decoding_is_reproducible_from_the_seed(tiny_llava_15_path):
    vlm = VLM.from_pretrained(
        tiny_llava_15_path, device="cpu", decoding=DecodingConfig(do_sample=True, max_new_tokens=4)
    )
    kw = dict(n0=3, n=6, sigma=0.25, alpha=0.01, batch_size=3, keep_texts=True)
    a = certify(vlm, _image(), PROMPT, oracle=FirstWord(), config=CertifyConfig(seed=5, **kw))
    b = certify(vlm, _image(), PROMPT, oracle=FirstWord(), config=CertifyConfig(seed=5, **kw))
    c = certify(vlm, _image(), PROMPT, oracle=FirstWord(), config=CertifyConfig(seed=6, **kw))
    assert a.estimation_texts == b.estimation_texts and a.selection_texts == b.selection_texts
    assert (a.selection_texts, a.estimation_texts) != (c.selection_texts, c.estimation_texts)
    assert len(set(a.seeds.values())) == 4


def test_semantic_clusterer_selection_defines_the_clusters(vlm15):
    def embed(texts):  # the first word decides the direction
        return torch.stack([torch.eye(4)[len((t.split() or [""])[0]) % 4] for t in texts])

    clusterer = SemanticClusterer(embed, method="embedding", threshold=0.99)
    res = certify(
        vlm15,
        _image(3),
        PROMPT,
        oracle=clusterer,
        config=CertifyConfig(
            n0=6, n=10, sigma=0.5, alpha=0.01, seed=0, batch_size=5, keep_texts=True
        ),
    )
    selected = clusterer.select(list(res.selection_texts))
    assert res.selection_labels.tolist() == selected.selection_labels.tolist()
    # Each estimation text labelled on its own against the selection clusters.
    assert res.estimation_labels.tolist() == [int(selected([t])[0]) for t in res.estimation_texts]
    assert res.class_names == selected.labels and res.num_classes == selected.num_classes
    assert res.top_class == 0
    _assert_certificate_matches(res, alpha=0.01, sigma=0.5)


def test_oracle_correction_is_passed_to_rstheory(vlm15):
    kw = dict(n0=4, n=8, sigma=0.5, alpha=0.01, seed=1, batch_size=4)

    def cfg(oracle_error):
        return CertifyConfig(oracle_error=oracle_error, **kw)

    res = certify(vlm15, _image(), PROMPT, oracle=FirstWord(), config=cfg(0.1))
    _assert_certificate_matches(res, alpha=0.01, sigma=0.5, oracle_error=0.1, num_classes=3)
    assert res.certificate.correction == "symmetric"
    res = certify(vlm15, _image(), PROMPT, oracle=FirstWord(), config=cfg("unknown"))
    _assert_certificate_matches(res, alpha=0.01, sigma=0.5, oracle_error="unknown", num_classes=3)
    bound = rstheory.oracle.estimate_error(1, 50, alpha=0.01)
    res = certify(vlm15, _image(), PROMPT, oracle=FirstWord(), config=cfg(bound))
    _assert_certificate_matches(res, alpha=0.01, sigma=0.5, oracle_error=bound, num_classes=3)
    assert float(res.certificate.alpha_spent) == pytest.approx(0.02)
    # OracleErrorRates: the per-class rates of the selected class.
    judge = RefusalJudge()
    texts = ["I'm sorry, no.", "Sure.", "I cannot.", "Here you go.", "Step 1", "As an AI, no."]
    rates = error_rates(judge, texts, [0, 1, 0, 1, 1, 0], alpha=0.05)
    res = certify(vlm15, _image(), PROMPT, oracle=judge, config=cfg(rates))
    _assert_certificate_matches(
        res, alpha=0.01, sigma=0.5, oracle_error=rates.rates_for(res.top_class)
    )
    assert res.certificate.correction == "asymmetric_estimated"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n0=0), "n0 must be an integer >= 1"),
        (dict(n=2.5), "n must be an integer >= 1"),
        (dict(sigma=0.0), r"sigma must lie in \(0, inf\)"),
        (dict(alpha=1.0), r"alpha must lie in \(0, 1\)"),
        (dict(seed=-1), "seed must be an integer"),
        (dict(oracle=None), "oracle is required"),
        (dict(oracle_error="bad"), "oracle_error must be"),
    ],
)
def test_bad_arguments_are_refused(vlm15, kwargs, match):
    kw = {**dict(n0=2, n=2, sigma=0.25, alpha=0.01, seed=0, batch_size=2), **kwargs}
    oracle = kw.pop("oracle", FirstWord())
    with pytest.raises(ValueError, match=match):
        certify(vlm15, _image(), PROMPT, oracle=oracle, config=CertifyConfig(**kw))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(oracle_eps=0.1, oracle_rates=rstheory.oracle.ErrorBound(0.1, 0.0)), "at most one"),
        (dict(oracle_rates="bad"), "oracle_rates must be"),
    ],
)
def test_the_01_oracle_keywords_are_checked_too(vlm15, kwargs, match):
    base = dict(oracle=FirstWord(), n0=2, n=2, sigma=0.25, alpha=0.01, seed=0, batch_size=2)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match=match):
        certify(vlm15, _image(), PROMPT, **{**base, **kwargs})


def test_a_classifier_takes_no_oracle():
    clf = ImageClassifier(Recorder())
    with pytest.raises(ValueError, match="oracle must be None"):
        certify(
            clf,
            _image(0, (4, 4)),
            oracle=FirstWord(),
            config=CertifyConfig(n0=2, n=2, sigma=0.25, alpha=0.01, seed=0),
        )


def test_derive_seed_is_a_fixed_function_of_its_arguments():
    # sha256('[0,"selection/noise"]')[:8] >> 1, computed here by hand.
    import hashlib

    digest = hashlib.sha256(b'[0,"selection/noise"]').digest()
    assert derive_seed(0, "selection/noise") == int.from_bytes(digest[:8], "big") >> 1
    seeds = {derive_seed(s, t) for s in range(3) for t in ("selection/noise", "estimation/noise")}
    assert len(seeds) == 6 and all(0 <= s < 2**63 for s in seeds)
