"""Tests of ``run(..., in_flight=M)``: a campaign whose inputs' copies share model calls
(sampler._packing) writes the rows of the one-by-one campaign (compared by id, on a stub
classifier and the tiny LLaVA, fixed n and sequential), under the same configuration
hash; a packed run interrupted mid-way resumes to those rows; the progress bar shows the
batch fill and the summary the packing stats; ``in_flight`` is checked."""

import pytest
import torch

from sampler.certify import CertifyConfig, SequentialRule
from sampler.models import DecodingConfig
from sampler.run import read_rows, run
from tests.sampler._campaign_stubs import (
    PROMPT,
    FirstWord,
    interrupt_writes,
    rows_by_id,
    run_classifier,
    save_images,
)

CLF_FIXED = CertifyConfig(n0=5, n=19, sigma=0.5, alpha=0.01, seed=0, batch_size=8, num_classes=3)
CLF_SEQUENTIAL = CertifyConfig(
    n0=5,
    sigma=0.5,
    seed=0,
    batch_size=8,
    num_classes=3,
    sequential=SequentialRule(radius=0.05, n_max=48),
)
VLM_FIXED = CertifyConfig(n0=3, n=5, sigma=0.5, alpha=0.01, seed=0, batch_size=4)
VLM_SEQUENTIAL = CertifyConfig(
    n0=3, sigma=0.5, seed=0, batch_size=4, sequential=SequentialRule(radius=0.05, n_max=12)
)


@pytest.fixture
def images(tmp_path):
    return save_images(tmp_path, 7)


@pytest.mark.parametrize("config", [CLF_FIXED, CLF_SEQUENTIAL], ids=["fixed", "sequential"])
def test_classifier_rows_equal_the_one_by_one_campaign(images, tmp_path, config):
    torch.set_num_threads(1)
    one = run_classifier(images, tmp_path / "one.jsonl", config)
    packed = run_classifier(images, tmp_path / "packed.jsonl", config, in_flight=4)
    want = rows_by_id(tmp_path / "one.jsonl")
    assert packed.config_hash == one.config_hash and (packed.ok, packed.errors) == (7, 0)
    assert rows_by_id(tmp_path / "packed.jsonl") == want
    assert len({tuple(r["estimation_labels"]) for r in want.values()}) > 1  # noise matters
    assert one.packing is None
    stats = packed.packing
    assert stats["copies"] == sum(r["n0"] + r["n"] for r in want.values())
    assert stats["batch_size"] == 8 and stats["fill"] == stats["copies"] / (8 * stats["calls"])
    # Fewer calls than the one-by-one loop, whose calls are one per request.
    assert stats["calls"] < stats["requests"]


@pytest.mark.parametrize("config", [CLF_FIXED, CLF_SEQUENTIAL], ids=["fixed", "sequential"])
def test_an_interrupted_packed_run_resumes_to_the_one_by_one_rows(
    images, tmp_path, monkeypatch, config
):
    """A write that raises KeyboardInterrupt (the third row) stops the packed campaign; the
    rows written stay, the ones done but not written are run again by the resume."""
    run_classifier(images, tmp_path / "one.jsonl", config)
    out = tmp_path / "packed.jsonl"
    seen = interrupt_writes(monkeypatch, at=3)
    with pytest.raises(KeyboardInterrupt):
        run_classifier(images, out, config, in_flight=3)
    assert [r["id"] for r in read_rows(out)] == seen[:2]
    monkeypatch.undo()
    summary = run_classifier(images, out, config, in_flight=3)
    assert (summary.skipped, summary.ok) == (2, 5)
    assert rows_by_id(out) == rows_by_id(tmp_path / "one.jsonl")


@pytest.mark.parametrize("config", [VLM_FIXED, VLM_SEQUENTIAL], ids=["fixed", "sequential"])
def test_vlm_rows_equal_the_one_by_one_campaign(vlm15, images, tmp_path, config):
    torch.set_num_threads(1)
    config = config.replace(keep_texts=True, decoding=DecodingConfig(max_new_tokens=6))
    kw = dict(
        config=config,
        oracle=FirstWord(),
        oracle_name="first-word",
        prompt=PROMPT,
        progress=False,
        limit=4,
    )
    one = run(vlm15, images, tmp_path / "one.jsonl", **kw)
    packed = run(vlm15, images, tmp_path / "packed.jsonl", in_flight=4, **kw)
    assert packed.config_hash == one.config_hash and packed.ok == one.ok == 4
    assert rows_by_id(tmp_path / "packed.jsonl") == rows_by_id(tmp_path / "one.jsonl")
    assert packed.packing["calls"] < packed.packing["requests"]


def test_the_bar_shows_the_fill_and_the_summary_the_stats(images, tmp_path, capsys):
    summary = run_classifier(images, tmp_path / "rows.jsonl", CLF_FIXED, progress=True, in_flight=7)
    err = capsys.readouterr().err
    assert f"fill={summary.packing['fill']:.2f}" in err
    assert set(summary.packing) >= {"calls", "copies", "requests", "fill", "sizes"}
    run_classifier(images, tmp_path / "one.jsonl", CLF_FIXED, progress=True)
    assert "fill=" not in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_in_flight_is_checked_before_anything_runs(images, tmp_path, bad):
    out = tmp_path / "rows.jsonl"
    with pytest.raises(ValueError, match=r"in_flight must be an integer >= 1"):
        run_classifier(images, out, CLF_FIXED, in_flight=bad)
    assert not out.exists()
