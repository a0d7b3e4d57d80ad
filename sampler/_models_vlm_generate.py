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

from sampler._models import DecodingConfig, Prepared, sampling_processors, split_rows

__all__ = ["GenerationConfigs", "generate_texts", "generation_configs"]


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
