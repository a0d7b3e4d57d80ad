"""Tests of campaigns with the sequential rule (``CertifyConfig(sequential=SequentialRule(...))``
in sampler.run.run): each row is the stop of sampler.certify.certify on its input (checked
against certify itself and against a fixed-n campaign of the same seed: the estimation
draws are a prefix), the rule in the configuration hash, the look spacing (a multiple of
batch_size, with the prefix property), the row schema on resume, error rows and
--retry-errors, the writer's samples, the refusal of the rows as pilot counts, and the
rule's guarantee under data-dependent stopping on a stub classifier whose p_A is known
exactly. All on a classifier of one pixel's sign: fast, no VLM."""

import json

import numpy as np
import pytest
import scipy.stats
import torch
from PIL import Image

from sampler._campaign import Writer
from sampler._config import jsonable
from sampler.certify import CertifyConfig, SequentialRule, certify
from sampler.models import ImageClassifier
from sampler.run import load_counts, load_image, read_rows, run, run_config

SIGMA = 0.5
# Pixel (0, 0, 0) of each image: the class is 1 when that pixel, noisy, exceeds 1/2, so
# p(class 1) = Phi((v - 1/2) / sigma): v = 255 gives 0.84 (certifies radius 0.1, p* = 0.58),
# v = 128 gives 0.50 (futility), v = 160 gives 0.62 (close to p*: a long run).
PIXELS = {"a.png": 255, "b.png": 128, "c.png": 160, "d.png": 0}


class PixelSign(torch.nn.Module):
    """Class 1 iff the noisy pixel (0, 0, 0) exceeds 1/2, else class 0."""

    def forward(self, x):
        s = x[:, 0, 0, 0] - 0.5
        return torch.stack([-s, s], dim=1)


MODEL = ImageClassifier(PixelSign())


def _rule(radius=0.1, n_max=400, **kw):
    return SequentialRule(radius=radius, n_max=n_max, **kw)


def _config(**kw):
    fields = dict(n0=5, sigma=SIGMA, seed=0, alpha=0.01, batch_size=20, sequential=_rule())
    return CertifyConfig(**{**fields, **kw})


def _save(path, value):
    pixels = np.full((4, 4, 3), 90, dtype=np.uint8)
    pixels[0, 0, 0] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


@pytest.fixture
def images(tmp_path):
    root = tmp_path / "images"
    for name, value in PIXELS.items():
        _save(root / name, value)
    return root


def _run(data, out, config=None, **kw):
    config = _config() if config is None else config
    return run(MODEL, data, out, config=config, model_name="pixel-sign", progress=False, **kw)


def test_each_row_is_the_stop_of_certify_and_a_prefix_of_a_fixed_n_campaign(images, tmp_path):
    cfg = _config()
    summary = _run(images, tmp_path / "seq.jsonl", cfg)
    rows = read_rows(tmp_path / "seq.jsonl")
    assert (summary.ok, summary.errors) == (4, 0)
    assert {r["stop_reason"] for r in rows} >= {"certified", "futility"}
    for row in rows:
        res = certify(
            MODEL,
            load_image((images / row["id"]).read_bytes()),
            config=cfg.replace(seed=row["seed"]),
        )
        assert {key: row[key] for key in res.summary()} == jsonable(res.summary())
        assert row["samples"] == 5 + row["n"] and row["n"] <= 400
        assert row["n"] == 400 or row["n"] % 20 == 0
        assert row["certified"] == (row["stop_reason"] == "certified")
        assert row["p_lower"] <= row["p_upper"]
        assert len(row["estimation_labels"]) == row["n"] == sum(row["estimation_counts"])
        assert not {"q_lower", "abstained", "alpha_spent", "correction"} & set(row)
    assert rows[0]["config"]["sequential"] == {
        "radius": 0.1,
        "n_max": 400,
        "prior": None,
        "look_every": 20,
    }
    # The same campaign with a fixed n = n_max draws the same noise: each sequential row's
    # draws are the first n of the fixed-n row's, and the selection is the same.
    _run(images, tmp_path / "fixed.jsonl", _config(n=400, sequential=None))
    fixed = {r["id"]: r for r in read_rows(tmp_path / "fixed.jsonl")}
    for row in rows:
        other = fixed[row["id"]]
        assert row["seed"] == other["seed"] and row["top_class"] == other["top_class"]
        assert row["selection_labels"] == other["selection_labels"]
        assert row["estimation_labels"] == other["estimation_labels"][: row["n"]]
    # The sequential rule stops early: fewer samples than the fixed campaign.
    assert sum(r["samples"] for r in rows) < sum(r["n0"] + r["n"] for r in fixed.values())


def test_the_rule_is_in_the_configuration_hash():
    def chash(**kw):
        from sampler.run import config_hash

        return config_hash(run_config(MODEL, config=_config(**kw), model_name="pixel-sign"))

    base = chash()
    assert chash(sequential=_rule(look_every=20)) == base  # the default spacing, spelt out
    others = [
        chash(sequential=_rule(radius=0.2)),
        chash(sequential=_rule(n_max=200)),
        chash(sequential=_rule(prior=(2.0, 1.0))),
        chash(sequential=_rule(look_every=40)),
        chash(n=400, sequential=None),
    ]
    assert len({base, *others}) == 1 + len(others)


def test_the_look_spacing_is_a_multiple_of_batch_size_and_keeps_the_prefix_property():
    with pytest.raises(ValueError, match=r"look_every must be a multiple of batch_size = 20"):
        _config(sequential=_rule(look_every=30))
    with pytest.raises(ValueError, match=r"look_every must be an integer >= 1, got 0"):
        _rule(look_every=0)
    img = load_image(_png_bytes(160))
    seq = certify(MODEL, img, config=_config(sequential=_rule(n_max=1000, look_every=60)))
    assert seq.look_every == 60 and (seq.n == 1000 or seq.n % 60 == 0)
    assert seq.boundaries.checkpoints[:2].tolist() == [60, 120]
    fixed = certify(MODEL, img, config=_config(n=1000, sequential=None))
    assert torch.equal(seq.selection_labels, fixed.selection_labels)
    assert torch.equal(seq.estimation_labels, fixed.estimation_labels[: seq.n])


def _png_bytes(value):
    import io

    pixels = np.full((4, 4, 3), 90, dtype=np.uint8)
    pixels[0, 0, 0] = value
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def test_resume_error_rows_and_retry_errors(images, tmp_path):
    out = tmp_path / "rows.jsonl"
    (images / "broken.png").write_bytes(b"not a png")
    first = _run(images, out, limit=3)
    assert (first.ok, first.errors, first.skipped) == (2, 1, 0)
    error = next(r for r in read_rows(out) if r["status"] == "error")
    assert error["id"] == "broken.png"
    assert error["stop_reason"] is None and error["samples"] is None and error["n"] is None
    again = _run(images, out)
    assert (again.ok, again.errors, again.skipped) == (2, 0, 3)
    _save(images / "broken.png", 255)
    retried = _run(images, out, retry_errors=True)
    assert (retried.ok, retried.errors, retried.skipped) == (1, 0, 4)
    rows = read_rows(out)
    assert sorted(r["id"] for r in rows) == sorted([*PIXELS, "broken.png"])
    assert all(r["status"] == "ok" and r["stop_reason"] is not None for r in rows)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"samples": 3}, "samples"),
        ({"stop_reason": "done"}, "stop_reason"),
        ({"certified": "yes"}, "certified"),
        ({"looks": 0}, "looks"),
        ({"p_lower": 1.5}, "p_lower"),
        ({"radius": None}, "radius"),
        ({"stop_reason": None}, "stop_reason"),
    ],
)
def test_a_bad_sequential_row_is_refused_on_resume_naming_file_line_and_field(
    images, tmp_path, change, field
):
    out = tmp_path / "rows.jsonl"
    _run(images, out, limit=2)
    lines = out.read_text().splitlines()
    row = {**json.loads(lines[1]), **change}
    out.write_text(lines[0] + "\n" + json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=rf"rows\.jsonl:2: field '{field}'"):
        _run(images, out)
    # A row of a sequential configuration without its stop fields is refused too.
    row = json.loads(lines[1])
    del row["stop_reason"]
    out.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match=r"rows\.jsonl:1: field 'stop_reason' is missing"):
        _run(images, out)


def test_the_writer_counts_the_samples_each_row_drew(tmp_path):
    rows = [
        {"id": "a", "status": "ok", "n0": 5, "n": 40, "timings": {}},
        {"id": "b", "status": "ok", "n0": 5, "n": 400, "timings": {}},
        {"id": "c", "status": "error", "n0": 5, "n": None, "timings": {}},
        {"id": "a", "status": "ok", "n0": 5, "n": 40, "timings": {}},  # a retried duplicate
    ]
    with Writer(tmp_path / "w.jsonl", 3, False) as writer:
        written = [writer.write(dict(r)) for r in rows]
    assert written == [True, True, True, False]
    assert (writer.ok, writer.errors, writer.samples) == (2, 1, 45 + 405)


def test_sequential_rows_are_no_pilot_counts_unless_asked(images, tmp_path):
    out = tmp_path / "rows.jsonl"
    _run(images, out)
    with pytest.raises(
        ValueError,
        match=r"rows\.jsonl:1: a row of the sequential rule .*"
        r"not an unbiased pilot of p_A.*stopping='likelihood'",
    ):
        load_counts(out)
    k, n = load_counts(out, stopping="likelihood")
    rows = read_rows(out)
    assert k.tolist() == [r["k"] for r in rows] and n.tolist() == [r["n"] for r in rows]
    with pytest.raises(ValueError, match="stopping must be one of 'fixed', 'likelihood'"):
        load_counts(out, stopping="prefix")


def test_the_deprecated_flat_keywords_run_a_sequential_campaign(images, tmp_path):
    with pytest.warns(DeprecationWarning, match="config=CertifyConfig"):
        summary = run(
            MODEL,
            images,
            tmp_path / "rows.jsonl",
            n0=5,
            sigma=SIGMA,
            seed=0,
            batch_size=20,
            radius=0.1,
            n_max=100,
            model_name="pixel-sign",
            progress=False,
        )
    assert summary.ok == 4
    assert all(r["stop_reason"] for r in read_rows(tmp_path / "rows.jsonl"))


# -- the guarantee under data-dependent stopping -------------------------------------------

# A false failure of this test (the rule sound, the count above the bound) has probability
# at most FALSE_FAILURE: the count of a sound rule is stochastically below Binomial(N, alpha).
FALSE_FAILURE = 1e-6


def test_the_guarantee_holds_under_data_dependent_stopping():
    """With probability >= 1 - alpha the reported p_lower is below the true p_A of the
    selected class, however the stop was reached; in particular a radius >= target is
    certified while p_A < p* with probability <= alpha. Over N inputs whose p_A lies just
    below p* (the hardest case for a false certificate), both failure counts must stay
    below the upper (1 - FALSE_FAILURE) quantile of Binomial(N, alpha) (scipy). The same
    count for the naive rule (the fixed-n Clopper-Pearson bound re-checked at each look,
    on the same draws) exceeds it: the test can fail."""
    alpha, radius, n_max, looks = 0.1, 0.5, 400, 10
    p_star = float(scipy.stats.norm.cdf(radius / SIGMA))
    cfg = CertifyConfig(
        n0=5,
        sigma=SIGMA,
        seed=0,
        alpha=alpha,
        batch_size=looks,
        sequential=SequentialRule(radius=radius, n_max=n_max),
    )
    fixed_cfg = cfg.replace(sequential=None, n=n_max)
    count = 600
    rng = np.random.default_rng(0)
    p_true = rng.uniform(p_star - 0.01, p_star - 0.001, size=count)  # p(class 1)
    false_cert = below = naive_false_cert = 0
    checkpoints = np.arange(looks, n_max + 1, looks)
    for i, p in enumerate(p_true):
        img = torch.full((3, 2, 2), 0.3)
        img[0, 0, 0] = 0.5 + SIGMA * float(scipy.stats.norm.ppf(p))  # Phi((v - 1/2)/sigma) = p
        seq = certify(MODEL, img, config=cfg.replace(seed=i))
        p_a = p if seq.top_class == 1 else 1.0 - p
        false_cert += bool(seq.certified and p_a < p_star)
        below += bool(seq.p_lower > p_a)
        # The naive rule on the same draws (prefix property): certify at the first look
        # whose one-sided Clopper-Pearson lower bound at level alpha reaches p*.
        fixed = certify(MODEL, img, config=fixed_cfg.replace(seed=i))
        k = np.cumsum(fixed.estimation_labels.numpy() == fixed.top_class)[checkpoints - 1]
        lower = scipy.stats.beta.ppf(alpha, k, checkpoints - k + 1)  # nan at k = 0
        p_naive = p if fixed.top_class == 1 else 1.0 - p
        naive_false_cert += bool(np.any(np.nan_to_num(lower) >= p_star) and p_naive < p_star)
    bound = scipy.stats.binom.ppf(1.0 - FALSE_FAILURE, count, alpha)
    assert false_cert <= bound and below <= bound, (false_cert, below, bound)
    assert naive_false_cert > bound, (naive_false_cert, bound)
