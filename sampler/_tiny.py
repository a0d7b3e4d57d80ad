"""Tiny, randomly initialised models built offline, for tests and the offline demo.

Every builder makes a real :mod:`transformers` model from its real config class (a few
thousand parameters: hidden size 32, 2 layers), seeds the weights, and writes the model,
its tokenizer (and for the vision-language models the image processor and processor) with
``save_pretrained`` as safetensors only, so that the loading code under test runs the same
``from_pretrained`` path as for a hub checkpoint. Nothing is downloaded.

The tokenizer is word level (:func:`build_tokenizer`): lower-cased words and single
punctuation marks from a fixed English vocabulary of a few hundred words (refusals,
answers, robot commands, image words), with ``[PAD] [UNK] <s> </s> [MASK]`` and optionally
the ``<image>`` token. The outputs of the random models are random word sequences; they
exercise the code paths (tokenizing, batching, generating, decoding), never the quality.

Builders are deterministic: the same ``seed`` gives the same weights and files.

The builders live in single-purpose modules, re-exported here: the tokenizer in
:mod:`sampler._tiny_tokenizer`, the shared helpers in :mod:`sampler._tiny_build`, the LLaVA
in :mod:`sampler._tiny_llava`; the text models (causal LM, text encoder, NLI) are here.
"""

from __future__ import annotations

import pathlib

from sampler._tiny_build import (
    _prepare_dir,
    _save,
    _seeded_init,
    _tiny_llama_config,
)
from sampler._tiny_llava import (  # noqa: F401  (the private names of sampler._train_tiny)
    _CLIP_MEAN,
    _CLIP_STD,
    _TINY_IMAGE_SIZE,
    _TINY_PATCH_SIZE,
    LLAVA_VERSIONS,
    _llava,
    build_tiny_llava,
)
from sampler._tiny_tokenizer import (  # noqa: F401  (every name stays importable from here)
    _CHAT_TEMPLATE,
    _SPECIAL,
    _TOPICS,
    _WORD_PATTERN,
    DEFAULT_WORDS,
    IMAGE_TOKEN,
    _default_words,
    _make_tokenizer,
    build_tokenizer,
)

__all__ = [
    "DEFAULT_WORDS",
    "IMAGE_TOKEN",
    "build_tiny_causal_lm",
    "build_tiny_llava",
    "build_tiny_nli",
    "build_tiny_text_encoder",
    "build_tokenizer",
]


def _tiny_bert_config(vocab_size: int, tok, **kwargs):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=512,
        type_vocab_size=2,
        pad_token_id=tok.pad_token_id,
        **kwargs,
    )


def build_tiny_causal_lm(path, *, seed: int = 0) -> pathlib.Path:
    """A tiny random :class:`transformers.LlamaForCausalLM` with its tokenizer, saved to ``path``.

    Hidden size 32, 2 layers, 4 heads (2 key-value heads), vocabulary of
    :func:`build_tokenizer`; the tokenizer carries a plain chat template
    (``"user: ...\\nassistant:"``). Load it with ``AutoModelForCausalLM.from_pretrained(path)``
    and ``AutoTokenizer.from_pretrained(path)``.

    Args:
      path: directory to write (created if missing; files in it are overwritten).
      seed: weight seed, keyword-only; the same seed gives the same weights.

    Returns:
      ``path`` as a :class:`pathlib.Path`.

    Example:
      >>> import tempfile, transformers
      >>> from sampler.tiny import build_tiny_causal_lm
      >>> path = build_tiny_causal_lm(tempfile.mkdtemp())
      >>> model = transformers.AutoModelForCausalLM.from_pretrained(path, use_safetensors=True)
      >>> type(model).__name__, model.config.hidden_size
      ('LlamaForCausalLM', 32)
    """
    from transformers import LlamaForCausalLM

    path = _prepare_dir(path)
    tok = build_tokenizer()
    config = _tiny_llama_config(len(tok), tok)
    model = _seeded_init(seed, lambda: LlamaForCausalLM(config))
    model.generation_config.pad_token_id = tok.pad_token_id
    return _save(model, tok, path)


def build_tiny_text_encoder(path, *, seed: int = 0) -> pathlib.Path:
    """A tiny random :class:`transformers.BertModel` with its tokenizer, saved to ``path``.

    Meant for sentence embeddings by mean pooling of ``last_hidden_state`` over the
    attention mask. Hidden size 32, 2 layers, vocabulary of :func:`build_tokenizer`.

    Args:
      path: directory to write (created if missing).
      seed: weight seed, keyword-only.

    Returns:
      ``path`` as a :class:`pathlib.Path`.

    Example:
      >>> import tempfile, torch, transformers
      >>> from sampler.tiny import build_tiny_text_encoder
      >>> path = build_tiny_text_encoder(tempfile.mkdtemp())
      >>> tok = transformers.AutoTokenizer.from_pretrained(path)
      >>> model = transformers.AutoModel.from_pretrained(path, use_safetensors=True)
      >>> batch = tok(["turn left", "stop"], padding=True, return_tensors="pt")
      >>> with torch.inference_mode():
      ...     hidden = model(**batch).last_hidden_state
      >>> tuple(hidden.shape)
      (2, 3, 32)
    """
    from transformers import BertModel

    path = _prepare_dir(path)
    tok = _make_tokenizer(None, image_token=False, token_types=True)
    config = _tiny_bert_config(len(tok), tok)
    model = _seeded_init(seed, lambda: BertModel(config, add_pooling_layer=False))
    return _save(model, tok, path)


NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}


def build_tiny_nli(path, *, seed: int = 0) -> pathlib.Path:
    """A tiny random NLI :class:`transformers.BertForSequenceClassification`, saved to ``path``.

    Three labels, ``id2label = {0: "contradiction", 1: "neutral", 2: "entailment"}``; a
    premise-hypothesis pair is encoded as ``<s> premise </s> hypothesis </s>``. Hidden size
    32, 2 layers, vocabulary of :func:`build_tokenizer`.

    Args:
      path: directory to write (created if missing).
      seed: weight seed, keyword-only.

    Returns:
      ``path`` as a :class:`pathlib.Path`.

    Example:
      >>> import tempfile, transformers
      >>> from sampler.tiny import build_tiny_nli
      >>> path = build_tiny_nli(tempfile.mkdtemp())
      >>> model = transformers.AutoModelForSequenceClassification.from_pretrained(
      ...     path, use_safetensors=True)
      >>> model.config.id2label
      {0: 'contradiction', 1: 'neutral', 2: 'entailment'}
    """
    from transformers import BertForSequenceClassification

    path = _prepare_dir(path)
    tok = _make_tokenizer(None, image_token=False, token_types=True)
    config = _tiny_bert_config(
        len(tok),
        tok,
        num_labels=3,
        id2label=dict(NLI_LABELS),
        label2id={v: k for k, v in NLI_LABELS.items()},
    )
    model = _seeded_init(seed, lambda: BertForSequenceClassification(config))
    return _save(model, tok, path)
