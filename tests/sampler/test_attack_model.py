"""Tests that an attack campaign attacks the model that certified its rows
(:mod:`sampler._attack_model`): certify rows of another tiny LLaVA (other weights) are
refused whichever of the two is attacked, the same weights saved to two folders are one
model (identity, not spelling), and a resumed attack file of another model, another
certify run or an older release is refused, while its rows stay readable."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from sampler import CertifyConfig
from sampler.__main__ import main
from sampler._noise import PixelNormalization
from sampler.attack import AttackConfig, attack_campaign, read_attack_rows, summarize
from sampler.models import VLM, DecodingConfig, ImageClassifier
from sampler.oracles import RefusalJudge
from sampler.run import read_rows, run
from sampler.tiny import build_tiny_llava

DECODING = DecodingConfig(max_new_tokens=6)  # as the tiny VLMs of conftest.py
CHEAP = AttackConfig(eps=(0.1,), against=("base",), steps=1, draws=1)


def _images(folder, count, *, size=16):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)).save(
            folder / f"{i}.png"
        )
    return folder


def _certify(model, images, out, *, sigma=0.25, oracle=None, prompt=None):
    cfg = CertifyConfig(n0=4, n=20, sigma=sigma, alpha=0.05, seed=0, batch_size=10)
    run(
        model, images, out, config=cfg, oracle=oracle, prompt=prompt, progress=False,
        oracle_name=None if oracle is None else "refusal",
    )  # fmt: skip
    rows = read_rows(out)
    for r in rows:  # the radius is not what these tests check: every input is certified
        r.update(abstained=False, radius=max(float(r["radius"] or 0), 0.05))
    return rows


def test_rows_and_files_are_tied_to_the_model(tmp_path, tiny_llava_15_path, vlm15, capsys):
    other = VLM.from_pretrained(
        build_tiny_llava(tmp_path / "other", seed=1), device="cpu", decoding=DECODING
    )
    copy = VLM.from_pretrained(
        shutil.copytree(tiny_llava_15_path, tmp_path / "copy" / "llava"),
        device="cpu",
        decoding=DECODING,
    )
    assert copy.name_or_path != vlm15.name_or_path
    images, judge = _images(tmp_path / "imgs", 1), RefusalJudge()
    kw = {"oracle": judge, "prompt": "What is this?"}
    rows_a = _certify(vlm15, images, tmp_path / "a.jsonl", **kw)
    rows_b = _certify(other, images, tmp_path / "b.jsonl", **kw)
    out = tmp_path / "attack.jsonl"
    # other weights: refused both ways, before anything is written
    for model, rows in ((other, rows_a), (vlm15, rows_b)):
        with pytest.raises(ValueError, match=r"^rows: certified by another model .*files"):
            attack_campaign(model, rows, out, config=CHEAP, oracle=judge, progress=False)
    assert not out.exists()
    # the same weights from another folder: accepted, and the file resumes
    first = attack_campaign(copy, rows_a, out, config=CHEAP, oracle=judge, progress=False)
    assert first.written == 1 and first.errors == 0
    again = attack_campaign(vlm15, rows_a, out, config=CHEAP, oracle=judge, progress=False)
    assert (again.written, again.skipped) == (0, 1)
    (row,) = read_attack_rows(out)
    assert row["certify_hash"] == rows_a[0]["config_hash"]
    assert row["attacked_model"]["model"] == vlm15.identity
    # the file is refused to the other model (with its own rows) and to another certify run
    with pytest.raises(ValueError, match=r"^out: .* rows of another model"):
        attack_campaign(other, rows_b, out, config=CHEAP, oracle=judge, progress=False)
    rows_a2 = _certify(vlm15, images, tmp_path / "a2.jsonl", sigma=0.5, **kw)
    with pytest.raises(ValueError, match=r"^out: .* rows of another certify run"):
        attack_campaign(vlm15, rows_a2, out, config=CHEAP, oracle=judge, progress=False)
    # the command line: exit code 2 and the message, nothing written
    (tmp_path / "rows_a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows_a))
    cli = ["attack", "--rows", str(tmp_path / "rows_a.jsonl"), "--out", str(tmp_path / "cli.jsonl")]
    cli += ["--eps", "0.1", "--against", "base", "--steps", "1", "--quiet"]
    assert main([*cli, "--model", str(tmp_path / "other")]) == 2
    assert "error: rows: certified by another model" in capsys.readouterr().err
    assert not (tmp_path / "cli.jsonl").exists()
    with pytest.raises(ValueError, match=r"^rows: certify rows of 2 certify runs"):
        attack_campaign(
            vlm15, rows_a + rows_a2, tmp_path / "x.jsonl", config=CHEAP, oracle=judge,
            progress=False,
        )  # fmt: skip


def _linear(seed):
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48, 3))
    torch.nn.init.normal_(net[1].weight, generator=torch.Generator().manual_seed(seed))
    return net


def test_models_in_memory_and_older_files(tmp_path):
    clf = ImageClassifier(_linear(0))
    rows = _certify(clf, _images(tmp_path / "imgs", 2, size=4), tmp_path / "c.jsonl")
    out = tmp_path / "attack.jsonl"
    # what a model in memory shows: its class and its normalization
    other_norm = ImageClassifier(_linear(0), normalization=PixelNormalization(std=(0.5,) * 3))
    with pytest.raises(ValueError, match=r"^rows: .*normalization"):
        attack_campaign(other_norm, rows, out, config=CHEAP, progress=False)
    with pytest.raises(ValueError, match=r'^rows: .*model_class "Sequential" against "Linear"'):
        attack_campaign(ImageClassifier(torch.nn.Linear(48, 3)), rows, out, config=CHEAP)
    # other weights of one class cannot be told apart in memory (documented): accepted
    done = attack_campaign(ImageClassifier(_linear(1)), rows, out, config=CHEAP, progress=False)
    assert done.written == 2
    # a file written before rows recorded the model: read, summarized, not resumed
    old = [{k: v for k, v in r.items() if k not in ("attacked_model", "certify_hash")}
           for r in read_attack_rows(out)]  # fmt: skip
    legacy = tmp_path / "legacy.jsonl"
    legacy.write_text("".join(json.dumps(r) + "\n" for r in old))
    assert read_attack_rows(legacy) == old
    assert summarize(old) == summarize(read_attack_rows(out))
    with pytest.raises(ValueError, match=r"^out: .*legacy.jsonl:1: a row written without"):
        attack_campaign(clf, rows, legacy, config=CHEAP, progress=False)
