"""Text oracles: the protocol (texts -> class ids) and their error rates on a labelled set.

An *oracle* turns the decoded answers of the smoothed model into class ids, so that
:func:`sampler.count_votes` can count them. Every oracle of :mod:`sampler.oracles` has

* ``labels``: the class names, a tuple of strings; index = class id;
* ``num_classes``: ``len(labels)``;
* ``__call__(texts) -> torch.LongTensor`` of shape ``(len(texts),)``, values in
  ``[0, num_classes)``; on the CPU, whatever device a model runs on.

An oracle makes mistakes, and :mod:`rstheory.oracle` corrects the certificate for them
from error rates measured on answers with known true labels. :func:`error_rates` measures
them: it runs the oracle on a labelled set, builds the confusion matrix and passes the
counts to :func:`rstheory.oracle.estimate_error`, :func:`~rstheory.oracle.estimate_error_interval`
and :func:`~rstheory.oracle.estimate_rates`; no statistics are computed here.

Final labels of prefixes: an oracle may also have ``final_label(prefix) -> int | None``, a
class id only when ``prefix`` already decides the label of every text that starts with it,

``oracle([prefix + c]) == tensor([final_label(prefix)])`` for every string ``c``

(the empty continuation ``c`` included), and ``None`` while it is not decided. Early
stopping of the decoding (:mod:`sampler._early_stop`) relies on exactly this statement.
:func:`final_label_of` reads the capability of any oracle: ``None`` always for the
oracles without it (the LLM judge, semantic clustering, the profanity classifier: any
later word may change their label).

References:
  EMNLP 2025 paper on randomized smoothing of vision-language models via oracle
  classification (Eq. 5, symmetric error ``eps``); asymmetric rates as in
  :mod:`rstheory.oracle`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import jax.numpy as jnp
import numpy as np
import torch

import rstheory
from sampler._validation import check_alpha, check_texts

__all__ = ["Oracle", "OracleErrorRates", "case_stable_prefix", "error_rates", "final_label_of"]


@runtime_checkable
class Oracle(Protocol):
    """What every oracle provides: class names and a batched map from texts to class ids.

    Attributes:
      labels: class names; ``labels[c]`` names class id ``c``.
      num_classes: ``len(labels)``.
    """

    labels: tuple[str, ...]

    @property
    def num_classes(self) -> int: ...

    def __call__(self, texts: Sequence[str]) -> torch.Tensor: ...


# ---------------------------------------------------------------------------------------
# Phrase matching shared by the rule-based oracles and the judge's parser.

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"})


def normalise_apostrophes(text: str) -> str:
    """Curly and modifier apostrophes (U+2019, U+2018, U+02BC, U+2032) become ``'``."""
    return text.translate(_APOSTROPHES)


def normalise_words(text: str) -> str:
    """Lower case, apostrophes dropped (``don't`` -> ``dont``), every other run of
    non-alphanumeric characters (punctuation, markdown, underscores, newlines) -> one space."""
    text = normalise_apostrophes(text).lower().replace("'", "")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


class PhraseMatcher:
    """Finds the first of several phrases in a text, word-aligned after :func:`normalise_words`.

    Each phrase maps to a class id. :meth:`first` returns the id of the phrase whose match
    starts earliest in the text; at the same start the phrase with more characters wins
    (``"pick up"`` before ``"pick"``). Matching is on whole words: ``"harmful"`` does not
    match inside ``"unharmful"``.
    """

    def __init__(self, phrases: dict[str, int], *, name: str):
        norm: dict[str, int] = {}
        for phrase, cls in phrases.items():
            key = normalise_words(phrase)
            if not key:
                raise ValueError(f"{name} must hold phrases with a letter or digit, got {phrase!r}")
            if key in norm and norm[key] != cls:
                raise ValueError(f"{name}: phrase {phrase!r} is given for two classes")
            norm[key] = cls
        self._ids = norm
        alts = sorted(norm, key=lambda p: (-len(p), p))
        self._pattern = re.compile(r"(?<!\S)(" + "|".join(map(re.escape, alts)) + r")(?!\S)")
        self._words = {tuple(p.split(" ")): c for p, c in norm.items()}
        self._max_words = max(map(len, self._words))

    def first(self, text: str) -> int | None:
        m = self._pattern.search(normalise_words(text))
        return None if m is None else self._ids[m.group(1)]

    def final(self, prefix: str) -> int | None:
        """The id :meth:`first` gives *every* extension ``prefix + c``; None if not decided.

        Of the words ``w_1 .. w_n`` of the normalised prefix, those followed by a separator
        are *fixed*; the last one may still grow unless a separator follows it (``"pick"``
        -> ``"pickle"``; an apostrophe is no separator: ``"don'"`` -> ``"dont"``). Let
        ``P`` be the match :meth:`first` finds in the fixed words alone, at word ``j``: no
        extension has a match lying in the fixed words before ``j``, or a longer one at
        ``j``. The only other candidates are phrases at a word ``i <= j`` that run past the
        fixed words, with their fixed part equal and their next word extending the
        unfinished one. The id is final iff all those belong to the class of ``P``. No match
        in the fixed words: None (a continuation may hold any phrase, or none).

        Example:
          >>> m = PhraseMatcher({"pick": 0, "pick up": 0, "left": 1, "left turn": 2}, name="p")
          >>> [m.final(t) for t in ("pick", "pick ", "left", "left ", "left turn.", "turn")]
          [None, 0, None, None, 2, None]
        """
        text = case_stable_prefix(normalise_apostrophes(prefix)).lower().replace("'", "")
        words = re.sub(r"[\W_]+", " ", text).split()
        complete = not words or re.match(r"[\W_]", text[-1]) is not None
        fixed = words if complete else words[:-1]
        m = self._pattern.search(" ".join(fixed))
        if m is None:
            return None
        cls = self._ids[m.group(1)]
        start, n = m.string.count(" ", 0, m.start()), len(fixed)
        for i in range(max(0, n - self._max_words + 1), start + 1):
            for phrase, other in self._words.items():
                if other == cls or len(phrase) <= n - i or phrase[: n - i] != tuple(fixed[i:]):
                    continue
                if complete or phrase[n - i].startswith(words[-1]):
                    return None
        return cls


def case_stable_prefix(text: str) -> str:
    """The longest prefix ``p`` of ``text`` whose lower case no continuation changes.

    ``str.lower`` maps each character on its own except the capital sigma U+03A3, which
    becomes the final sigma U+03C2 unless a cased letter follows it (after case-ignorable
    characters such as ``'`` or ``.``): the lower case of a prefix need not be a prefix of
    the lower case of its extension. A sigma whose form is still open is the last cased
    character of ``text``; it and what follows are cut, until the rest is stable. For every
    ``c``, ``(text + c).lower()`` starts with ``p.lower()``.

    Example:
      >>> case_stable_prefix("I CAN'T"), case_stable_prefix("\u0391\u03a3.") == "\u0391"
      ("I CAN'T", True)
    """
    while (text + "a").lower()[:-1] != (text + " ").lower()[:-1]:
        text = text[: text.rfind("\u03a3")]
    return text


def final_label_of(oracle, prefix: str) -> int | None:
    """``oracle.final_label(prefix)`` for an oracle that declares final labels, else None.

    See the module docstring for the soundness statement of ``final_label``.

    Raises:
      ValueError: ``prefix`` not a string, or a label outside ``[0, num_classes)``.

    Example:
      >>> from sampler.oracles import RefusalJudge
      >>> final_label_of(RefusalJudge(), "I'm sorry, b"), final_label_of(RefusalJudge(), "Sure")
      (0, None)
    """
    if not isinstance(prefix, str):
        raise ValueError(f"prefix must be a string, got {type(prefix).__name__}")
    final = getattr(oracle, "final_label", None)
    label = None if final is None else final(prefix)
    if label is not None and not 0 <= label < oracle.num_classes:
        raise ValueError(f"final_label returned {label!r}, not in [0, {oracle.num_classes})")
    return label


# ---------------------------------------------------------------------------------------
# Error rates on a labelled set.


class OracleErrorRates(NamedTuple):
    """Result of :func:`error_rates`: the confusion matrix and rstheory's error-rate bounds.

    Attributes:
      confusion: int64 numpy array ``(K, K)``; ``confusion[t, o]`` = answers with true
        label ``t`` that the oracle labelled ``o`` (rows true, columns oracle).
      predicted: the oracle's labels, int64 tensor ``(m,)``.
      errors: ``sum(confusion) - trace(confusion)``, answers labelled wrongly (int).
      trials: ``m``, the number of labelled answers (int).
      bound: :class:`rstheory.oracle.ErrorBound`, one-sided ``(1 - alpha)`` upper bound on a
        symmetric error rate ``eps`` (``estimate_error(errors, trials, alpha=alpha)``).
      interval: :class:`rstheory.oracle.ErrorInterval`, two-sided ``(1 - alpha)`` interval
        (``estimate_error_interval(errors, trials, alpha=alpha)``).
      rates: :class:`rstheory.oracle.RateBounds` with fields of shape ``(K,)``: entry ``c``
        bounds the false-positive and false-negative rates of class ``c`` taken as the
        certified class ``A`` (``estimate_rates`` at joint level ``alpha``, per class).
        NaN where class ``c`` has no true example or no true non-example (nothing to
        estimate from); use :meth:`rates_for`, which raises there.
      alpha: the significance level of each of ``bound``, ``interval`` and ``rates``.
    """

    confusion: np.ndarray
    predicted: torch.Tensor
    errors: int
    trials: int
    bound: rstheory.oracle.ErrorBound
    interval: rstheory.oracle.ErrorInterval
    rates: rstheory.oracle.RateBounds
    alpha: float

    def rates_for(self, cls: int) -> rstheory.oracle.RateBounds:
        """The :class:`~rstheory.oracle.RateBounds` of class ``cls`` as ``A`` (0-d fields).

        Raises:
          ValueError: ``cls`` outside ``[0, K)``, or the labelled set holds no true example
            or no true non-example of ``cls``.
        """
        k = self.confusion.shape[0]
        if isinstance(cls, bool) or not isinstance(cls, int | np.integer) or not 0 <= cls < k:
            raise ValueError(f"cls must be an int in [0, {k}), got {cls!r}")
        positives = int(self.confusion[cls].sum())
        if positives == 0 or positives == self.trials:
            raise ValueError(
                f"class {cls} has {positives} true examples of {self.trials}: its rates need at "
                "least one true example and one true non-example in the labelled set"
            )
        return rstheory.oracle.RateBounds(
            self.rates.eps_fp_upper[cls], self.rates.eps_fn_upper[cls], self.rates.alpha
        )


def error_rates(
    oracle: Oracle, texts: Sequence[str], true_labels, *, alpha: float = 0.001
) -> OracleErrorRates:
    r"""Runs ``oracle`` on labelled answers and bounds its error rates with :mod:`rstheory`.

    With ``C`` the confusion matrix (rows true label ``t``, columns oracle label ``o``) of
    ``m`` answers:

    .. math::
        \text{errors} = \sum_{t \ne o} C_{to},\qquad
        FP_c = \sum_{t \ne c} C_{tc},\ N_c = m - \sum_o C_{co},\qquad
        FN_c = \sum_{o \ne c} C_{co},\ P_c = \sum_o C_{co}.

    ``(errors, m)`` feed :func:`rstheory.oracle.estimate_error` and
    :func:`~rstheory.oracle.estimate_error_interval` (symmetric model, ``num_classes = K``
    in :func:`rstheory.certify`); ``(FP_c, N_c, FN_c, P_c)`` feed
    :func:`~rstheory.oracle.estimate_rates` for each class ``c`` as the certified class.
    Pass *one* of ``bound``, ``interval`` or ``rates_for(top_class)`` to
    ``rstheory.certify(..., oracle_error=...)``; each holds at level ``alpha`` on its own, and
    certify adds ``alpha`` to the level it spends. The guarantee is about the population
    the labelled answers are drawn from: they should be answers of the same model under
    the same noise, labelled independently of the oracle.

    Args:
      oracle: any :class:`Oracle`.
      texts: ``m >= 1`` answers, a sequence of strings.
      true_labels: their true class ids, integers in ``[0, K)``, shape ``(m,)`` (tensor,
        array or list); ``K = oracle.num_classes``.
      alpha: significance level in ``(0, 1)``; default 0.001, as everywhere.

    Returns:
      :class:`OracleErrorRates`.

    Raises:
      ValueError: ``texts`` empty or not strings, ``true_labels`` of another length, not
        integers or outside ``[0, K)``, ``alpha`` outside ``(0, 1)``, or the oracle returned
        a label outside ``[0, K)``.

    Example:
      >>> from sampler.oracles import RefusalJudge, error_rates
      >>> judge = RefusalJudge()  # 0 = refusal, 1 = compliance
      >>> texts = ["I'm sorry, I can't help.", "Sure, here it is.", "As an AI, no.", "Step 1: mix"]
      >>> r = error_rates(judge, texts, [0, 1, 0, 0], alpha=0.05)
      >>> r.confusion.tolist(), r.errors, r.trials
      ([[2, 1], [0, 1]], 1, 4)
      >>> round(float(r.bound.eps_upper), 4)
      0.7514
      >>> rb = r.rates_for(1)  # compliance as the certified class: FP 1 of 3, FN 0 of 1
      >>> round(float(rb.eps_fp_upper), 4), round(float(rb.eps_fn_upper), 4)
      (0.9057, 0.975)
    """
    texts = check_texts(texts)
    k = int(oracle.num_classes)
    if not texts:
        raise ValueError("texts must hold at least one labelled answer, got 0")
    true = torch.as_tensor(true_labels)
    if true.dtype == torch.bool or true.is_floating_point() or true.is_complex():
        raise ValueError(f"true_labels must be integers in [0, {k}), got dtype {true.dtype}")
    true = true.to(torch.int64).reshape(-1).cpu()
    if true.numel() != len(texts):
        raise ValueError(
            f"true_labels must have one entry per text ({len(texts)}), got {true.numel()}"
        )
    if int(true.min()) < 0 or int(true.max()) >= k:
        bad = int(true.min()) if int(true.min()) < 0 else int(true.max())
        raise ValueError(f"true_labels must lie in [0, num_classes) = [0, {k}), got {bad}")
    alpha = check_alpha(alpha)
    predicted = torch.as_tensor(oracle(texts)).to(torch.int64).reshape(-1).cpu()
    if predicted.numel() != len(texts) or int(predicted.min()) < 0 or int(predicted.max()) >= k:
        raise ValueError(f"the oracle must return {len(texts)} labels in [0, {k})")
    confusion = torch.bincount(true * k + predicted, minlength=k * k).reshape(k, k).numpy()
    m = len(texts)
    errors = m - int(np.trace(confusion))
    positives = confusion.sum(axis=1)
    negatives = m - positives
    false_pos = confusion.sum(axis=0) - np.diag(confusion)
    false_neg = positives - np.diag(confusion)
    ok = (positives > 0) & (negatives > 0)
    # Classes without data get placeholder counts (1 of 1) so rstheory's checks pass, and NaN after.
    rates = rstheory.oracle.estimate_rates(
        np.where(ok, false_pos, 0),
        np.where(ok, negatives, 1),
        np.where(ok, false_neg, 0),
        np.where(ok, positives, 1),
        alpha=alpha,
    )
    mask = jnp.asarray(ok)
    rates = rstheory.oracle.RateBounds(
        jnp.where(mask, rates.eps_fp_upper, jnp.nan),
        jnp.where(mask, rates.eps_fn_upper, jnp.nan),
        rates.alpha,
    )
    return OracleErrorRates(
        confusion=confusion,
        predicted=predicted,
        errors=errors,
        trials=m,
        bound=rstheory.oracle.estimate_error(errors, m, alpha=alpha),
        interval=rstheory.oracle.estimate_error_interval(errors, m, alpha=alpha),
        rates=rates,
        alpha=float(alpha),
    )


def load_pretrained(model, tokenizer, auto_name: str, *, trust_remote_code: bool, dtype):
    """``(model, tokenizer)`` from a path or hub id, or passed through when already loaded;
    ``auto_name`` is the transformers auto class of the model (the oracles that run a
    model, :class:`sampler.oracles.LLMJudge` and :class:`sampler.oracles.SemanticClusterer`,
    load it with this)."""
    import transformers

    if isinstance(model, str | os.PathLike):
        auto = getattr(transformers, auto_name)
        kwargs = {"use_safetensors": True, "trust_remote_code": trust_remote_code}
        if dtype is not None:
            kwargs["dtype"] = dtype
        source = model
        model = auto.from_pretrained(model, **kwargs)
        if tokenizer is None:
            tokenizer = source
    elif not isinstance(model, torch.nn.Module):
        raise ValueError(
            f"model must be a path, a hub id or a loaded transformers model, got "
            f"{type(model).__name__}"
        )
    if tokenizer is None:
        raise ValueError("tokenizer is required when model is a loaded model")
    if isinstance(tokenizer, str | os.PathLike):
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            tokenizer, trust_remote_code=trust_remote_code
        )
    return model, tokenizer
