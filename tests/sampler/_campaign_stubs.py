"""The stub setup that the campaign tests share (``test_run*.py``, ``test_ray_backend.py``,
``test_collect_predict.py``, ...): the stub oracle :class:`FirstWord` and its prompt, a
random PNG writer and a folder of them, the seeded stub linear classifier and its
campaigns, the rows of a file without their timings (by id, or in order), a writer that
raises ``KeyboardInterrupt`` at a given row, and the command line of a ``collect`` of the
tiny model with its environment.

The Ray tests send :class:`FirstWord` (and their subclasses of it) to the workers by value:
they register this module with ``ray.cloudpickle.register_pickle_by_value``, since the
workers cannot import test modules by name.
"""

import os

import numpy as np
import torch
from PIL import Image

import sampler._campaign as campaign_module
from sampler.certify import CertifyConfig
from sampler.run import read_rows, run

__all__ = [
    "CLASSIFIER_NAME",
    "COLLECT_OPTIONS",
    "FAST_CONFIG",
    "PROMPT",
    "FirstWord",
    "collect_argv",
    "interrupt_writes",
    "linear_classifier",
    "offline_env",
    "rows_by_id",
    "run_classifier",
    "run_fast_classifier",
    "save_images",
    "save_png",
    "strip_timings",
]

PROMPT = "what is in the picture?"

#: The model name of the stub classifier's campaigns (part of the configuration hash).
CLASSIFIER_NAME = "linear-8x8"

#: A fast campaign of the stub classifier: 5 + 20 samples an input, 3 classes.
FAST_CONFIG = CertifyConfig(n0=5, n=20, sigma=0.5, alpha=0.01, seed=0, batch_size=8, num_classes=3)


class FirstWord:
    """A stub oracle: class = length of the first word mod 3 (varied on the tiny model)."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)


def save_png(path, seed, size=32):
    """A random ``size x size`` RGB PNG at ``path`` (its folders created), pixels from a
    generator seeded ``seed``."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def linear_classifier():
    """A stub :class:`sampler.models.ImageClassifier`: one linear layer on 8 x 8 images, 3
    classes, every parameter drawn from a generator seeded 0. ``torch.nn.Linear`` draws its
    own initial parameters from the global RNG, whose state depends on the tests run
    before, so two campaigns compared in one test would otherwise use two models."""
    from sampler.models import ImageClassifier

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 3))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in net.parameters():
            param.normal_(generator=gen)
    return ImageClassifier(net, input_size=(8, 8))


def save_images(tmp_path, count):
    """``count`` random 32 x 32 PNGs ``00.png``, ``01.png``, ... (image ``i`` from seed
    ``i``) in ``tmp_path / "images"``, the folder returned."""
    root = tmp_path / "images"
    for i in range(count):
        save_png(root / f"{i:02d}.png", i)
    return root


def run_classifier(data, out, config, *, progress=False, **kw):
    """:func:`sampler.run.run` of a fresh stub classifier (the same parameters in every
    call) on ``data`` into ``out``, without a progress bar unless asked; ``kw`` as
    ``run``'s."""
    return run(
        linear_classifier(),
        data,
        out,
        model_name=CLASSIFIER_NAME,
        progress=progress,
        config=config,
        **kw,
    )


def run_fast_classifier(data, out, **kw):
    """:func:`run_classifier` with :data:`FAST_CONFIG`; ``kw`` as ``run``'s."""
    return run_classifier(data, out, FAST_CONFIG, **kw)


def strip_timings(rows):
    """The rows without their timings (which differ from run to run), in their order."""
    return [{k: v for k, v in r.items() if k != "timings"} for r in rows]


def rows_by_id(out):
    """The rows of ``out`` by id, without their timings (which differ from run to run);
    fails unless each id has exactly one row."""
    rows = read_rows(out)
    assert len({r["id"] for r in rows}) == len(rows)  # one row per input
    return {r["id"]: r for r in strip_timings(rows)}


def interrupt_writes(monkeypatch, *, at=3):
    """Make the campaign writer raise ``KeyboardInterrupt`` on its ``at``-th row (before
    writing it) and write the others; the list of the ids handed to it, in order, which
    grows as the campaign runs. ``monkeypatch.undo()`` restores the writer."""
    write, seen = campaign_module.Writer.write, []

    def interrupting(self, row):
        seen.append(row["id"])
        if len(seen) == at:
            raise KeyboardInterrupt
        return write(self, row)

    monkeypatch.setattr(campaign_module.Writer, "write", interrupting)
    return seen


#: The options of :func:`collect_argv` (``--max-new-tokens`` spelled ``max_new_tokens``).
COLLECT_OPTIONS = {
    "n": 8,
    "n0": 4,
    "sigma": 0.25,
    "oracle": "refusal",
    "seed": 3,
    "max_new_tokens": 4,
    "batch_size": 4,
    "prompt": PROMPT,
    "device": "cpu",
}


def collect_argv(model, data, out, *extra, **options):
    """The arguments of ``python -m sampler collect`` (for :func:`sampler.__main__.main`):
    ``--model``, ``--data`` and ``--out``, then :data:`COLLECT_OPTIONS` with ``options``
    in their place (``None`` leaves one out), then ``extra`` (flags such as ``--quiet``)."""
    argv = ["collect", "--model", str(model), "--data", str(data), "--out", str(out)]
    for key, value in {**COLLECT_OPTIONS, **options}.items():
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    return [*argv, *extra]


def offline_env():
    """The environment of a ``python -m sampler`` subprocess: this one's, on one thread and
    without the network (the hub's cache only)."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
