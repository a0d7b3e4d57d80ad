"""Adapter for generative vision-language models from :mod:`transformers`.

:class:`VLM` wraps LLaVA 1.5 (``LlavaForConditionalGeneration``), LLaVA 1.6
(``LlavaNextForConditionalGeneration``) and any model that
``AutoModelForImageTextToText`` loads with an ``AutoProcessor`` whose image processor
outputs channels-first pixels; it implements :class:`sampler.models.Model` with texts as
predictions.

The hot path (:meth:`VLM.predict`) has no Python loop over samples and no per-sample host
synchronisation: the noisy pixels already live on the model's device, the normalization is
one fused affine op there, the prompt's token ids are repeated along the batch axis, and a
single ``generate`` call decodes the whole batch, under :func:`torch.inference_mode`.
:meth:`VLM.predict_many` decodes the copies of several inputs with the same prompt in one
call (the cross-input batching of :mod:`sampler._packing`). Sampled decoding gives each
copy its own uniforms (:func:`sampler.models.copy_uniforms`, one host-to-device copy per
call) and samples by inverse CDF after ``transformers``' warpers
(:func:`sampler.models.sampling_processors`), so a copy's text never depends on its batch
mates. [GPU-only to check: the float64 inverse CDF on the device and the pinned,
non-blocking copy of the uniforms.]
Decoding the token ids to text is the one device-to-host copy per batch. On GPU the model
runs in bf16 (fp16 where bf16 is unsupported); on CPU in float32. [GPU-only to check:
bf16 numerics and throughput; the CPU tests run the same code in float32.]
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from rstheory._deprecation import keyword_only
from sampler._models import (
    SAMPLING_SCHEME,
    DecodingConfig,
    Prepared,
    check_pixels,
    sampling_processors,
    split_rows,
)
from sampler._noise import pixel_normalization
from sampler._validation import check_images, resolve_device

__all__ = ["VLM", "resolve_dtype"]

# model_type -> class name in transformers; other types go through AutoModelForImageTextToText.
_MODEL_CLASSES = {
    "llava": "LlavaForConditionalGeneration",
    "llava_next": "LlavaNextForConditionalGeneration",
}
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@keyword_only("device")
def resolve_dtype(dtype: str | torch.dtype, *, device: torch.device) -> torch.dtype:
    """``"auto"``: bf16 on a CUDA device that supports it, else fp16 there; float32 elsewhere.

    Raises:
      ValueError: a dtype other than ``"auto"``, float32, bfloat16 or float16.
    """
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(_DTYPES)}, got {dtype!r}")
    return _DTYPES[dtype]


def _same_prompt(a: Prepared, b: Prepared) -> bool:
    """Equal pixel shapes and prompt tensors (compared on the device)."""
    return (
        a.pixels.shape == b.pixels.shape
        and a.inputs.keys() == b.inputs.keys()
        and all(
            a.inputs[k].shape == b.inputs[k].shape and torch.equal(a.inputs[k], b.inputs[k])
            for k in a.inputs
        )
    )


class VLM:
    """A generative VLM: one image and one prompt in, one text per noisy copy out.

    Build it with :meth:`from_pretrained`, or from an already loaded model and processor.

    Args:
      model: a ``transformers`` image-text-to-text model (``generate`` taking
        ``pixel_values``), on its device, in its dtype.
      processor: its processor (tokenizer + image processor); refused by
        :func:`sampler.noise.pixel_normalization` if its normalization is not affine.
      decoding: :class:`sampler.models.DecodingConfig`; greedy, 32 tokens by default.
      chat_template: format a plain prompt with the processor's chat template (an image
        then the text, with the generation prompt); a prompt that already holds the image
        token is used as is.

    Attributes:
      device, dtype: of the model. normalization: the processor's, applied after the noise.

    Example:
      >>> import tempfile, torch
      >>> from sampler.models import VLM, DecodingConfig, sample_predictions
      >>> from sampler.noise import noise_generator
      >>> from sampler.tiny import build_tiny_llava
      >>> path = build_tiny_llava(tempfile.mkdtemp(), version="1.5")
      >>> vlm = VLM.from_pretrained(path, device="cpu", decoding=DecodingConfig(max_new_tokens=4))
      >>> out = sample_predictions(vlm, torch.rand(3, 32, 32), "what is this?", n=3,
      ...                          sigma=0.25, generator=noise_generator(seed=0, device=vlm.device))
      >>> len(out.predictions), all(isinstance(t, str) for t in out.predictions)
      (3, True)
      >>> out.noise.input_shape
      (3, 28, 28)
      >>> vlm_gpu = VLM.from_pretrained("llava-hf/llava-1.5-7b-hf")  # doctest: +SKIP
    """

    def __init__(
        self,
        model,
        processor,
        *,
        decoding: DecodingConfig | None = None,
        chat_template: bool = True,
    ):
        decoding = DecodingConfig() if decoding is None else decoding
        if not isinstance(decoding, DecodingConfig):
            raise ValueError(f"decoding must be a DecodingConfig, got {type(decoding).__name__}")
        if getattr(processor, "image_processor", None) is None:
            raise ValueError(f"processor {type(processor).__name__} has no image_processor")
        if getattr(processor, "tokenizer", None) is None:
            raise ValueError(f"processor {type(processor).__name__} has no tokenizer")
        self.normalization = pixel_normalization(processor.image_processor)
        self.model = model.eval()
        self.processor = processor
        self.decoding = decoding
        self.chat_template = bool(chat_template)
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.name_or_path = str(getattr(model.config, "_name_or_path", "") or "")
        # Set by from_pretrained (sampler._model_identity.model_identity): what the
        # configuration hash holds instead of the name as typed; None for a model built here.
        self.identity: dict[str, Any] | None = None
        self._generation_config = self._make_generation_config()

    @classmethod
    def from_pretrained(
        cls,
        name_or_path,
        *,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "auto",
        decoding: DecodingConfig | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        chat_template: bool = True,
    ) -> VLM:
        """Load model and processor with ``from_pretrained`` (safetensors only).

        LLaVA 1.5 and 1.6 checkpoints load with their own classes; other model types with
        ``AutoModelForImageTextToText``; the processor with ``AutoProcessor``.

        Args:
          name_or_path: a local directory or a hub id.
          device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
          dtype: ``"auto"`` (bf16 / fp16 on GPU, float32 on CPU), ``"float32"``,
            ``"bfloat16"`` or ``"float16"``.
          decoding: see :class:`sampler.models.DecodingConfig`.
          trust_remote_code: run code shipped with the checkpoint; off unless asked.
          revision: hub revision (branch, tag or commit) to pin.
          chat_template: see :class:`VLM`.

        The model's :attr:`identity` (what a campaign's configuration hash holds instead of
        ``name_or_path`` as typed) is that of :func:`sampler._model_identity.model_identity`:
        the SHA-256 of the weight files and ``config.json`` of a directory, or the id,
        commit and blob names of a hub id in the local cache.

        Raises:
          ValueError: a bad ``device`` or ``dtype``, a processor this package refuses, or a
            ``name_or_path`` that is no directory and no hub id of the local cache
            (:func:`sampler._model_identity.resolve_model`, checked before loading).
        """
        import transformers

        from sampler._model_identity import model_identity, resolve_model

        dev = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, device=dev)
        resolved = resolve_model(name_or_path, revision=revision)
        common: dict[str, Any] = {"trust_remote_code": bool(trust_remote_code)}
        if revision is not None:
            common["revision"] = revision
        config = transformers.AutoConfig.from_pretrained(name_or_path, **common)
        class_name = _MODEL_CLASSES.get(getattr(config, "model_type", None))
        model_class = (
            getattr(transformers, class_name)
            if class_name
            else transformers.AutoModelForImageTextToText
        )
        model = model_class.from_pretrained(
            name_or_path, dtype=torch_dtype, use_safetensors=True, **common
        )
        # accelerate (device_map) is not a dependency: load on the host, then move once.
        model = model.to(dev)
        processor = transformers.AutoProcessor.from_pretrained(name_or_path, **common)
        vlm = cls(model, processor, decoding=decoding, chat_template=chat_template)
        if resolved is None:  # a hub id downloaded just now: in the local cache from here on
            resolved = resolve_model(name_or_path, revision=revision)
        vlm.identity = None if resolved is None else model_identity(resolved)
        return vlm

    def _make_generation_config(self):
        import transformers

        tok = self.processor.tokenizer
        base = self.model.generation_config
        special = {}
        for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
            value = getattr(base, name)
            special[name] = value if value is not None else getattr(tok, name)
        if special["pad_token_id"] is None:
            special["pad_token_id"] = special["eos_token_id"]
        # Sampled decoding runs a greedy generate whose logits processors sample
        # (sampler.models.sampling_processors); _generation_config stays HF's own sampling.
        greedy = {"max_new_tokens": self.decoding.max_new_tokens, "num_beams": 1}
        self._sampling_config = transformers.GenerationConfig(**special, **greedy, do_sample=False)
        return transformers.GenerationConfig(**special, **self.decoding.generate_kwargs())

    def with_decoding(self, decoding: DecodingConfig | None) -> VLM:
        """This VLM (the same weights, no copy) decoding with ``decoding``; None: itself."""
        if decoding is None or decoding == self.decoding:
            return self
        if not isinstance(decoding, DecodingConfig):
            raise ValueError(f"decoding must be a DecodingConfig, got {type(decoding).__name__}")
        other = copy.copy(self)
        other.decoding = decoding
        other._generation_config = other._make_generation_config()
        return other

    def config_dict(self) -> dict[str, Any]:
        """The recorded configuration: model, class, device, dtype, decoding, normalization.

        ``model`` is the :attr:`identity` (its name or path when it has none: a model built
        in memory); ``path_as_given`` is the name or path it was loaded from, as typed,
        which a campaign records but does not hash (:func:`sampler.run.config_hash`).
        """
        return {
            "model": self.name_or_path if self.identity is None else self.identity,
            "path_as_given": self.name_or_path,
            "model_class": type(self.model).__name__,
            "device": str(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "decoding": self.decoding.to_dict(),
            "normalization": self.normalization.to_dict(),
            "chat_template": self.chat_template,
            # Sampled rows of another random scheme must not share this configuration's hash.
            **({"sampling": SAMPLING_SCHEME} if self.decoding.do_sample else {}),
        }

    def format_prompt(self, prompt: str) -> str:
        """The prompt as the model reads it (chat template with one image, unless the prompt
        already holds the image token)."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"prompt must be a non-empty string, got {prompt!r}")
        image_token = getattr(self.processor, "image_token", None) or "<image>"
        if image_token in prompt:
            return prompt
        if self.chat_template and getattr(self.processor, "chat_template", None):
            conversation = [
                {
                    "role": "user",
                    "content": [{"type": "image"}, {"type": "text", "text": prompt}],
                }
            ]
            return self.processor.apply_chat_template(conversation, add_generation_prompt=True)
        return f"{image_token}\n{prompt}"

    def prepare(self, image: torch.Tensor, prompt: str) -> Prepared:
        """Resize/crop the clean image once and tokenize the prompt once (see module doc).

        Args:
          image: ``(3, H, W)`` float in ``[0, 1]``, any resolution.
          prompt: the question (formatted by :meth:`format_prompt`).

        Returns:
          :class:`sampler.models.Prepared` with the clean pixels in ``[0, 1]`` at the model's
          input resolution (``(3, h, w)``; ``(tiles, 3, h, w)`` for LLaVA 1.6) on the device.

        Raises:
          ValueError: a bad ``image`` or ``prompt``; an image processor whose output is not
            channels-first images (e.g. flattened patches), to which pixel noise cannot be
            added before the normalization.
        """
        check_images(image, name="image", batched=False)
        text = self.format_prompt(prompt)
        # The processor sees only the clean image; normalization is left to predict().
        enc = self.processor(
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
                f"image processor {type(self.processor.image_processor).__name__} returned "
                f"pixel_values of shape {shape}, not (1, [tiles,] 3, h, w): pixel-space noise "
                "cannot be added before its normalization"
            )
        # Bicubic resampling can overshoot [0, 1] slightly; the clean image stays in range.
        # A PIL-backed processor returns uint8 for an image whose values are all whole
        # numbers (e.g. all black): cast before clamping.
        pixels = pixels[0].float().clamp_(0.0, 1.0)
        non_blocking = self.device.type == "cuda"
        if non_blocking:
            pixels = pixels.pin_memory()
        pixels = pixels.to(self.device, non_blocking=non_blocking)
        inputs = {
            k: v.to(self.device, non_blocking=non_blocking)
            for k, v in enc.items()
            if isinstance(v, torch.Tensor)
        }
        return Prepared(pixels, inputs, text)

    def pack_key(self, prepared: Prepared) -> tuple:
        """What two inputs must share for their copies to be decoded in one ``generate`` call:
        the pixel shape and every prompt tensor (``input_ids``, ``attention_mask``,
        ``image_sizes``, ...), by value. One host copy of the prompt tensors per call."""
        inputs = tuple(
            (k, tuple(v.shape), str(v.dtype), v.cpu().numpy().tobytes())
            for k, v in sorted(prepared.inputs.items())
        )
        return ("vlm", tuple(prepared.pixels.shape), inputs)

    def predict(
        self,
        prepared: Prepared,
        pixels: torch.Tensor,
        *,
        seed: int | None = None,
        stopping_criteria: Sequence | None = None,
    ) -> list[str]:
        """Texts for a batch of (noisy) pixels, one ``generate`` call for the whole batch.

        Args:
          prepared: from :meth:`prepare`.
          pixels: ``(batch, *prepared.pixels.shape)`` in ``[0, 1]``-pixel units (noisy, not
            clipped), on the model's device; ``batch >= 1``.
          seed: seed of sampled decoding for this batch (None: ``decoding.seed``); copy ``j``
            draws its tokens from :func:`sampler.models.copy_uniforms` of ``(seed, j)``, so
            its text does not depend on the other copies; the global torch RNG is not used.
            Ignored by greedy decoding.
          stopping_criteria: ``transformers`` stopping criteria for ``generate`` (per-row,
            returning a bool tensor ``(batch,)``), or None.

        Returns:
          ``batch`` texts, special tokens removed, surrounding whitespace stripped.

        Raises:
          ValueError: ``pixels`` of the wrong shape, dtype or device, or an empty batch.
        """
        return self.predict_many(
            [prepared], [pixels], seeds=[seed], stopping_criteria=stopping_criteria
        )[0]

    def predict_many(
        self,
        prepared_list: Sequence[Prepared],
        pixels_list: Sequence[torch.Tensor],
        *,
        seeds: Sequence[int | None] | None = None,
        offsets: Sequence[int] | None = None,
        stopping_criteria: Sequence | None = None,
    ) -> list[list[str]]:
        """The texts of several parts in one ``generate`` call: :meth:`predict` of each part.

        Part ``i`` is ``pixels_list[i]`` (``(b_i, *shape)``) of an input prepared as
        ``prepared_list[i]``; every part must have the :meth:`pack_key` of the first (the
        same prompt), which gives the prompt tensors. The pixels are concatenated to one
        batch of ``sum(b_i)``; with sampled decoding row ``r`` of part ``i`` is copy
        ``offsets[i] + r`` of seed ``seeds[i]`` (:func:`sampler.models.copy_uniforms`), so a
        request cut into two parts decodes as it would whole. Greedy rows depend on their
        batch mates only through floating-point reductions of other batch sizes.

        Args:
          prepared_list, pixels_list: the parts, at least one, of equal length.
          seeds: decoding seed of each part (None entries: ``decoding.seed``); default all None.
          offsets: copy index of each part's first row in its request; default all 0.
          stopping_criteria: as in :meth:`predict`.

        Returns:
          one list of ``b_i`` texts per part.

        Raises:
          ValueError: mismatched lengths, parts of another prompt, bad pixels (as
            :meth:`predict`).
        """
        num = len(pixels_list)
        seeds = [None] * num if seeds is None else list(seeds)
        offsets = [0] * num if offsets is None else list(offsets)
        if num < 1 or not len(prepared_list) == num == len(seeds) == len(offsets):
            raise ValueError(
                "prepared_list, pixels_list, seeds and offsets must have one entry per part"
            )
        prepared = prepared_list[0]
        want = tuple(prepared.pixels.shape)
        for other, pixels in zip(prepared_list, pixels_list, strict=True):
            if other is not prepared and not _same_prompt(other, prepared):
                raise ValueError("prepared_list: every part must have the same prompt and shape")
            check_pixels(pixels, want, device=self.device)
        counts = [p.shape[0] for p in pixels_list]
        batch = sum(counts)
        prompt_length = prepared.inputs["input_ids"].shape[1]

        from transformers import LogitsProcessorList, StoppingCriteriaList

        config, processors = self._generation_config, LogitsProcessorList()
        if self.decoding.do_sample:
            config = self._sampling_config
            seeds = [self.decoding.seed if s is None else s for s in seeds]
            processors.extend(
                sampling_processors(
                    self.decoding,
                    seeds=seeds,
                    offsets=offsets,
                    counts=counts,
                    prompt_length=prompt_length,
                    device=self.device,
                )
            )
        extra = {}
        if stopping_criteria:
            extra["stopping_criteria"] = StoppingCriteriaList(list(stopping_criteria))
        with torch.inference_mode():
            inputs = {
                k: v.expand(batch, *v.shape[1:]).contiguous() for k, v in prepared.inputs.items()
            }
            pixels = pixels_list[0] if num == 1 else torch.cat(list(pixels_list))
            inputs["pixel_values"] = self.normalization(pixels, dtype=self.dtype)
            out = self.model.generate(
                **inputs, generation_config=config, logits_processor=processors, **extra
            )
        new_tokens = out[:, prompt_length:].cpu()
        texts = [
            t.strip() for t in self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        ]
        return split_rows(texts, counts)
