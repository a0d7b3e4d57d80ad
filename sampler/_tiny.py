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
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable

import torch

__all__ = [
    "DEFAULT_WORDS",
    "IMAGE_TOKEN",
    "build_tiny_causal_lm",
    "build_tiny_llava",
    "build_tiny_nli",
    "build_tiny_text_encoder",
    "build_tokenizer",
]

IMAGE_TOKEN = "<image>"

_SPECIAL = {"pad": "[PAD]", "unk": "[UNK]", "bos": "<s>", "eos": "</s>", "mask": "[MASK]"}

# The default vocabulary, grouped by topic; duplicates are dropped in order of appearance.
_TOPICS = {
    "refusal": """i i'm sorry cannot can't can not help with that this request assist provide
        information unable to won't will not able it is against my guidelines apologize but as
        an ai language model harmful illegal unsafe dangerous unethical inappropriate policy
        decline refuse comply instead suggest please ask something else here are some""",
    "answers": """yes no maybe the a of in on at and or it there is are was were be been
        this that these those what which who where when why how many much some any all none
        one two three four five six seven eight nine ten first second third left right top
        bottom middle front back near far next behind above below between inside outside
        small large big little red green blue yellow black white gray brown orange pink purple
        color shape image picture photo shows show see seen looks like appears contains has
        have person people man woman child dog cat car bus tree house road sky water table
        chair book cup bottle phone computer food apple ball box door window wall floor
        sign text word number animal bird flower grass street building room kitchen""",
    "actions": """move forward backward turn left right stop pick place put grasp release
        open close push pull lift lower rotate go up down slowly quickly hold wait approach
        avoid object gripper arm robot hand target position goal step steps degrees meters
        action command execute done then now again until reach reached go_to""",
    "chat": """user assistant system you your me we our us he she they them his her their
        do does did not don't doesn't isn't aren't can could would should may might must
        will shall please thank thanks hello hi sure okay ok well answer question describe
        explain tell about for from by as if so because very more most less least also only
        just even still yet already true false correct wrong good bad safe unsafe""",
    "punctuation": """. , ? ! : ; ' " ( ) - /""",
}


def _default_words() -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in _TOPICS.values():
        for w in text.split():
            seen.setdefault(w, None)
    return tuple(seen)


DEFAULT_WORDS: tuple[str, ...] = _default_words()

# Whole words (with an inner apostrophe, as in "i'm", "don't") or single punctuation marks.
_WORD_PATTERN = r"[\w]+(?:'[\w]+)?|[^\w\s]"

_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image> {% elif part['type'] == 'text' %}"
    "{{ part['text'] }}{% endif %}{% endfor %}{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_tokenizer(words: Iterable[str] | None = None, *, image_token: bool = False):
    """A word-level tokenizer built offline, as a :class:`transformers.PreTrainedTokenizerFast`.

    Text is lower-cased, split into words (an inner apostrophe stays inside the word:
    ``"i'm"``) and single punctuation marks; a word outside the vocabulary becomes
    ``[UNK]``. Encoding prepends ``<s>``; a pair is ``<s> A </s> B </s>`` (token type 1 for
    ``B``), so the same tokenizer serves causal LMs, sentence encoders and NLI
    cross-encoders. Decoding joins words with spaces and removes the space before
    punctuation (``clean_up_tokenization_spaces``).

    Args:
      words: the vocabulary (lower case, no whitespace inside a word); defaults to
        :data:`DEFAULT_WORDS` (a few hundred words: refusals such as "i'm sorry, i cannot
        help with that", answers, robot commands such as "move forward turn left stop pick
        place", chat roles). Duplicates are dropped, order is kept.
      image_token: also add ``<image>`` as a special token (for vision-language processors).

    Returns:
      The tokenizer; ids ``0..4`` are ``[PAD] [UNK] <s> </s> [MASK]``, then ``<image>``
      if asked, then the words in order. The same arguments give the same ids.

    Raises:
      ValueError: an empty vocabulary, or a word with whitespace or upper-case letters.

    Example:
      >>> from sampler.tiny import build_tokenizer
      >>> tok = build_tokenizer()
      >>> ids = tok("I'm sorry, I cannot help with that.")["input_ids"]
      >>> tok.convert_ids_to_tokens(ids)[:5]
      ['<s>', "i'm", 'sorry', ',', 'i']
      >>> tok.decode(ids, skip_special_tokens=True)
      "i'm sorry, i cannot help with that."
    """
    return _make_tokenizer(words, image_token=image_token, token_types=False)


def _make_tokenizer(words, *, image_token: bool, token_types: bool):
    """:func:`build_tokenizer`; ``token_types`` adds ``token_type_ids`` to the outputs (BERT)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    words = DEFAULT_WORDS if words is None else tuple(dict.fromkeys(words))
    if not words:
        raise ValueError("words must hold at least one word")
    for w in words:
        if not isinstance(w, str) or not w or any(c.isspace() for c in w) or w != w.lower():
            raise ValueError(
                f"words must be non-empty lower-case strings without spaces, got {w!r}"
            )
    specials = list(_SPECIAL.values()) + ([IMAGE_TOKEN] if image_token else [])
    vocab: dict[str, int] = {}
    for t in (*specials, *words):
        vocab.setdefault(t, len(vocab))
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token=_SPECIAL["unk"]))
    tk.normalizer = normalizers.Lowercase()
    tk.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Split(Regex(_WORD_PATTERN), behavior="isolated"),
        ]
    )
    bos, eos = _SPECIAL["bos"], _SPECIAL["eos"]
    tk.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A",
        pair=f"{bos} $A {eos} $B:1 {eos}:1",
        special_tokens=[(bos, vocab[bos]), (eos, vocab[eos])],
    )
    extra = {"extra_special_tokens": {"image_token": IMAGE_TOKEN}} if image_token else {}
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk,
        pad_token=_SPECIAL["pad"],
        unk_token=_SPECIAL["unk"],
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        mask_token=_SPECIAL["mask"],
        clean_up_tokenization_spaces=True,
        model_max_length=512,
        padding_side="left",  # decoder-only generation pads on the left
        model_input_names=(
            ["input_ids", "token_type_ids", "attention_mask"]
            if token_types
            else ["input_ids", "attention_mask"]
        ),
        **extra,
    )
    if image_token:
        tok.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    tok.chat_template = _CHAT_TEMPLATE
    return tok


def _prepare_dir(path) -> pathlib.Path:
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _seeded_init(seed: int, make):
    """``make()`` under a forked, seeded torch RNG (the caller's RNG state is untouched)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


def _save(model, tokenizer_or_processor, path: pathlib.Path) -> pathlib.Path:
    model.save_pretrained(path)
    tokenizer_or_processor.save_pretrained(path)
    stray = sorted(p.name for p in path.glob("*.bin")) + sorted(p.name for p in path.glob("*.pt"))
    if stray:  # safetensors only: a pickle file must never be written
        raise RuntimeError(f"unexpected pickle weight files written: {stray}")
    return path


def _tiny_llama_config(vocab_size: int, tok, *, hidden: int = 32, layers: int = 2):
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=False,
    )


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
