"""Gaussian noise in pixel space, and the affine normalization that follows it.

Units. Images are float tensors in ``[0, 1]`` (pixel value / 255). Noise is added *at the
model's input resolution*, after every geometric step (resize, crop, "anyres" tiling) has
been applied once to the clean image, and before the processor's normalization
``(x - mean) / std``, which this module applies itself on the model's device. So the
certificate's ``sigma`` is the standard deviation of the noise in ``[0, 1]``-pixel units of
the tensor the vision tower sees (for LLaVA 1.5: the 336 x 336 crop; for LLaVA 1.6: the
stack of anyres tiles, each tile with its own noise). A perturbation ``delta`` of the
original image reaches that tensor as ``A delta`` with ``A`` the linear resize/crop map, so
a radius ``R`` there certifies ``R / ||A||_2`` in the original image.

Why not let the processor see the noisy image: a resize or crop *after* the noise would
average neighbouring noise values and silently shrink the effective sigma, and a second
rescale would change its units. :func:`pixel_normalization` therefore refuses processors
whose normalization this module cannot reproduce exactly, and the model adapters feed
``pixel_values`` straight to the model.

The noisy image is *not* clipped to ``[0, 1]``: clipping would make the noise
non-Gaussian and void the randomized-smoothing guarantee (Cohen et al. 2019 do not clip
either). After normalization channel ``c`` carries noise of standard deviation
``sigma / std[c]`` (:attr:`PixelNormalization.effective_sigma`), which is recorded.

Randomness comes from a seeded :class:`torch.Generator` on the model's device
(:func:`noise_generator`); draws are made a whole batch at a time, never per sample.

References:
  J. Cohen, E. Rosenfeld, J. Z. Kolter (2019), "Certified Adversarial Robustness via
  Randomized Smoothing", ICML (Gaussian noise N(0, sigma^2 I) in input space).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import torch

from rstheory._deprecation import keyword_only
from sampler._validation import (
    check_count,
    check_images,
    check_seed,
    check_sigma,
    resolve_device,
)

__all__ = [
    "PixelNormalization",
    "add_gaussian_noise",
    "check_images",
    "check_sigma",
    "noise_generator",
    "pixel_normalization",
    "resolve_device",
]

# do_rescale maps uint8 [0, 255] to [0, 1] with exactly this factor; any other factor would
# change the units of sigma.
_RESCALE_FACTOR = 1 / 255
# Image-processor switches that would act on the pixels after (or instead of) the affine
# normalization, or shift them: none of these can be reproduced as (x - mean) / std.
_REFUSED_FLAGS = ("do_rescale_offset", "rescale_offset", "do_map_to_minus_one_one")


@keyword_only("seed", "device")
def noise_generator(*, seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A :class:`torch.Generator` on ``device`` seeded with ``seed``.

    The same ``(seed, device type)`` gives the same noise; CPU and CUDA generators give
    different streams for the same seed.

    Args:
      seed: an int in ``[0, 2**63)``.
      device: where the noise will be drawn (the model's device); see :func:`resolve_device`.

    Raises:
      ValueError: ``seed`` is not a non-negative int, or a bad ``device``.

    Example:
      >>> from sampler.noise import noise_generator
      >>> noise_generator(seed=0).initial_seed()
      0
    """
    seed = check_seed(seed)
    return torch.Generator(device=resolve_device(device)).manual_seed(seed)


@dataclasses.dataclass(frozen=True)
class PixelNormalization:
    """The affine map ``(x - mean[c]) / std[c]`` from ``[0, 1]`` pixels to model inputs.

    Attributes:
      mean: per-channel means (3 floats).
      std: per-channel standard deviations (3 floats, each ``> 0``).
    """

    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)

    def __post_init__(self):
        for field in ("mean", "std"):
            value = getattr(self, field)
            try:
                value = tuple(float(v) for v in value)
            except (TypeError, ValueError) as err:
                raise ValueError(f"{field} must be 3 numbers, got {value!r}") from err
            if len(value) == 1:
                value = value * 3
            if len(value) != 3 or not all(math.isfinite(v) for v in value):
                raise ValueError(f"{field} must be 3 finite numbers, got {value!r}")
            object.__setattr__(self, field, value)
        if min(self.std) <= 0:
            raise ValueError(f"std must be > 0 per channel, got {self.std}")

    def effective_sigma(self, sigma: float) -> tuple[float, float, float]:
        """Standard deviation of the noise per channel after normalization: ``sigma / std``."""
        sigma = check_sigma(sigma, allow_zero=True)
        return tuple(sigma / s for s in self.std)

    def __call__(self, pixels: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Normalize ``pixels`` of shape ``(..., 3, h, w)`` on their device, then cast to ``dtype``.

        The arithmetic is done in float32 (or the input's wider dtype) and the result cast
        once, so a bf16 model sees the correctly rounded normalized value.
        """
        if pixels.ndim < 3 or pixels.shape[-3] != 3:
            raise ValueError(f"pixels must have shape (..., 3, h, w), got {tuple(pixels.shape)}")
        work = torch.promote_types(pixels.dtype, torch.float32)
        mean, std = _constants(self.mean, self.std, pixels.device, work)
        out = (pixels.to(work) - mean) / std
        return out if dtype is None else out.to(dtype)

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std)}


@functools.lru_cache(maxsize=16)
def _constants(mean, std, device, dtype):
    """Mean and std as ``(3, 1, 1)`` tensors on ``device``, made once (no host-to-device copy
    per batch in the hot path). Made outside inference mode, so that they serve autograd too."""
    with torch.inference_mode(False):
        return (
            torch.tensor(mean, dtype=dtype, device=device).view(3, 1, 1),
            torch.tensor(std, dtype=dtype, device=device).view(3, 1, 1),
        )


def pixel_normalization(image_processor) -> PixelNormalization:
    """The affine normalization of a :mod:`transformers` image processor, or a refusal.

    The processor is used only on the *clean* image, with ``do_normalize=False`` (geometry
    and the uint8 rescale only); its normalization is then re-applied here, after the
    noise. That is exact only when the processor's value transform is
    ``rescale by 1/255, then (x - mean) / std``; anything else would silently change the
    effective sigma and is refused.

    Args:
      image_processor: a ``transformers`` image processor (or a processor with an
        ``image_processor`` attribute).

    Returns:
      :class:`PixelNormalization` (identity when ``do_normalize`` is false).

    Raises:
      ValueError: no image processor; ``do_rescale`` with a factor other than ``1/255``; an
        offset rescale; ``do_normalize`` without 1 or 3 finite means and positive stds.

    Example:
      >>> import transformers
      >>> from sampler.noise import pixel_normalization
      >>> ip = transformers.CLIPImageProcessorPil(image_mean=[0.5] * 3, image_std=[0.25] * 3)
      >>> norm = pixel_normalization(ip)
      >>> norm.effective_sigma(0.5)
      (2.0, 2.0, 2.0)
      >>> ip = transformers.CLIPImageProcessorPil(rescale_factor=1 / 127.5)
      >>> pixel_normalization(ip)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: image processor CLIPImageProcessorPil rescales by 0.0078..., not 1/255: ...
    """
    ip = getattr(image_processor, "image_processor", image_processor)
    if ip is None or not hasattr(ip, "do_normalize"):
        raise ValueError(
            f"image_processor must be a transformers image processor with do_normalize, image_mean "
            f"and image_std, got {type(ip).__name__}"
        )
    name = type(ip).__name__
    for flag in _REFUSED_FLAGS:
        if getattr(ip, flag, False):
            raise ValueError(
                f"image processor {name} sets {flag}: its value transform is not "
                "(x / 255 - mean) / std, so sigma in [0, 1] pixel units would change silently"
            )
    factor = getattr(ip, "rescale_factor", _RESCALE_FACTOR)
    if getattr(ip, "do_rescale", False) and not math.isclose(factor, _RESCALE_FACTOR, rel_tol=1e-9):
        raise ValueError(
            f"image processor {name} rescales by {factor}, not 1/255: the noise would not be "
            "in [0, 1] pixel units"
        )
    if not getattr(ip, "do_normalize", False):
        return PixelNormalization()
    mean, std = getattr(ip, "image_mean", None), getattr(ip, "image_std", None)
    if mean is None or std is None:
        raise ValueError(f"image processor {name} normalizes but has no image_mean/image_std")
    try:
        # A scalar, a list or an array: one value per channel (or one for all three).
        mean = tuple(torch.as_tensor(mean, dtype=torch.float64).reshape(-1).tolist())
        std = tuple(torch.as_tensor(std, dtype=torch.float64).reshape(-1).tolist())
        return PixelNormalization(mean, std)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"image processor {name}: image_mean and image_std must be 1 or 3 finite numbers, "
            f"std > 0 ({err})"
        ) from err


@keyword_only("num")
def add_gaussian_noise(
    clean: torch.Tensor, *, num: int, sigma: float, generator: torch.Generator
) -> torch.Tensor:
    """``num`` noisy copies ``clean + sigma * eps`` with ``eps ~ N(0, I)``, drawn in one call.

    Args:
      clean: clean pixels in ``[0, 1]`` at the model's input resolution, any shape
        (``(3, h, w)``, or ``(tiles, 3, h, w)`` for anyres models), floating, on the
        generator's device.
      num: number of noisy copies, an int ``>= 1``.
      sigma: noise standard deviation in ``[0, 1]``-pixel units, ``>= 0``, keyword-only
        (0 gives noise-free copies; a certificate needs ``sigma > 0``).
      generator: seeded :class:`torch.Generator` on ``clean.device`` (:func:`noise_generator`).

    Returns:
      Tensor of shape ``(num, *clean.shape)``, dtype of ``clean`` (at least float32), on
      ``clean.device``; not clipped to ``[0, 1]``. Every element has its own noise.

    Raises:
      ValueError: ``num < 1``, a bad ``sigma``, a non-float ``clean``, or a generator on
        another device.

    Example:
      >>> import torch
      >>> from sampler.noise import add_gaussian_noise, noise_generator
      >>> x = torch.full((3, 2, 2), 0.5)
      >>> noisy = add_gaussian_noise(x, num=4, sigma=0.25, generator=noise_generator(seed=0))
      >>> tuple(noisy.shape)
      (4, 3, 2, 2)
      >>> again = add_gaussian_noise(x, num=4, sigma=0.25, generator=noise_generator(seed=0))
      >>> bool(torch.equal(again, noisy))
      True
    """
    sigma = check_sigma(sigma, allow_zero=True)
    num = check_count(num, name="num")
    if not isinstance(clean, torch.Tensor) or not clean.is_floating_point():
        raise ValueError("clean must be a floating torch.Tensor")
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    if generator.device.type != clean.device.type:
        raise ValueError(
            f"generator is on {generator.device} but clean is on {clean.device}: draw the noise "
            "where the model runs (noise_generator(seed=seed, device=device))"
        )
    dtype = torch.promote_types(clean.dtype, torch.float32)
    eps = torch.randn((num, *clean.shape), generator=generator, device=clean.device, dtype=dtype)
    return eps.mul_(sigma).add_(clean.to(dtype))
