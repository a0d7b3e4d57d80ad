"""Tests of :func:`sampler.predict.predict` on the tiny LLaVA (the answer's rule, abstain)
and of ``python -m sampler predict`` (the same result as the function; bad arguments exit 2
before torch is imported)."""

import json
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from sampler import CertifyConfig
from sampler.__main__ import main
from sampler.oracles import RefusalJudge
from sampler.predict import predict

from .conftest import TEST_DECODING

PROMPT = "what is in the picture?"


def _image():
    return torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_answer_is_the_first_text_of_the_returned_class(vlm15):
    oracle = RefusalJudge()
    cfg = CertifyConfig(n0=1, n=8, sigma=0.25, alpha=0.05, seed=0, batch_size=4, keep_texts=True)
    res = predict(vlm15, _image(), PROMPT, config=cfg, oracle=oracle)
    labels = oracle(list(res.texts))
    assert torch.equal(res.labels, labels) and int(res.counts.sum()) == 8
    if not res.abstain:
        first = res.labels.tolist().index(res.top_class)
        assert res.answer == res.texts[first]
        assert int(oracle([res.answer])[0]) == res.top_class
    one = predict(vlm15, _image(), PROMPT, config=cfg.replace(n=1), oracle=oracle)
    # One vote against none: p-value 1 > alpha, so PREDICT abstains and gives no answer.
    assert one.abstain and one.answer is None and one.p_value == 1.0


def test_cli_json_matches_the_function(tiny_llava_15_path, tmp_path, capsys, vlm15):
    path = tmp_path / "x.png"
    Image.fromarray((_image().permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(path)
    argv = ["predict", "--model", str(tiny_llava_15_path), "--image", str(path)]
    argv += ["--prompt", PROMPT, "--n", "6", "--sigma", "0.25", "--alpha", "0.05"]
    argv += ["--oracle", "refusal", "--seed", "3", "--batch-size", "3", "--device", "cpu"]
    argv += ["--max-new-tokens", str(TEST_DECODING.max_new_tokens), "--quiet", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    from sampler._datasets import load_image

    cfg = CertifyConfig(n0=1, n=6, sigma=0.25, alpha=0.05, seed=3, batch_size=3)
    res = predict(vlm15, load_image(path.read_bytes()), PROMPT, config=cfg, oracle=RefusalJudge())
    assert {k: out[k] for k in res.summary()} == json.loads(json.dumps(res.summary()))


def test_cli_bad_arguments_exit_2_without_torch(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    code = (
        "import sys\n"
        "from sampler.__main__ import main\n"
        "base = ['predict', '--model', sys.argv[1], '--n', '5', '--sigma', '0.25',\n"
        "        '--oracle', 'refusal', '--seed', '0']\n"
        "codes = []\n"
        "for extra in (['--image', sys.argv[2]], ['--image', sys.argv[1] + '/none.png'],\n"
        "              ['--image', sys.argv[2], '--alpha', '1.5']):\n"
        "    try:\n"
        "        codes.append(main(base + extra))\n"
        "    except SystemExit as e:\n"
        "        codes.append(e.code)\n"
        "print(codes, 'torch' in sys.modules)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(bad)], capture_output=True, text=True
    )
    assert run.stdout.split() == ["[2,", "2,", "2]", "False"], run.stderr
    assert "--image" in run.stderr and "--alpha" in run.stderr
