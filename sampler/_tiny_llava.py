"""The tiny random LLaVA 1.5 / 1.6 (:func:`build_tiny_llava`) and the builder it shares
with the trained toy model of :mod:`sampler._train_tiny` (:func:`_llava`). Re-exported by
:mod:`sampler._tiny` and :mod:`sampler.tiny`."""

from __future__ import annotations

import pathlib

from sampler._tiny_build import _prepare_dir, _save, _seeded_init, _tiny_llama_config
from sampler._tiny_tokenizer import _CHAT_TEMPLATE, IMAGE_TOKEN, _make_tokenizer

__all__ = ["LLAVA_VERSIONS", "build_tiny_llava"]

# Geometry of the tiny vision tower: 28 x 28 pixel inputs in 7 x 7 patches, 16 patch tokens.
_TINY_IMAGE_SIZE = 28
_TINY_PATCH_SIZE = 7
# CLIP's normalization constants, so the tiny models normalize as the real LLaVA checkpoints.
_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

LLAVA_VERSIONS = ("1.5", "1.6")


def build_tiny_llava(path, *, version: str = "1.5", seed: int = 0) -> pathlib.Path:
    """A tiny random LLaVA with its processor, saved to ``path``.

    ``version="1.5"`` builds :class:`transformers.LlavaForConditionalGeneration` with a
    :class:`transformers.LlavaProcessor` (CLIP image processor: resize the shortest edge to
    28, center crop 28 x 28); ``"1.6"`` builds
    :class:`transformers.LlavaNextForConditionalGeneration` with a
    :class:`transformers.LlavaNextProcessor` ("anyres" tiles of 28 x 28 from the grid
    pinpoints ``28x28, 28x56, 56x28, 56x56``). Both use a CLIP vision tower (hidden 32, 2
    layers, patch 7, so 16 image tokens per tile), a Llama language model (hidden 32, 2
    layers), CLIP's normalization constants and a chat template that puts ``<image>``
    before the text (``"user: <image> ...\nassistant:"``).

    Args:
      path: directory to write (created if missing).
      version: ``"1.5"`` or ``"1.6"``, keyword-only.
      seed: weight seed, keyword-only.

    Returns:
      ``path`` as a :class:`pathlib.Path`; load it with :class:`sampler.models.VLM` or
      ``AutoModelForImageTextToText.from_pretrained(path)`` and
      ``AutoProcessor.from_pretrained(path)``.

    Raises:
      ValueError: an unknown ``version``.

    Example:
      >>> import tempfile, transformers
      >>> from sampler.tiny import build_tiny_llava
      >>> path = build_tiny_llava(tempfile.mkdtemp(), version="1.6")
      >>> model = transformers.AutoModelForImageTextToText.from_pretrained(
      ...     path, use_safetensors=True)
      >>> type(model).__name__
      'LlavaNextForConditionalGeneration'
    """
    if version not in LLAVA_VERSIONS:
        raise ValueError(f"version must be one of {LLAVA_VERSIONS}, got {version!r}")
    path = _prepare_dir(path)
    tok = _make_tokenizer(None, image_token=True, token_types=False)
    model, processor = _llava(tok, seed=seed, version=version)
    return _save(model, processor, path)


def _llava(
    tok,
    *,
    seed: int,
    version: str = "1.5",
    hidden: int = 32,
    layers: int = 2,
    vision_layers: int = 2,
    patch_size: int = _TINY_PATCH_SIZE,
    feature_layer: int = -2,
):
    """The seeded LLaVA of ``version`` and its processor around the tokenizer ``tok``.

    One builder for :func:`build_tiny_llava` and the trained toy model of
    :mod:`sampler._train_tiny`: a CLIP vision tower (``vision_layers`` layers, read at
    ``feature_layer``, the class token dropped by the "default" strategy) on
    ``_TINY_IMAGE_SIZE`` square inputs in ``patch_size`` patches, so
    ``(_TINY_IMAGE_SIZE // patch_size) ** 2`` image tokens per tile, and a Llama language
    model (``layers`` layers), both of width ``hidden`` (4 heads, MLP ``2 * hidden``).

    Returns:
      ``(model, processor)``, the generation config carrying the tokenizer's special ids.
    """
    import transformers as tf

    s = _TINY_IMAGE_SIZE
    vision_config = tf.CLIPVisionConfig(
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=vision_layers,
        num_attention_heads=4,
        image_size=s,
        patch_size=patch_size,
        projection_dim=hidden,
    )
    text_config = _tiny_llama_config(len(tok), tok, hidden=hidden, layers=layers)
    image_kwargs = dict(
        size={"shortest_edge": s},
        crop_size={"height": s, "width": s},
        image_mean=_CLIP_MEAN,
        image_std=_CLIP_STD,
    )
    common = dict(
        vision_config=vision_config,
        text_config=text_config,
        image_token_index=tok.convert_tokens_to_ids(IMAGE_TOKEN),
        image_seq_length=(s // patch_size) ** 2,
        vision_feature_select_strategy="default",
        vision_feature_layer=feature_layer,
    )
    if version == "1.5":
        config = tf.LlavaConfig(**common)
        image_processor = tf.CLIPImageProcessorPil(**image_kwargs)
        make_model, make_processor = tf.LlavaForConditionalGeneration, tf.LlavaProcessor
    else:
        pinpoints = [[s, s], [s, 2 * s], [2 * s, s], [2 * s, 2 * s]]
        config = tf.LlavaNextConfig(**common, image_grid_pinpoints=pinpoints)
        image_processor = tf.LlavaNextImageProcessorPil(
            **image_kwargs, image_grid_pinpoints=pinpoints
        )
        make_model, make_processor = (
            tf.LlavaNextForConditionalGeneration,
            tf.LlavaNextProcessor,
        )
    config.pad_token_id = tok.pad_token_id
    processor = make_processor(
        image_processor=image_processor,
        tokenizer=tok,
        patch_size=patch_size,
        vision_feature_select_strategy="default",
        chat_template=_CHAT_TEMPLATE,
        image_token=IMAGE_TOKEN,
        num_additional_image_tokens=1,  # CLIP's class token, dropped by the "default" strategy
    )
    model = _seeded_init(seed, lambda: make_model(config))
    for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
        setattr(model.generation_config, key, getattr(tok, key))
    return model, processor
