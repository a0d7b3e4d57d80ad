"""A small LLaVA 1.5 trained on CPU on the toy task of :mod:`sampler._toy_task`, cached.

The model is the real :class:`transformers.LlavaForConditionalGeneration` (a CLIP vision
tower and a Llama language model, built by the same function as
:func:`sampler.tiny.build_tiny_llava`, wider: hidden size 64, and with finer patches: 4 x 4
pixels, 49 image tokens, the last vision layer read) with the word-level tokenizer of
:mod:`sampler._tiny` (its default vocabulary plus the shape words) and the same processor,
chat template and CLIP normalization. It is trained from a seeded initialisation by AdamW
with teacher forcing. The loss is the cross-entropy of the answer tokens and the closing
``</s>`` given the prompt (the chat-formatted question with its image tokens), averaged
over the tokens of each answer and then over the answers: with the mean over all the
tokens of a batch, the one word of a shape answer weighs as little as one of the fifteen
tokens of a refusal, and the shape was not learnt (``docs/measurements/trained_model.md``).
Shape questions are drawn more often than colour questions (:attr:`TrainConfig.shape_rate`),
the colour being learnt in a few dozen steps. Every
step draws fresh images and questions from ``(seed, step)``; with ``train_sigma > 0`` each
image gets Gaussian noise of standard deviation ``train_sigma * u``, ``u ~ U[0, 1]`` per
image, in ``[0, 1]``-pixel units before the normalization (Gaussian data augmentation,
Cohen et al. 2019, Section 3.3 / Appendix: the base classifier is trained under the noise
it is smoothed with), so that the smoothed model of :mod:`sampler.certify` keeps answering.

Determinism: the training runs under :func:`torch.use_deterministic_algorithms`, a fixed
number of CPU threads (:attr:`TrainConfig.threads`) and forked, seeded RNGs; the same
configuration gives the same weights bit for bit on the same torch build and CPU.

Cache: :func:`trained_llava` trains once per machine into
``$RSVLM_CACHE_DIR/trained-llava/<key>`` (else ``$XDG_CACHE_HOME/rsvlm/trained-llava``,
else ``~/.cache/rsvlm/trained-llava``), ``key`` a SHA-256 of the configuration and the
torch and transformers versions. The model is written into a temporary folder beside it
and renamed into place, so an interrupted training leaves no half model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import pathlib
import shutil
import tempfile
import time
from typing import NamedTuple

import numpy as np
import torch

from sampler import _tiny
from sampler._toy_task import QUESTIONS, answer_for, toy_images, toy_questions
from sampler._validation import check_count, check_int, check_real, check_seed

__all__ = [
    "TrainConfig",
    "TrainResult",
    "answer_loss",
    "build_llava",
    "train_llava",
    "trained_llava",
]

# The shape words and the British spelling, added to the tiny tokenizer's vocabulary.
EXTRA_WORDS = ("circle", "square", "triangle", "colour")
_FORMAT = 2  # bump when the training code changes what a configuration produces
STEPS = 2000  # the default number of optimizer steps


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """What a training run depends on (all of it enters the cache key).

    Attributes:
      seed: weight initialisation and data seed, ``>= 0``.
      steps: optimizer steps, ``>= 1``.
      batch_size: images (one question each) per step, ``>= 1``.
      lr: peak AdamW learning rate (linear warm-up over ``warmup`` steps, then cosine decay
        to a tenth), in ``(0, 1]``.
      warmup: warm-up steps, ``>= 0``.
      hidden: hidden size of both towers (4 heads), a multiple of 4 in ``[8, 512]``.
      layers: layers of both towers, in ``[1, 12]``.
      patch_size: side of the vision tower's patches in pixels, a divisor of 28 in
        ``{1, 2, 4, 7, 14, 28}``; ``(28 // patch_size) ** 2`` image tokens.
      train_sigma: largest augmentation noise, ``[0, 1]``-pixel units, ``>= 0``.
      forbidden_rate: share of training images with the forbidden mark, in ``[0, 1]``.
      shape_rate: share of training questions asking for the shape, in ``[0, 1]``.
      threads: CPU threads of the training, in ``[1, 64]``.
    """

    seed: int = 0
    steps: int = STEPS
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 50
    hidden: int = 64
    layers: int = 2
    patch_size: int = 4
    train_sigma: float = 0.25
    forbidden_rate: float = 0.2
    shape_rate: float = 0.7
    threads: int = 1

    def __post_init__(self):
        check_seed(self.seed)
        check_count(self.steps, name="steps")
        check_count(self.batch_size, name="batch_size")
        check_real(self.lr, name="lr", low=0.0, high=1.0, low_open=True)
        check_int(self.warmup, name="warmup", low=0)
        check_int(self.hidden, name="hidden", low=8, high=512)
        if self.hidden % 4:
            raise ValueError(f"hidden must be a multiple of 4, got {self.hidden}")
        check_int(self.layers, name="layers", low=1, high=12)
        check_int(self.patch_size, name="patch_size", low=1, high=_tiny._TINY_IMAGE_SIZE)
        if _tiny._TINY_IMAGE_SIZE % self.patch_size:
            raise ValueError(
                f"patch_size must divide {_tiny._TINY_IMAGE_SIZE}, got {self.patch_size}"
            )
        check_real(self.train_sigma, name="train_sigma", low=0.0)
        check_real(self.forbidden_rate, name="forbidden_rate", low=0.0, high=1.0)
        check_real(self.shape_rate, name="shape_rate", low=0.0, high=1.0)
        check_int(self.threads, name="threads", low=1, high=64)

    def key(self) -> str:
        """SHA-256 (hex, 16 digits) of the configuration, the format and the versions of
        torch and transformers."""
        import transformers

        blob = {
            "config": dataclasses.asdict(self),
            "format": _FORMAT,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
        text = json.dumps(blob, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class TrainResult(NamedTuple):
    """What :func:`train_llava` returns.

    Attributes:
      path: the saved model directory.
      losses: float64 ``(steps,)``, the training loss per step.
      seconds: wall time of the optimisation (building and saving excluded).
    """

    path: pathlib.Path
    losses: np.ndarray
    seconds: float


def build_llava(config: TrainConfig):
    """The untrained model and its processor for ``config`` (seeded by ``config.seed``).

    Returns:
      ``(model, processor)``: a :class:`transformers.LlavaForConditionalGeneration` and its
      :class:`transformers.LlavaProcessor` (28 x 28 images, ``config.patch_size`` patches,
      the last of ``config.layers`` vision layers read).
    """
    tok = _tiny._make_tokenizer(
        (*_tiny.DEFAULT_WORDS, *EXTRA_WORDS), image_token=True, token_types=False
    )
    return _tiny._llava(
        tok,
        seed=config.seed,
        hidden=config.hidden,
        layers=config.layers,
        vision_layers=config.layers,
        patch_size=config.patch_size,
        feature_layer=-1,
    )


def _prompt_ids(processor) -> dict[str, list[int]]:
    """Token ids of every chat-formatted question, image tokens expanded, as the processor
    makes them for :meth:`sampler.models.VLM.prepare`."""
    from sampler._models_vlm_inputs import format_prompt

    image = torch.zeros(3, _tiny._TINY_IMAGE_SIZE, _tiny._TINY_IMAGE_SIZE)
    out = {}
    for q in (q for qs in QUESTIONS.values() for q in qs):
        text = format_prompt(processor, q, chat_template=True)
        enc = processor(images=[image], text=[text], return_tensors="pt", do_rescale=False)
        out[q] = enc["input_ids"][0].tolist()
    return out


def _batch(config: TrainConfig, step: int, processor, prompts, generator):
    """Inputs, labels and noisy normalized pixels of one step (right-padded)."""
    seed = int(np.random.SeedSequence([config.seed, step]).generate_state(1)[0])
    data = toy_images(config.batch_size, seed=seed, forbidden_rate=config.forbidden_rate)
    kinds, questions = toy_questions(config.batch_size, seed=seed, shape_rate=config.shape_rate)
    tok = processor.tokenizer
    rows, labels = [], []
    for i, (kind, q) in enumerate(zip(kinds, questions, strict=True)):
        answer = answer_for(
            kind, int(data.shapes[i]), int(data.colours[i]), bool(data.forbidden[i])
        )
        target = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        rows.append(prompts[q] + target)
        labels.append([-100] * len(prompts[q]) + target)
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id, dtype=torch.int64)
    lab = torch.full((len(rows), width), -100, dtype=torch.int64)
    mask = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, (r, lb) in enumerate(zip(rows, labels, strict=True)):
        ids[i, : len(r)], lab[i, : len(r)], mask[i, : len(r)] = (
            torch.tensor(r),
            torch.tensor(lb),
            1,
        )
    x = data.images
    if config.train_sigma > 0:
        scale = config.train_sigma * torch.rand(len(x), 1, 1, 1, generator=generator)
        x = x + scale * torch.randn(x.shape, generator=generator)
    mean = torch.tensor(_tiny._CLIP_MEAN).view(3, 1, 1)
    std = torch.tensor(_tiny._CLIP_STD).view(3, 1, 1)
    return ids, mask, lab, (x - mean) / std


def answer_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the answer tokens of each row, then over the rows.

    Args:
      logits: ``(batch, length, vocab)``, position ``t`` predicting token ``t + 1``.
      labels: int64 ``(batch, length)``, ``-100`` where not scored (every row scores at
        least one token).

    Returns:
      The scalar ``mean_r sum_t m_rt ce_rt / sum_t m_rt`` (``m`` the scored positions).

    Example:
      >>> import torch
      >>> from sampler._train_tiny import answer_loss
      >>> logits = torch.zeros(2, 3, 4)
      >>> labels = torch.tensor([[-100, 1, 2], [-100, -100, 3]])
      >>> round(float(answer_loss(logits, labels)), 4)  # uniform: log 4 per token
      1.3863
    """
    target = labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(
        logits[:, :-1].transpose(1, 2).float(), target, ignore_index=-100, reduction="none"
    )
    scored = (target != -100).to(ce.dtype)
    return ((ce * scored).sum(1) / scored.sum(1)).mean()


def _lr_factor(config: TrainConfig, step: int) -> float:
    if step < config.warmup:
        return (step + 1) / config.warmup
    frac = (step - config.warmup) / max(1, config.steps - config.warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))


def train_llava(path, config: TrainConfig | None = None) -> TrainResult:
    """Train the model of ``config`` and save it (safetensors) with its processor to ``path``.

    Args:
      path: directory to write (created if missing; files in it are overwritten).
      config: :class:`TrainConfig`; default ``TrainConfig()``.

    Returns:
      :class:`TrainResult`; load the model with ``sampler.models.VLM.from_pretrained(path)``.

    The caller's torch RNG, thread count and deterministic-algorithms switch are restored.
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    path = _tiny._prepare_dir(path)
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            model, processor = build_llava(config)
            prompts = _prompt_ids(processor)
            generator = torch.Generator().manual_seed(config.seed)
            optim = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.01)
            sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: _lr_factor(config, s))
            model.train()
            losses = np.empty(config.steps)
            start = time.perf_counter()
            for step in range(config.steps):
                ids, mask, lab, pixels = _batch(config, step, processor, prompts, generator)
                out = model(input_ids=ids, attention_mask=mask, pixel_values=pixels)
                loss = answer_loss(out.logits, lab)
                optim.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optim.step()
                sched.step()
                losses[step] = float(loss.detach())
            seconds = time.perf_counter() - start
            model.eval()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    _tiny._save(model, processor, path)
    (path / "training.json").write_text(
        json.dumps({"config": dataclasses.asdict(config), "key": config.key()}, indent=1)
    )
    return TrainResult(path, losses, seconds)


def cache_root() -> pathlib.Path:
    """``$RSVLM_CACHE_DIR/trained-llava``, else ``$XDG_CACHE_HOME/rsvlm/trained-llava``, else
    ``~/.cache/rsvlm/trained-llava``."""
    own = os.environ.get("RSVLM_CACHE_DIR")
    if own:
        return pathlib.Path(own) / "trained-llava"
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(root) / "rsvlm" / "trained-llava"


def trained_llava(*, seed: int = 0, cache_dir=None, config: TrainConfig | None = None):
    """The directory of the trained toy LLaVA, trained on the first call on this machine.

    Args:
      seed: the training seed (of the default :class:`TrainConfig`), keyword-only.
      cache_dir: the cache folder; default :func:`cache_root`.
      config: a full :class:`TrainConfig` instead of ``seed`` (then ``seed`` must stay 0
        or equal ``config.seed``).

    Returns:
      :class:`pathlib.Path` of ``<cache>/<key>``, holding the model, its processor and
      ``training.json``; load it with ``sampler.models.VLM.from_pretrained(path)``.

    About three CPU minutes on one thread the first time (``docs/measurements/trained_model.md``);
    then the cached folder is returned at once. A training interrupted leaves only a
    ``.tmp-*`` folder, never a folder named by the key.

    Example:
      >>> from sampler.tiny import trained_llava
      >>> from sampler.models import VLM
      >>> vlm = VLM.from_pretrained(trained_llava(), device="cpu")  # doctest: +SKIP
    """
    seed = check_seed(seed)
    if config is None:
        config = TrainConfig(seed=seed)
    elif not isinstance(config, TrainConfig) or seed not in (0, config.seed):
        raise ValueError("config must be a TrainConfig whose seed agrees with seed")
    root = cache_root() if cache_dir is None else pathlib.Path(cache_dir)
    final = root / config.key()
    if (final / "model.safetensors").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        train_llava(tmp, config)
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished first: keep its model
            if not (final / "model.safetensors").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
