"""The inputs of a :class:`sampler.models.VLM`: the prompt as the model reads it, the clean
image at the model's resolution, and what two inputs share to be decoded in one call.

:func:`prepare_input` runs the processor once per input on the clean image, without its
normalization (the noise is added in ``[0, 1]``-pixel units first; ``VLM.predict``
normalizes on the device), and moves the pixels and the prompt tensors to the model's
input device (:func:`sampler._models_vlm_load.input_device`) once.
"""

from __future__ import annotations

import torch

from sampler._models import Prepared
from sampler._validation import check_images

__all__ = ["format_prompt", "pack_key", "prepare_input", "same_prompt"]


def format_prompt(processor, prompt: str, *, chat_template: bool) -> str:
    """``prompt`` as the model reads it: with the processor's chat template (one image, then
    the text, then the generation prompt) when ``chat_template`` and the processor has one,
    else ``"<image>\\n" + prompt``; a prompt that already holds the image token is kept.

    Raises:
      ValueError: an empty or non-string ``prompt``.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
    image_token = getattr(processor, "image_token", None) or "<image>"
    if image_token in prompt:
        return prompt
    if chat_template and getattr(processor, "chat_template", None):
        conversation = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}
        ]
        return processor.apply_chat_template(conversation, add_generation_prompt=True)
    return f"{image_token}\n{prompt}"


def prepare_input(processor, image: torch.Tensor, text: str, *, device: torch.device) -> Prepared:
    """The :class:`sampler.models.Prepared` of one clean image and a formatted prompt.

    Args:
      processor: the model's processor.
      image: ``(3, H, W)`` float in ``[0, 1]``, any resolution.
      text: the prompt as :func:`format_prompt` formats it.
      device: where the pixels and prompt tensors go.

    Returns:
      pixels ``(3, h, w)`` (``(tiles, 3, h, w)`` for LLaVA 1.6) float32 in ``[0, 1]``, and
      the prompt tensors with a batch axis of 1, on ``device``.

    Raises:
      ValueError: a bad ``image``; an image processor whose output is not channels-first
        images (e.g. flattened patches), to which pixel noise cannot be added before the
        normalization.
    """
    check_images(image, name="image", batched=False)
    # The processor sees only the clean image; normalization is left to predict().
    enc = processor(
        images=[image.detach().float().cpu()],
        text=[text],
        return_tensors="pt",
        do_normalize=False,
        do_rescale=False,
    )
    pixels = enc.pop("pixel_values", None)
    if (
        not isinstance(pixels, torch.Tensor)
        or pixels.ndim not in (4, 5)
        or pixels.shape[0] != 1
        or pixels.shape[-3] != 3
    ):
        shape = tuple(pixels.shape) if isinstance(pixels, torch.Tensor) else None
        raise ValueError(
            f"image processor {type(processor.image_processor).__name__} returned "
            f"pixel_values of shape {shape}, not (1, [tiles,] 3, h, w): pixel-space noise "
            "cannot be added before its normalization"
        )
    # Bicubic resampling can overshoot [0, 1] slightly; the clean image stays in range.
    # A PIL-backed processor returns uint8 for an image whose values are all whole
    # numbers (e.g. all black): cast before clamping.
    pixels = pixels[0].float().clamp_(0.0, 1.0)
    non_blocking = device.type == "cuda"
    if non_blocking:
        pixels = pixels.pin_memory()
    pixels = pixels.to(device, non_blocking=non_blocking)
    inputs = {
        k: v.to(device, non_blocking=non_blocking)
        for k, v in enc.items()
        if isinstance(v, torch.Tensor)
    }
    return Prepared(pixels, inputs, text)


def pack_key(prepared: Prepared) -> tuple:
    """What two inputs must share for their copies to be decoded in one ``generate`` call:
    the pixel shape and every prompt tensor (``input_ids``, ``attention_mask``,
    ``image_sizes``, ...), by value. One host copy of the prompt tensors per call."""
    inputs = tuple(
        (k, tuple(v.shape), str(v.dtype), v.cpu().numpy().tobytes())
        for k, v in sorted(prepared.inputs.items())
    )
    return ("vlm", tuple(prepared.pixels.shape), inputs)


def same_prompt(a: Prepared, b: Prepared) -> bool:
    """Equal pixel shapes and prompt tensors (compared on the device)."""
    return (
        a.pixels.shape == b.pixels.shape
        and a.inputs.keys() == b.inputs.keys()
        and all(
            a.inputs[k].shape == b.inputs[k].shape and torch.equal(a.inputs[k], b.inputs[k])
            for k in a.inputs
        )
    )
