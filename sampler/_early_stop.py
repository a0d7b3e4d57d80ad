"""Early stop of the decoding: a row stops once the oracle's label of its text is decided.

:class:`OracleStop` is a :class:`transformers.StoppingCriteria`. After each decoding step
it decodes the new tokens of every row still running (incrementally: a window of a few
tokens, as streaming detokenizers do), and marks a row finished as soon as
:func:`sampler._oracle_base.final_label_of` declares the label of its text final
(``final_label(prefix)``: the label of *every* text that starts with ``prefix``). The
criterion returns a bool tensor ``(batch,)``; ``generate`` ANDs its negation into its
per-row ``unfinished_sequences``, pads a finished row with ``pad_token_id`` from then on,
and ends the loop when no row is left (transformers 4.39 and later).

Soundness. Let ``t`` be the step at which row ``r`` stops and ``D`` the decoding of
``VLM.predict`` (``batch_decode(..., skip_special_tokens=True)`` then ``strip``).

1. The label of the stopped row is the declared one, with no assumption: the decision is
   re-checked on ``D(ids[:t])`` itself (the window is only a cheap filter), after cutting
   what a later token could still rewrite (:func:`stable_text`: a trailing U+FFFD of an
   unfinished UTF-8 sequence, and a tail that the clean-up of tokenization spaces could join
   to the next token, such as ``" '"`` -> ``"'s"``); the padding after ``t`` decodes to
   nothing, so ``predict`` returns an extension of the text that was decided.
2. The label equals that of the run without early stop if (a) the full run generates the
   same ``ids[:t]``, and (b) the decoding is prefix-stable: ``stable_text(D(ids[:t]))`` is a
   prefix of ``D(ids[:T])`` for ``T >= t``. (b) holds for byte-level BPE and SentencePiece
   detokenizers (up to the cuts above; special tokens are skipped), and for the word-level
   tokenizer of :mod:`sampler.tiny` (tested). (a) holds for greedy decoding: a row's
   computation does not depend on the other rows' tokens, so stopping a row (feeding it
   padding) changes no other row and none of its own first ``t`` tokens. For sampled
   decoding (a) needs each row's random draws not to depend on the other rows' lengths or
   on which rows are finished: true when every step draws from one random stream a fixed
   amount per row, whatever the probabilities (``generate`` draws one ``multinomial`` for
   the whole batch each step, finished rows included), or with a generator per row; it
   fails for a scheme whose draws depend on the batch's composition. The sampled decoding of
   :class:`sampler.models.VLM` draws copy ``j``'s ``t``-th token from its own uniform
   (:func:`sampler.models.copy_uniforms` of ``(seed, j)``), so (a) holds for it too.

Use. ``DecodingConfig(early_stop=True)`` on a VLM bound to its oracle
(:meth:`sampler.models.VLM.with_oracle`; :func:`sampler.certify.certify` binds it) adds an
:class:`OracleStop` to each ``generate`` call; the labels, and so the counts and the
certificate, are those of the run without it under (a) and (b).

Slot refill. One ``generate`` call has no continuous batching: a finished row keeps its
slot (and its KV cache, computing on padding) until every row of the batch is finished.
So early stop saves generated *tokens* always, but *time* only in the batches whose rows
all decide early (the steps run are the maximum over rows). Refilling a finished slot with
a new noisy sample needs a custom decoding loop with a KV cache per slot, prefill of the
new sample into the freed slot, and per-slot positions and attention masks, as serving
engines do (W. Kwon et al. 2023, "Efficient Memory Management for Large Language Model
Serving with PagedAttention", SOSP, Sec. 4: paged KV blocks and iteration-level
scheduling).

Example:
  >>> import tempfile, torch
  >>> from transformers import StoppingCriteriaList
  >>> from sampler.models import VLM, DecodingConfig
  >>> from sampler.oracles import RefusalJudge
  >>> from sampler.tiny import build_tiny_llava
  >>> vlm = VLM.from_pretrained(build_tiny_llava(tempfile.mkdtemp()), device="cpu",
  ...                           decoding=DecodingConfig(max_new_tokens=12))
  >>> prep = vlm.prepare(torch.rand(3, 32, 32), "what is this?")
  >>> n = prep.inputs["input_ids"].shape[1]
  >>> inputs = {k: v.expand(2, -1) for k, v in prep.inputs.items()}
  >>> inputs["pixel_values"] = vlm.normalization(prep.pixels.expand(2, -1, -1, -1))
  >>> first = vlm.model.generate(**inputs, generation_config=vlm._generation_config)
  >>> word = vlm.processor.batch_decode(first[:, n:])[0].split()[0]  # the first word
  >>> stop = OracleStop(vlm.processor, RefusalJudge([word]), prompt_length=n)
  >>> out = vlm.model.generate(**inputs, generation_config=vlm._generation_config,
  ...                          stopping_criteria=StoppingCriteriaList([stop]))
  >>> stop.labels.tolist(), stop.counts.decided, out.shape[1] < first.shape[1]
  ([0, 0], 2, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from transformers import StoppingCriteria

from sampler._oracle_base import final_label_of

__all__ = ["EarlyStopCounts", "OracleStop", "declares_final_labels", "stable_text"]

# Proper prefixes of the patterns of `clean_up_tokenization` (" .", " ?", " !", " ,", " ' ",
# " n't", " 'm", " 's", " 've", " 're"): a text ending in one may be rewritten by the next token.
_CLEANUP_TAILS = (" n'", " 'r", " 'v", " n", " '", " ")
# Tokens kept before the new ones, so that the window decodes the joining space or bytes.
_WINDOW = 4


def declares_final_labels(oracle) -> bool:
    """Whether ``oracle`` declares final labels of prefixes (a ``final_label`` method, as
    :class:`sampler.oracles.RefusalJudge` and :class:`sampler.oracles.ActionParser` have),
    so that early stop can use it. A semantic clusterer (``select``: its classes depend on
    all the texts) and an LLM judge do not.

    Example:
      >>> from sampler.oracles import ActionParser
      >>> declares_final_labels(ActionParser()), declares_final_labels(None)
      (True, False)
    """
    return (
        oracle is not None
        and not callable(getattr(oracle, "select", None))
        and callable(getattr(oracle, "final_label", None))
    )


def stable_text(text: str) -> str:
    """``text`` less the tail that a later token could still rewrite, then stripped.

    Cut, repeatedly: trailing U+FFFD (an unfinished multi-byte character) and a trailing
    proper prefix of a clean-up pattern (``" n"``, ``" '"``, ``" "`` ...); then surrounding
    whitespace is stripped, as ``VLM.predict`` does. Under the prefix-stability assumption
    of the module docstring, the stable text of a prefix is a prefix of the stripped
    decoding of every longer token sequence.

    Example:
      >>> stable_text(" turn left n"), stable_text("cup '"), stable_text("caf\\ufffd")
      ('turn left', 'cup', 'caf')
    """
    while True:
        cut = text.rstrip("\ufffd")
        for tail in _CLEANUP_TAILS:
            if cut.endswith(tail):
                cut = cut[: -len(tail)]
                break
        if cut == text:
            return text.strip()
        text = cut


@dataclasses.dataclass
class EarlyStopCounts:
    """Counters of :class:`OracleStop`, summed over its ``generate`` calls.

    Attributes:
      calls: ``generate`` calls seen. rows: rows seen. steps: decoding steps (generated
        positions) seen; a batch computes ``steps x batch`` tokens, finished rows included
        (``row_steps``).
      decided: rows whose label the oracle declared final before they finished.
      generated: tokens the rows generated until each finished (its EOS counted, padding
        not): the tokens *with* early stop when ``stop=True``, *without* it when ``False``.
      to_decision: tokens each row generates with early stop: up to and including the token
        that decided it, or all of them if undecided. Equal to ``generated`` if ``stop=True``.
    """

    calls: int = 0
    rows: int = 0
    steps: int = 0
    row_steps: int = 0
    decided: int = 0
    generated: int = 0
    to_decision: int = 0


class OracleStop(StoppingCriteria):
    """Marks a row finished once ``oracle`` declares the label of its text final.

    Args:
      tokenizer: the tokenizer, or a processor with a ``tokenizer``; decodes as
        ``VLM.predict`` does (``skip_special_tokens=True``, the tokenizer's clean-up).
      oracle: any oracle; one without ``final_label`` never stops a row.
      prompt_length: ``input_ids.shape[1]`` of the prompt given to ``generate``; the new
        tokens of row ``r`` are ``input_ids[r, prompt_length:]``.
      stop: ``False`` only watches (no row is stopped): ``counts`` then has the tokens both
        without (``generated``) and with (``to_decision``) early stop, from one run.
      eos_token_id: the ids that end a row (its generation config's); default the
        tokenizer's ``eos_token_id``.

    Attributes:
      counts: :class:`EarlyStopCounts`.
      labels: int64 ``(batch,)`` of the last call: the declared label of each row, -1 where
        none was declared.
      lengths: int64 ``(batch,)`` of the last call: the tokens each row generated until it
        finished (its EOS included), or until the last step.

    Raises:
      ValueError: ``prompt_length < 1``, or (when called) ``input_ids`` shorter than the
        prompt or a step skipped (``prompt_length`` not that of this ``generate`` call).

    A new ``generate`` call is recognised by ``input_ids.shape[1] == prompt_length + 1``;
    one criterion can serve the batches of one prompt one after another (not concurrently).
    """

    def __init__(
        self,
        tokenizer,
        oracle,
        *,
        prompt_length: int,
        stop: bool = True,
        eos_token_id: int | Sequence[int] | None = None,
    ):
        self.tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
        if not callable(getattr(self.tokenizer, "batch_decode", None)):
            raise ValueError(f"tokenizer must have batch_decode, got {type(tokenizer).__name__}")
        if isinstance(prompt_length, bool) or not isinstance(prompt_length, int):
            raise ValueError(f"prompt_length must be an int >= 1, got {prompt_length!r}")
        if prompt_length < 1:
            raise ValueError(f"prompt_length must be an int >= 1, got {prompt_length}")
        self.oracle = oracle
        self.prompt_length = prompt_length
        self.stop = bool(stop)
        eos = self.tokenizer.eos_token_id if eos_token_id is None else eos_token_id
        self.eos = frozenset([] if eos is None else [eos] if isinstance(eos, int) else eos)
        self.counts = EarlyStopCounts()
        self._labels: list[int] = []
        self._lengths: list[int] = []
        self._step = 0

    @property
    def labels(self) -> torch.Tensor:
        return torch.tensor(self._labels, dtype=torch.int64)

    @property
    def lengths(self) -> torch.Tensor:
        return torch.tensor(self._lengths, dtype=torch.int64)

    def _reset(self, batch: int) -> None:
        self.counts.calls += 1
        self.counts.rows += batch
        self._labels = [-1] * batch
        self._lengths = [0] * batch
        self._done = [False] * batch  # finished: by EOS, or decided when stopping
        self._ids: list[list[int]] = [[] for _ in range(batch)]
        self._text = [""] * batch  # decoded new tokens before the window
        self._start = [0] * batch  # window start: tokens kept for context
        self._read = [0] * batch  # tokens decoded into _text
        self._result = torch.zeros(batch, dtype=torch.bool)

    def _decode(self, seqs: list[list[int]]) -> list[str]:
        """As ``VLM.predict`` decodes: the texts that decide."""
        return self.tokenizer.batch_decode(seqs, skip_special_tokens=True)

    def _decode_fast(self, seqs: list[list[int]]) -> list[str]:
        """The windows: the fast tokenizer's own batch decoding, without the Python layer of
        ``batch_decode`` (its clean-up included); only a filter for :meth:`_decode`."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        if backend is None:
            return self._decode(seqs)
        return backend.decode_batch(seqs, skip_special_tokens=True)

    def __call__(self, input_ids: torch.Tensor, scores=None, **kwargs) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt_length
        if step < 1:
            raise ValueError(
                f"input_ids has {input_ids.shape[1]} tokens, not more than prompt_length "
                f"{self.prompt_length}"
            )
        if step == 1:
            self._reset(input_ids.shape[0])
        elif step != self._step + 1:
            raise ValueError(f"prompt_length {self.prompt_length} is not this generate call's")
        self._step = step
        c = self.counts
        c.steps += 1
        c.row_steps += input_ids.shape[0]
        last = input_ids[:, -1].tolist()  # the one device-to-host copy per step
        watch = []  # rows running and undecided
        for r, token in enumerate(last):
            if self._done[r]:
                continue
            c.generated += 1
            self._lengths[r] += 1
            c.to_decision += self._labels[r] < 0
            self._ids[r].append(token)
            if token in self.eos:
                self._done[r] = True
            elif self._labels[r] < 0:
                watch.append(r)
        if watch:
            self._watch(watch)
        return self._result.to(input_ids.device)

    def _resync(self, r: int, text: str) -> None:
        """Row ``r``'s text is ``text`` up to its last token; the next window starts there."""
        self._text[r] = text
        self._read[r] = len(self._ids[r])
        self._start[r] = max(0, self._read[r] - _WINDOW)

    def _watch(self, rows: list[int]) -> None:
        """Window-decode ``rows``; confirm candidates on the full decoding (module doc, 1)."""
        texts = self._decode_fast(
            [self._ids[r][self._start[r] : self._read[r]] for r in rows]
            + [self._ids[r][self._start[r] :] for r in rows]
        )
        before, now = texts[: len(rows)], texts[len(rows) :]
        candidates = []
        for r, old, new in zip(rows, before, now, strict=True):
            if not new.startswith(old):  # the window disagrees: re-read the row in full
                self._resync(r, self._decode([self._ids[r]])[0])
            elif len(new) > len(old) and not new.endswith("\ufffd"):
                self._resync(r, self._text[r] + new[len(old) :])
            else:  # nothing new to read yet
                continue
            if final_label_of(self.oracle, stable_text(self._text[r])) is not None:
                candidates.append(r)
        if not candidates:
            return
        for r, full in zip(
            candidates, self._decode([self._ids[r] for r in candidates]), strict=True
        ):
            label = final_label_of(self.oracle, stable_text(full))
            if label is None:
                self._resync(r, full)  # the window was wrong; go on from the full text
                continue
            self._labels[r] = label
            self.counts.decided += 1
            if self.stop:
                self._done[r] = True
                self._result[r] = True
