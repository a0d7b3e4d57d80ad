"""Adapter for image classifiers (classic randomized smoothing, Cohen et al. 2019).

:class:`ImageClassifier` wraps any :class:`torch.nn.Module` that maps normalized images
``(batch, 3, h, w)`` to logits ``(batch, classes)`` and implements
:class:`sampler.models.Model` with class ids (``argmax`` of the logits) as predictions, so
the same :func:`sampler.models.sample_predictions` loop serves classifiers and VLMs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from sampler._models import Prepared, check_pixels, split_rows
from sampler._noise import PixelNormalization
from sampler._validation import check_images

__all__ = ["ImageClassifier"]


class ImageClassifier:
    """A classifier: one image in, one class id per noisy copy out.

    Args:
      module: maps ``(batch, 3, h, w)`` normalized images to logits ``(batch, classes)``
        (a tensor, or an object with a ``logits`` attribute such as a ``transformers``
        output). It is put in eval mode and used as is (its device and dtype).
      normalization: :class:`sampler.noise.PixelNormalization` applied after the noise;
        identity by default.
      input_size: ``(h, w)`` the clean image is resized to once (bilinear, antialiased),
        or ``None`` to use it at its own size.

    Example:
      >>> import torch
      >>> from sampler.models import ImageClassifier
      >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 2 * 2, 4))
      >>> clf = ImageClassifier(net)
      >>> prepared = clf.prepare(torch.rand(3, 2, 2))
      >>> clf.predict(prepared, torch.rand(5, 3, 2, 2)).shape
      torch.Size([5])
    """

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        normalization: PixelNormalization | None = None,
        input_size: tuple[int, int] | None = None,
    ):
        if not isinstance(module, torch.nn.Module):
            raise ValueError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        normalization = PixelNormalization() if normalization is None else normalization
        if not isinstance(normalization, PixelNormalization):
            raise ValueError("normalization must be a PixelNormalization")
        if input_size is not None:
            if (
                len(input_size) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) for s in input_size)
                or min(input_size) < 1
            ):
                raise ValueError(f"input_size must be two ints >= 1, got {input_size!r}")
            input_size = (int(input_size[0]), int(input_size[1]))
        self.module = module.eval()
        self.normalization = normalization
        self.input_size = input_size
        param = next(module.parameters(), None)
        self.device = param.device if param is not None else torch.device("cpu")
        self.dtype = param.dtype if param is not None else torch.float32

    def config_dict(self) -> dict[str, Any]:
        """The recorded configuration: module class, device, dtype, sizes, normalization."""
        return {
            "model_class": type(self.module).__name__,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "input_size": None if self.input_size is None else list(self.input_size),
            "normalization": self.normalization.to_dict(),
        }

    def prepare(self, image: torch.Tensor, prompt: str | None = None) -> Prepared:
        """The clean image at ``input_size`` in ``[0, 1]`` on the device; ``prompt`` must be None.

        Raises:
          ValueError: a bad ``image``, or a ``prompt`` (a classifier takes none).
        """
        if prompt is not None:
            raise ValueError("prompt must be None for an image classifier")
        check_images(image, name="image", batched=False)
        pixels = image.detach().to(self.device, torch.float32)
        if self.input_size is not None and tuple(pixels.shape[-2:]) != self.input_size:
            pixels = torch.nn.functional.interpolate(
                pixels[None],
                size=self.input_size,
                mode="bilinear",
                antialias=True,
                align_corners=False,
            )[0].clamp_(0.0, 1.0)
        return Prepared(pixels, {}, None)

    def pack_key(self, prepared: Prepared) -> tuple:
        """What two inputs must share to be classified in one forward pass: the pixel shape."""
        return ("classifier", tuple(prepared.pixels.shape))

    def predict(
        self, prepared: Prepared, pixels: torch.Tensor, *, seed: int | None = None
    ) -> torch.Tensor:
        """Class ids ``argmax(logits)`` for a batch of (noisy) pixels; ``seed`` is unused.

        Args:
          prepared: from :meth:`prepare`.
          pixels: ``(batch, 3, h, w)`` in ``[0, 1]``-pixel units on the device, ``batch >= 1``.

        Returns:
          int64 tensor of shape ``(batch,)`` on the device (ties go to the lower index).

        Raises:
          ValueError: ``pixels`` of the wrong shape, or logits that are not ``(batch, classes)``.
        """
        return self.predict_many([prepared], [pixels])[0]

    def predict_many(
        self,
        prepared_list: Sequence[Prepared],
        pixels_list: Sequence[torch.Tensor],
        *,
        seeds: Sequence[int | None] | None = None,
        offsets: Sequence[int] | None = None,
    ) -> list[torch.Tensor]:
        """:meth:`predict` of several parts in one forward pass of ``sum(b_i)`` images.

        Part ``i`` is ``pixels_list[i]`` (``(b_i, 3, h, w)``) of an input prepared as
        ``prepared_list[i]``, all of the same :meth:`pack_key`; ``seeds`` and ``offsets``
        are accepted for the interface of :meth:`sampler.models.VLM.predict_many` and
        unused. Returns one int64 tensor ``(b_i,)`` per part, on the device.

        Example:
          >>> import torch
          >>> from sampler.models import ImageClassifier
          >>> clf = ImageClassifier(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 4)))
          >>> a, b = clf.prepare(torch.rand(3, 2, 2)), clf.prepare(torch.rand(3, 2, 2))
          >>> parts = [torch.rand(2, 3, 2, 2), torch.rand(1, 3, 2, 2)]
          >>> [t.shape for t in clf.predict_many([a, b], parts)]
          [torch.Size([2]), torch.Size([1])]
        """
        num = len(pixels_list)
        if num < 1 or len(prepared_list) != num:
            raise ValueError("prepared_list and pixels_list must have one entry per part")
        for prepared, pixels in zip(prepared_list, pixels_list, strict=True):
            want = tuple(prepared.pixels.shape)
            if len(want) != 3 or want != tuple(prepared_list[0].pixels.shape):
                raise ValueError("prepared_list: every part must have the same (3, h, w) shape")
            check_pixels(pixels, want, device=self.device)
        counts = [p.shape[0] for p in pixels_list]
        with torch.inference_mode():
            pixels = pixels_list[0] if num == 1 else torch.cat(list(pixels_list))
            out = self.module(self.normalization(pixels, dtype=self.dtype))
            logits = getattr(out, "logits", out)
            if logits.ndim != 2 or logits.shape[0] != pixels.shape[0]:
                raise ValueError(
                    "module must return logits of shape (batch, classes), "
                    f"got {tuple(logits.shape)}"
                )
            return split_rows(logits.argmax(dim=-1), counts)
