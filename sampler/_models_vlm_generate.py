"""Decoding of a :class:`sampler.models.VLM`: generation configs and the one ``generate``
call per batch.

:func:`generation_configs` builds ``transformers`` generation configs from a
:class:`sampler.models.DecodingConfig`; :func:`generate_texts` is the body of
``VLM.predict_many``: the prompt tensors repeated along the batch axis, the noisy pixels of
every part concatenated and normalized in one fused affine op on the device, one
``generate`` call under :func:`torch.inference_mode`, and one device-to-host copy of the new
tokens. Sampled decoding runs a greedy ``generate`` whose logits processors sample each copy
from its own uniforms (:func:`sampler.models.sampling_processors`). With
``decoding.early_stop`` an :class:`sampler.models.OracleStop` of the bound oracle stops each
row once its label is final (:mod:`sampler._early_stop` gives when that is sound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from sampler._models import (
    DecodingConfig,
    Prepared,
    check_pixels,
    sampling_processors,
    split_rows,
)
from sampler._models_vlm_inputs import same_prompt

__all__ = [
    "GenerationConfigs",
    "check_parts",
    "early_stop_criterion",
    "generate_texts",
    "generation_configs",
]


class GenerationConfigs(NamedTuple):
    """``own``: ``transformers``' own decoding of the settings (greedy or its sampling);
    ``greedy``: the greedy config under which sampled decoding runs its own sampler."""

    own: Any
    greedy: Any


def generation_configs(model, processor, decoding: DecodingConfig) -> GenerationConfigs:
    """The generation configs of ``decoding`` for ``model``: the special token ids of the
    model's generation config, else of the processor's tokenizer (``pad`` falls back to
    ``eos``), with ``decoding``'s length and sampling settings."""
    import transformers

    tok = processor.tokenizer
    base = model.generation_config
    special = {}
    for name in ("pad_token_id", "eos_token_id", "bos_token_id"):
        value = getattr(base, name)
        special[name] = value if value is not None else getattr(tok, name)
    if special["pad_token_id"] is None:
        special["pad_token_id"] = special["eos_token_id"]
    greedy = {"max_new_tokens": decoding.max_new_tokens, "num_beams": 1}
    return GenerationConfigs(
        own=transformers.GenerationConfig(**special, **decoding.generate_kwargs()),
        greedy=transformers.GenerationConfig(**special, **greedy, do_sample=False),
    )


def check_parts(prepared_list, pixels_list, seeds, offsets, *, device: torch.device):
    """The parts of ``VLM.predict_many`` checked: ``(prepared, seeds, offsets)``, the first
    part's :class:`sampler.models.Prepared` and the seeds and offsets as lists.

    Raises:
      ValueError: mismatched lengths, a part of another prompt or shape, bad pixels.
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
        if other is not prepared and not same_prompt(other, prepared):
            raise ValueError("prepared_list: every part must have the same prompt and shape")
        check_pixels(pixels, want, device=device)
    return prepared, seeds, offsets


def early_stop_criterion(vlm, prepared: Prepared):
    """The :class:`sampler.models.OracleStop` of ``vlm``'s bound oracle for a call on
    ``prepared``'s prompt (its length, the generation config's EOS) when
    ``vlm.decoding.early_stop``; None otherwise.

    Raises:
      ValueError: early stop without a bound oracle.
    """
    if not vlm.decoding.early_stop:
        return None
    if vlm.oracle is None:
        raise ValueError(
            "decoding.early_stop is true but no oracle is bound: decode with "
            "vlm.with_oracle(oracle) (sampler.certify.certify binds its oracle)"
        )
    from sampler._early_stop import OracleStop

    return OracleStop(
        vlm.processor,
        vlm.oracle,
        prompt_length=prepared.inputs["input_ids"].shape[1],
        eos_token_id=vlm._generation_config.eos_token_id,
    )


def generate_texts(
    vlm,
    prepared: Prepared,
    pixels_list: Sequence[torch.Tensor],
    *,
    seeds: Sequence[int | None],
    offsets: Sequence[int],
    criteria: Sequence = (),
) -> list[list[str]]:
    """The texts of the parts ``pixels_list`` (checked already) of ``prepared``'s prompt in
    one ``generate`` call of ``vlm``; ``criteria``: ``transformers`` stopping criteria."""
    from transformers import LogitsProcessorList, StoppingCriteriaList

    counts = [p.shape[0] for p in pixels_list]
    batch = sum(counts)
    prompt_length = prepared.inputs["input_ids"].shape[1]
    config, processors = vlm._generation_config, LogitsProcessorList()
    if vlm.decoding.do_sample:
        config = vlm._sampling_config
        seeds = [vlm.decoding.seed if s is None else s for s in seeds]
        processors.extend(
            sampling_processors(
                vlm.decoding,
                seeds=seeds,
                offsets=offsets,
                counts=counts,
                prompt_length=prompt_length,
                device=vlm.device,
            )
        )
    extra = {}
    if criteria:
        extra["stopping_criteria"] = StoppingCriteriaList(list(criteria))
    with torch.inference_mode():
        inputs = {k: v.expand(batch, *v.shape[1:]).contiguous() for k, v in prepared.inputs.items()}
        pixels = pixels_list[0] if len(pixels_list) == 1 else torch.cat(list(pixels_list))
        inputs["pixel_values"] = vlm.normalization(pixels, dtype=vlm.dtype)
        out = vlm.model.generate(
            **inputs, generation_config=config, logits_processor=processors, **extra
        )
    new_tokens = out[:, prompt_length:].cpu()
    texts = [t.strip() for t in vlm.processor.batch_decode(new_tokens, skip_special_tokens=True)]
    return split_rows(texts, counts)
