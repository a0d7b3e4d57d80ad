"""The word-level tokenizer of the tiny models, built offline (:func:`build_tokenizer`).

Lower-cased words and single punctuation marks from a fixed English vocabulary of a few
hundred words (refusals, answers, robot commands, image words, :data:`DEFAULT_WORDS`),
with ``[PAD] [UNK] <s> </s> [MASK]`` and optionally the ``<image>`` token
(:data:`IMAGE_TOKEN`), and a plain chat template (``"user: ...\nassistant:"``, the image
before the text). Public names re-exported by :mod:`sampler._tiny` and :mod:`sampler.tiny`.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_WORDS", "IMAGE_TOKEN", "build_tokenizer"]

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
