"""Tests of the VLM objective of :mod:`sampler.attack` on the tiny random LLaVA 1.5 and
1.6: the teacher-forced log-probability against the model's own language-modelling loss
(``labels=``, an independent route through ``transformers``), and the attack and its
judgement end to end (plumbing: the budget holds, both directions, both targets)."""

import pytest
import torch

from sampler import CertifyConfig
from sampler._attack_loss import answer_ids, vlm_scores
from sampler.attack import attack, judge
from sampler.oracles import RefusalJudge

PROMPT = "What is in the image?"


def test_teacher_forced_score_matches_the_lm_loss(vlm):
    image = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(0))
    prepared = vlm.prepare(image, PROMPT)
    text = "sorry cannot help"
    target = answer_ids(vlm, text)
    with torch.no_grad():
        s = vlm_scores(vlm, prepared, text=text)(prepared.pixels[None])
    ids = torch.cat([prepared.inputs["input_ids"], target[None]], dim=1)
    labels = torch.full_like(ids, -100)
    labels[:, -target.numel() :] = target
    others = {k: v for k, v in prepared.inputs.items() if k not in ("input_ids", "attention_mask")}
    with torch.no_grad():
        out = vlm.model(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            pixel_values=vlm.normalization(prepared.pixels[None], dtype=vlm.dtype),
            labels=labels,
            **others,
        )
    assert float(s[0]) == pytest.approx(-float(out.loss) * target.numel(), rel=1e-4)


@pytest.mark.parametrize("direction", ["away", "toward"])
def test_vlm_attack_plumbing(vlm, direction):
    image = torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(1))
    judge_oracle = RefusalJudge()
    clean = vlm.prepare(image, PROMPT)
    text = vlm.predict(clean, clean.pixels[None])[0] if direction == "away" else "Sure, here"
    for against, sigma in (("base", None), ("smoothed", 0.25)):
        res = attack(
            vlm, image, PROMPT, eps=0.5, steps=2, against=against, sigma=sigma, draws=2,
            text=text or "x", direction=direction,
        )  # fmt: skip
        assert res.norm <= 0.5 + 1e-5
        assert 0.0 <= float(res.prepared.pixels.min()) <= float(res.prepared.pixels.max()) <= 1.0
        cfg = None
        if against == "smoothed":
            cfg = CertifyConfig(n0=1, n=4, sigma=0.25, alpha=0.05, seed=0, batch_size=4)
        v = judge(
            vlm, res.prepared, PROMPT, clean_class=0, against=against, config=cfg,
            oracle=judge_oracle,
        )  # fmt: skip
        assert v.predicted in (0, 1) and v.success == (not v.abstain and v.predicted != 0)
    with pytest.raises(ValueError, match="text is required"):
        attack(vlm, image, PROMPT, eps=0.1)
