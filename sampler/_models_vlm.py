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

Early stop: a VLM bound to an oracle (:meth:`VLM.with_oracle`) whose decoding has
``early_stop`` stops each copy once the oracle declares the label of its text final
(:class:`sampler.models.OracleStop`); :func:`sampler.certify.certify` binds it.

The work is split by purpose: loading, dtype and placement (``device_map``) in
:mod:`sampler._models_vlm_load`, the prompt and the clean image in
:mod:`sampler._models_vlm_inputs`, the ``generate`` call in :mod:`sampler._models_vlm_generate`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

import torch

from sampler import _models_vlm_load
from sampler._models import SAMPLING_SCHEME, DecodingConfig, Prepared
from sampler._models_vlm_generate import (
    check_parts,
    early_stop_criterion,
    generate_texts,
    generation_configs,
)
from sampler._models_vlm_inputs import format_prompt, pack_key, prepare_input, same_prompt
from sampler._models_vlm_load import input_device, load_pretrained, resolve_dtype
from sampler._noise import pixel_normalization

__all__ = ["VLM", "resolve_dtype"]

# Names this module defined before the split into loading, inputs and decoding.
_MODEL_CLASSES = _models_vlm_load.MODEL_CLASSES
_DTYPES = _models_vlm_load.DTYPES
_same_prompt = same_prompt


class VLM:
    """A generative VLM: one image and one prompt in, one text per noisy copy out.

    Build it with :meth:`from_pretrained`, or from an already loaded model and processor.

    Args:
      model: a ``transformers`` image-text-to-text model (``generate`` taking
        ``pixel_values``), on its device(s), in its dtype.
      processor: its processor (tokenizer + image processor); refused by
        :func:`sampler.noise.pixel_normalization` if its normalization is not affine.
      decoding: :class:`sampler.models.DecodingConfig`; greedy, 32 tokens by default.
      chat_template: format a plain prompt with the processor's chat template (an image
        then the text, with the generation prompt); a prompt that already holds the image
        token is used as is.

    Attributes:
      device: where the inputs (and the noise) go: the input embedding's device
        (:func:`sampler._models_vlm_load.input_device`). dtype: of the model.
      device_map: the module placement of a model dispatched over several devices
        (``model.hf_device_map``), else None; not recorded (it does not change the texts).
      normalization: the processor's, applied after the noise.
      oracle: the oracle bound by :meth:`with_oracle`, else None.
      early_stop_counts: :class:`sampler._early_stop.EarlyStopCounts` summed over the
        ``generate`` calls of a copy made by :meth:`with_oracle` with early stop, else None.

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
      >>> vlm_13b = VLM.from_pretrained(  # doctest: +SKIP
      ...     "llava-hf/llava-1.5-13b-hf", device_map="auto")  # sharded over the GPUs
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
        self.device = input_device(model)
        self.dtype = next(model.parameters()).dtype
        map_ = getattr(model, "hf_device_map", None)
        self.device_map: dict[str, Any] | None = None if map_ is None else dict(map_)
        self.name_or_path = str(getattr(model.config, "_name_or_path", "") or "")
        # Set by from_pretrained (sampler._model_identity.model_identity): what the
        # configuration hash holds instead of the name as typed; None for a model built here.
        self.identity: dict[str, Any] | None = None
        self.oracle = None
        self.early_stop_counts = None
        self._counts_lock = threading.Lock()
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
        device_map: str | dict | None = None,
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
          device_map: None (load on the host, move once to ``device``), or a placement of
            the modules by ``accelerate``: ``"auto"``, ``"balanced"``, ``"balanced_low_0"``,
            ``"sequential"``, or a dict from module names to devices, to shard a model too
            large for one GPU (:mod:`sampler._models_vlm_load`); ``device`` stays
            ``"auto"`` then. The texts do not depend on it (it is not recorded).

        The model's :attr:`identity` (what a campaign's configuration hash holds instead of
        ``name_or_path`` as typed) is that of :func:`sampler._model_identity.model_identity`:
        the SHA-256 of the weight files and ``config.json`` of a directory, or the id,
        commit and blob names of a hub id in the local cache.

        Raises:
          ValueError: a bad ``device``, ``dtype`` or ``device_map``, a processor this package
            refuses, or a ``name_or_path`` that is no directory and no hub id of the local
            cache (:func:`sampler._model_identity.resolve_model`, checked before loading).
        """
        from sampler._model_identity import model_identity, resolve_model

        resolved = resolve_model(name_or_path, revision=revision)
        loaded = load_pretrained(
            name_or_path,
            device=device,
            dtype=dtype,
            device_map=device_map,
            trust_remote_code=trust_remote_code,
            revision=revision,
        )
        vlm = cls(loaded.model, loaded.processor, decoding=decoding, chat_template=chat_template)
        if resolved is None:  # a hub id downloaded just now: in the local cache from here on
            resolved = resolve_model(name_or_path, revision=revision)
        vlm.identity = None if resolved is None else model_identity(resolved)
        return vlm

    def _make_generation_config(self):
        # Sampled decoding runs a greedy generate whose logits processors sample
        # (sampler.models.sampling_processors); _generation_config stays HF's own sampling.
        configs = generation_configs(self.model, self.processor, self.decoding)
        self._sampling_config = configs.greedy
        return configs.own

    def with_decoding(self, decoding: DecodingConfig | None) -> VLM:
        """This VLM (the same weights, no copy) decoding with ``decoding``; None: itself.

        A copy bound to an oracle stays bound (with its own early-stop counters)."""
        if decoding is None or decoding == self.decoding:
            return self
        if not isinstance(decoding, DecodingConfig):
            raise ValueError(f"decoding must be a DecodingConfig, got {type(decoding).__name__}")
        other = copy.copy(self)
        other.decoding = decoding
        other._generation_config = other._make_generation_config()
        other._new_counts()
        return other

    def with_oracle(self, oracle) -> VLM:
        """This VLM (the same weights, no copy) bound to ``oracle`` for early stop.

        When ``decoding.early_stop`` is true, every ``generate`` call of the copy stops a row
        as soon as ``oracle`` declares the label of its text final
        (:class:`sampler.models.OracleStop`, with the prompt's length and the generation
        config's EOS), so the oracle's labels of the returned texts are those of the full
        decoding (:mod:`sampler._early_stop` states when); without early stop the binding
        changes nothing. :func:`sampler.certify.certify` binds its oracle itself.

        Args:
          oracle: an oracle that declares final labels (``final_label``:
            :class:`sampler.oracles.RefusalJudge`, :class:`sampler.oracles.ActionParser`).

        Raises:
          ValueError: an oracle without ``final_label`` (a semantic clusterer, an LLM
            judge), or None.

        Example:
          >>> import tempfile, torch
          >>> from sampler.models import VLM, DecodingConfig
          >>> from sampler.oracles import RefusalJudge
          >>> from sampler.tiny import build_tiny_llava
          >>> vlm = VLM.from_pretrained(build_tiny_llava(tempfile.mkdtemp()), device="cpu",
          ...     decoding=DecodingConfig(max_new_tokens=8, early_stop=True))
          >>> prep = vlm.prepare(torch.rand(3, 32, 32), "what is this?")
          >>> full = vlm.with_decoding(DecodingConfig(max_new_tokens=8))
          >>> word = full.predict(prep, prep.pixels[None])[0].split()[0]
          >>> bound = vlm.with_oracle(RefusalJudge([word]))  # a "refusal" at the first word
          >>> bound.predict(prep, prep.pixels[None]) == [word]
          True
          >>> bound.early_stop_counts.decided, bound.early_stop_counts.generated
          (1, 1)
        """
        from sampler._early_stop import declares_final_labels

        if not declares_final_labels(oracle):
            raise ValueError(
                "oracle must declare final labels of prefixes (final_label, as RefusalJudge "
                f"and ActionParser do) to be bound for early stop, got {type(oracle).__name__}"
            )
        other = copy.copy(self)
        other.oracle = oracle
        other._new_counts()
        return other

    def _new_counts(self) -> None:
        from sampler._early_stop import EarlyStopCounts

        bound = self.oracle is not None and self.decoding.early_stop
        self.early_stop_counts = EarlyStopCounts() if bound else None
        self._counts_lock = threading.Lock()

    def config_dict(self) -> dict[str, Any]:
        """The recorded configuration: model, class, device, dtype, decoding, normalization.

        ``model`` is the :attr:`identity` (its name or path when it has none: a model built
        in memory); ``path_as_given`` is the name or path it was loaded from, as typed,
        which a campaign records but does not hash (:func:`sampler.run.config_hash`).
        ``decoding`` holds ``early_stop`` when it is true (the texts are cut). The bound
        oracle is recorded by the campaign; :attr:`device_map` is not recorded.
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
        already holds the image token; :func:`sampler._models_vlm_inputs.format_prompt`)."""
        return format_prompt(self.processor, prompt, chat_template=self.chat_template)

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
        text = self.format_prompt(prompt)
        return prepare_input(self.processor, image, text, device=self.device)

    def pack_key(self, prepared: Prepared) -> tuple:
        """What two inputs must share for their copies to be decoded in one ``generate`` call:
        the pixel shape and every prompt tensor (``input_ids``, ``attention_mask``,
        ``image_sizes``, ...), by value. One host copy of the prompt tensors per call."""
        return pack_key(prepared)

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
            returning a bool tensor ``(batch,)``), or None; with ``decoding.early_stop`` the
            bound oracle's :class:`sampler.models.OracleStop` is added to them.

        Returns:
          ``batch`` texts, special tokens removed, surrounding whitespace stripped; with
          early stop, cut after the token that decided the oracle's label.

        Raises:
          ValueError: ``pixels`` of the wrong shape, dtype or device, an empty batch, or
            ``decoding.early_stop`` without a bound oracle (:meth:`with_oracle`).
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
        batch mates only through floating-point reductions of other batch sizes; with early
        stop, a row's stop changes no other row (:mod:`sampler._early_stop`).

        Args:
          prepared_list, pixels_list: the parts, at least one, of equal length.
          seeds: decoding seed of each part (None entries: ``decoding.seed``); default all None.
          offsets: copy index of each part's first row in its request; default all 0.
          stopping_criteria: as in :meth:`predict`.

        Returns:
          one list of ``b_i`` texts per part.

        Raises:
          ValueError: mismatched lengths, parts of another prompt, bad pixels, early stop
            without a bound oracle (as :meth:`predict`).
        """
        prepared, seeds, offsets = check_parts(
            prepared_list, pixels_list, seeds, offsets, device=self.device
        )
        criteria = list(stopping_criteria or ())
        stop = early_stop_criterion(self, prepared)
        if stop is not None:
            criteria.append(stop)
        texts = generate_texts(
            self, prepared, pixels_list, seeds=seeds, offsets=offsets, criteria=criteria
        )
        if stop is not None:
            self._add_counts(stop.counts)
        return texts

    def _add_counts(self, counts) -> None:
        with self._counts_lock:
            total = self.early_stop_counts
            for field in type(counts).__dataclass_fields__:
                setattr(total, field, getattr(total, field) + getattr(counts, field))
