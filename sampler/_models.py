"""The model interface shared by vision-language models and image classifiers, and the
loop that feeds a model noisy copies of one input.

A model is used in two steps (the :class:`Model` protocol):

* ``prepared = model.prepare(image, prompt)``, once per input: the clean image is resized /
  cropped / tiled to the model's input resolution (pixels stay in ``[0, 1]``) and the prompt
  is tokenized, both on the model's device;
* ``model.predict(prepared, pixels)``, once per batch: ``pixels`` are noisy copies of
  ``prepared.pixels``, shape ``(batch, *prepared.pixels.shape)`` in ``[0, 1]``-pixel units;
  the model normalizes them on its device and returns one prediction per copy: a
  ``list[str]`` of texts for a VLM (:class:`sampler.models.VLM`), an int64 tensor of class
  ids for a classifier (:class:`sampler.models.ImageClassifier`, classic RS).

:func:`sample_predictions` runs the whole measurement of one input: prepare once, then
``n`` noisy copies in batches (:func:`sampler.noise.add_gaussian_noise`), predictions
concatenated in draw order.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from sampler._noise import PixelNormalization, add_gaussian_noise
from sampler._validation import check_count, check_int, check_real, check_seed, check_sigma

__all__ = [
    "SAMPLING_SCHEME",
    "DecodingConfig",
    "InverseCdfSampler",
    "Model",
    "NoiseSpec",
    "Prepared",
    "Samples",
    "batch_seed",
    "check_pixels",
    "copy_uniforms",
    "sample_predictions",
    "sampling_processors",
    "split_rows",
]

#: The name of the sampled decoding's random scheme, recorded in a sampled VLM's
#: configuration (``config_dict()["sampling"]``): rows decoded under another scheme hash
#: differently and are not mixed with these on resume.
SAMPLING_SCHEME = "per-copy-inverse-cdf-v1"


@dataclasses.dataclass(frozen=True)
class DecodingConfig:
    """How a VLM decodes; part of the recorded configuration of a run.

    Attributes:
      do_sample: ``False`` for greedy decoding (deterministic given the pixels), ``True`` to
        sample with ``temperature`` / ``top_p`` / ``top_k``.
      max_new_tokens: at most this many generated tokens per answer, ``>= 1``.
      temperature: softmax temperature when sampling, ``> 0``.
      top_p: nucleus mass when sampling, in ``(0, 1]``; ``1.0`` disables it.
      top_k: keep the ``top_k`` most likely tokens when sampling; ``0`` disables it.
      seed: base seed of the sampled decoding; batch ``b`` of an input decodes under
        :func:`batch_seed` ``(seed, b)``, and copy ``j`` of that batch draws its tokens
        from its own uniforms (:func:`copy_uniforms`, :class:`InverseCdfSampler`), so its
        text does not depend on the copies it shares a forward pass with. Unused by
        greedy decoding.
      early_stop: stop decoding a copy as soon as the oracle declares the label of its text
        so far final (:class:`sampler.models.OracleStop`; the VLM must be bound to the
        oracle with :meth:`sampler.models.VLM.with_oracle`, which
        :func:`sampler.certify.certify` does). The labels are those of the full decoding
        (greedy, or the per-copy sampling; see :mod:`sampler._early_stop`), the texts are
        cut after the deciding token. Recorded (and hashed) only when true, so the
        configuration hash of every run without it is unchanged.

    Example:
      >>> from sampler.models import DecodingConfig
      >>> DecodingConfig(max_new_tokens=8).to_dict()  # doctest: +NORMALIZE_WHITESPACE
      {'do_sample': False, 'max_new_tokens': 8, 'seed': 0, 'temperature': 1.0,
       'top_k': 0, 'top_p': 1.0}
      >>> DecodingConfig(max_new_tokens=8, early_stop=True).to_dict()["early_stop"]
      True
    """

    do_sample: bool = False
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    early_stop: bool = False

    def __post_init__(self):
        for name in ("do_sample", "early_stop"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for name, lo in (("max_new_tokens", 1), ("top_k", 0)):
            object.__setattr__(self, name, check_int(getattr(self, name), name=name, low=lo))
        object.__setattr__(self, "seed", check_seed(self.seed))
        t = check_real(self.temperature, name="temperature", low=0.0, low_open=True)
        p = check_real(self.top_p, name="top_p", low=0.0, high=1.0, low_open=True)
        object.__setattr__(self, "temperature", t)
        object.__setattr__(self, "top_p", p)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready fields in sorted key order (stable for hashing); ``early_stop``
        only when true, so a run without it keeps the dict (and hash) it had before."""
        fields = dataclasses.asdict(self)
        if not self.early_stop:
            del fields["early_stop"]
        return dict(sorted(fields.items()))

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``transformers`` ``GenerationConfig`` for these settings.

        Greedy decoding sets no sampling parameter, so ``transformers`` has nothing to warn about.
        """
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "num_beams": 1}
        if self.do_sample:
            kwargs.update(
                do_sample=True, temperature=self.temperature, top_p=self.top_p, top_k=self.top_k
            )
        else:
            kwargs.update(do_sample=False)
        return kwargs


def batch_seed(seed: int, batch_index: int) -> int:
    """A seed for batch ``batch_index`` derived from ``seed`` (NumPy ``SeedSequence``)."""
    return int(np.random.SeedSequence([seed, batch_index]).generate_state(1, np.uint64)[0] >> 1)


def copy_uniforms(
    seeds: Sequence[int], offsets: Sequence[int], counts: Sequence[int], *, steps: int
) -> np.ndarray:
    """The uniforms of sampled decoding, one row of ``steps`` per copy, in ``(0, 1]``.

    Part ``i`` holds ``counts[i]`` consecutive copies of a request decoded under seed
    ``seeds[i]``, the first being copy ``offsets[i]`` of that request. Copy ``j`` of a
    request with seed ``s`` owns the generator ``PCG64(SeedSequence([s, j]))``; its ``t``-th
    generated token is drawn with ``u[t] = 1 - random()[t]``. A copy's draws depend on
    ``(s, j)`` alone, not on the copies it shares a batch with, nor on how a request is split.

    Returns:
      float64 array of shape ``(sum(counts), steps)``.

    Example:
      >>> from sampler.models import copy_uniforms
      >>> u = copy_uniforms([7, 7], [0, 2], [2, 1], steps=3)
      >>> u.shape, bool((u > 0).all() and (u <= 1).all())
      ((3, 3), True)
      >>> bool((copy_uniforms([7], [0], [3], steps=3) == u).all())  # split or not: same
      True
    """
    steps = check_count(steps, name="steps")
    if not len(seeds) == len(offsets) == len(counts):
        raise ValueError("seeds, offsets and counts must have the same length")
    rows = [
        1.0 - np.random.Generator(np.random.PCG64(np.random.SeedSequence([s, o + j]))).random(steps)
        for s, o, c in zip(seeds, offsets, counts, strict=True)
        for j in range(c)
    ]
    return np.stack(rows) if rows else np.zeros((0, steps))


class InverseCdfSampler:
    """A ``transformers`` logits processor that samples each row from its own uniforms.

    Placed after the temperature / top-k / top-p warpers of a *greedy* ``generate`` call:
    at generation step ``t`` (``input_ids`` length minus ``prompt_length``), row ``r``'s
    processed scores give ``p = softmax(scores[r])`` and cumulative sums ``c``; the token is
    the first ``v`` with ``c[v] >= u[r, t] c[-1]`` (inverse CDF, float64; a token of
    probability 0 is never drawn since ``u > 0``). The scores become ``0`` at that token and
    ``-inf`` elsewhere, so greedy's argmax picks it. Each row's token depends only on its
    own scores and uniforms (:func:`copy_uniforms`), never on its batch mates.

    Args:
      uniforms: ``(batch, steps)`` in ``(0, 1]`` on the scores' device.
      prompt_length: length of the prompt in ``input_ids``.

    Example:
      >>> import torch
      >>> from sampler.models import InverseCdfSampler
      >>> u = torch.tensor([[0.2], [0.9]], dtype=torch.float64)
      >>> scores = torch.log(torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]))
      >>> InverseCdfSampler(u, prompt_length=4)(torch.zeros(2, 4), scores).argmax(-1).tolist()
      [0, 1]
    """

    def __init__(self, uniforms: torch.Tensor, *, prompt_length: int):
        self.uniforms = uniforms
        self.prompt_length = int(prompt_length)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        t = input_ids.shape[1] - self.prompt_length
        u = self.uniforms[:, t : t + 1]
        cdf = torch.softmax(scores.to(u.dtype), dim=-1).cumsum(dim=-1)
        token = torch.searchsorted(cdf, u * cdf[:, -1:]).clamp_(max=scores.shape[-1] - 1)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(1, token, 0.0)


def sampling_processors(
    decoding: DecodingConfig,
    *,
    seeds: Sequence[int],
    offsets: Sequence[int],
    counts: Sequence[int],
    prompt_length: int,
    device: torch.device,
) -> list:
    """The logits processors of a sampled decoding run as a greedy ``generate`` call.

    The warpers that ``transformers`` ``generate`` adds when sampling, in its order
    (temperature if not 1, top-k if not 0, top-p if below 1), then an
    :class:`InverseCdfSampler` over the uniforms :func:`copy_uniforms` of the parts
    (``seeds``, ``offsets``, ``counts`` as there), copied to ``device`` (from pinned memory,
    without blocking, on CUDA; float32 on MPS, which has no float64).
    """
    import transformers

    out: list = []
    if decoding.temperature != 1.0:
        out.append(transformers.TemperatureLogitsWarper(decoding.temperature))
    if decoding.top_k != 0:
        out.append(transformers.TopKLogitsWarper(top_k=decoding.top_k))
    if decoding.top_p < 1.0:
        out.append(transformers.TopPLogitsWarper(top_p=decoding.top_p))
    u = copy_uniforms(seeds, offsets, counts, steps=decoding.max_new_tokens)
    device = torch.device(device)
    u = torch.from_numpy(u).to(torch.float32 if device.type == "mps" else torch.float64)
    non_blocking = device.type == "cuda"
    if non_blocking:
        u = u.pin_memory()
    u = u.to(device, non_blocking=non_blocking)
    return [*out, InverseCdfSampler(u, prompt_length=prompt_length)]


def check_pixels(pixels, want: tuple[int, ...], *, device: torch.device) -> None:
    """Refuse ``pixels`` that are not a floating ``(batch >= 1, *want)`` tensor on ``device``'s
    type (a ValueError naming ``pixels`` and the shape expected)."""
    if not isinstance(pixels, torch.Tensor) or not pixels.is_floating_point():
        raise ValueError("pixels must be a floating torch.Tensor")
    if pixels.ndim != len(want) + 1 or tuple(pixels.shape[1:]) != want:
        raise ValueError(f"pixels must have shape (batch, *{want}), got {tuple(pixels.shape)}")
    if pixels.shape[0] < 1:
        raise ValueError(
            "pixels must hold a batch of at least 1 "
            f"(pixels must have shape (batch >= 1, *{want}), got {tuple(pixels.shape)})"
        )
    if pixels.device.type != torch.device(device).type:
        raise ValueError(f"pixels are on {pixels.device}, the model on {device}")


def split_rows(out, counts: Sequence[int]) -> list:
    """``out`` (a list or a tensor along axis 0) cut into consecutive parts of ``counts`` rows.

    Example:
      >>> from sampler.models import split_rows
      >>> split_rows(["a", "b", "c"], [2, 1])
      [['a', 'b'], ['c']]
    """
    bounds = np.cumsum([0, *counts]).tolist()
    return [out[a:b] for a, b in itertools.pairwise(bounds)]


class Prepared(NamedTuple):
    """One input made ready for a model by ``model.prepare(image, prompt)``.

    Attributes:
      pixels: the clean image at the model's input resolution, ``[0, 1]``, float32, on the
        model's device; shape ``(3, h, w)``, or ``(tiles, 3, h, w)`` for anyres models.
      inputs: the other model inputs for one copy, batch axis of length 1 (``input_ids``,
        ``attention_mask``, ``image_sizes``, ...), on the model's device; empty for a
        classifier.
      prompt: the text as formatted for the model (``None`` for a classifier).
    """

    pixels: torch.Tensor
    inputs: dict[str, torch.Tensor]
    prompt: str | None


@runtime_checkable
class Model(Protocol):
    """What :func:`sample_predictions` needs from a model.

    ``prepare`` runs once per input; ``predict`` once per batch of noisy pixels and returns
    ``list[str]`` (a VLM's texts) or an int64 tensor of shape ``(batch,)`` (a classifier's
    class ids). ``normalization`` is applied by ``predict`` after the noise.
    """

    device: torch.device
    normalization: PixelNormalization

    def prepare(self, image: torch.Tensor, prompt: str | None) -> Prepared: ...

    def predict(
        self, prepared: Prepared, pixels: torch.Tensor, *, seed: int | None = None
    ) -> list[str] | torch.Tensor: ...


@dataclasses.dataclass(frozen=True)
class NoiseSpec:
    """The noise of a run, as recorded next to its counts.

    Attributes:
      sigma: standard deviation in ``[0, 1]``-pixel units at the model's input resolution
        (the certificate's sigma).
      input_shape: shape of the noised tensor for one copy (``(3, h, w)`` or
        ``(tiles, 3, h, w)``): the space in which the radius holds.
      mean, std: the per-channel normalization applied after the noise.
      effective_sigma: ``sigma / std`` per channel, the noise the model actually sees.
    """

    sigma: float
    input_shape: tuple[int, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    effective_sigma: tuple[float, ...]

    @classmethod
    def of(cls, sigma: float, prepared: Prepared, normalization: PixelNormalization) -> NoiseSpec:
        return cls(
            sigma=check_sigma(sigma, allow_zero=True),
            input_shape=tuple(prepared.pixels.shape),
            mean=normalization.mean,
            std=normalization.std,
            effective_sigma=normalization.effective_sigma(sigma),
        )

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in sorted(d.items())}


class Samples(NamedTuple):
    """Result of :func:`sample_predictions`: ``predictions`` in draw order and the noise."""

    predictions: list[str] | torch.Tensor
    noise: NoiseSpec


def sample_predictions(
    model: Model,
    image: torch.Tensor,
    prompt: str | None = None,
    *,
    n: int,
    sigma: float,
    generator: torch.Generator,
    batch_size: int = 32,
    seed: int | None = None,
) -> Samples:
    """Predictions of ``model`` on ``n`` Gaussian-noisy copies of one input.

    ``prepare`` runs once (the prompt is tokenized once); noise for a whole batch is drawn
    in one call on the model's device; the only Python loop is over batches.

    Args:
      model: a :class:`Model` (:class:`sampler.models.VLM` or
        :class:`sampler.models.ImageClassifier`).
      image: clean image, ``(3, H, W)`` float in ``[0, 1]``, any resolution (the model
        resizes it once).
      prompt: the question for a VLM; ``None`` for a classifier.
      n: number of noisy copies, an int ``>= 1``, keyword-only.
      sigma: noise standard deviation in ``[0, 1]``-pixel units at the model's input
        resolution, ``>= 0`` (0: noise-free copies), keyword-only.
      generator: seeded generator on the model's device
        (:func:`sampler.noise.noise_generator`), keyword-only.
      batch_size: copies per forward pass, an int ``>= 1``.
      seed: base seed of sampled decoding (batch ``b`` uses :func:`batch_seed` ``(seed, b)``);
        defaults to the VLM's ``decoding.seed``; ignored by greedy decoding and classifiers.

    Returns:
      :class:`Samples`: ``predictions`` (``list[str]`` of length ``n`` or an int64 tensor of
      shape ``(n,)``) and the :class:`NoiseSpec`.

    Raises:
      ValueError: a bad ``n``, ``sigma``, ``batch_size`` or ``image`` (the message names it).

    Example:
      >>> import torch
      >>> from sampler.models import ImageClassifier, sample_predictions
      >>> from sampler.noise import noise_generator
      >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 4 * 4, 5))
      >>> clf = ImageClassifier(net, input_size=(4, 4))
      >>> out = sample_predictions(clf, torch.rand(3, 8, 8), n=10, sigma=0.25,
      ...                          generator=noise_generator(seed=0), batch_size=4)
      >>> out.predictions.shape, out.predictions.dtype, out.noise.effective_sigma
      (torch.Size([10]), torch.int64, (0.25, 0.25, 0.25))
    """
    n = check_count(n, name="n")
    batch_size = check_count(batch_size, name="batch_size")
    sigma = check_sigma(sigma, allow_zero=True)
    if seed is None:
        decoding = getattr(model, "decoding", None)
        seed = decoding.seed if decoding is not None else 0
    prepared = model.prepare(image, prompt)
    noise = NoiseSpec.of(sigma, prepared, model.normalization)
    texts: list[str] = []
    ids: list[torch.Tensor] = []
    for b, start in enumerate(range(0, n, batch_size)):
        num = min(batch_size, n - start)
        pixels = add_gaussian_noise(prepared.pixels, num=num, sigma=sigma, generator=generator)
        out = model.predict(prepared, pixels, seed=batch_seed(seed, b))
        if isinstance(out, torch.Tensor):
            ids.append(out)
        else:
            texts.extend(out)
    return Samples(torch.cat(ids) if ids else texts, noise)
