"""Cross-input batching of a campaign: the noisy copies of several inputs in each model call.

A campaign certifies its inputs one after another, and each input's streams
(:class:`sampler._draws.Stream`) cut their draws into forward batches of ``batch_size``
copies: ``n0 = 100`` at ``batch_size = 64`` leaves a call of 36, and a sequential input
that stops early leaves the device part-empty. :func:`certify_packed` runs ``in_flight``
inputs at once, each through the unchanged :func:`sampler._campaign.certify_row` in its own
worker thread, against a proxy of the model whose ``predict`` hands its request to one
scheduler and waits; the scheduler (in the calling thread) packs the queued requests into
model calls of up to ``batch_size`` copies and gives each request its slice of the
outputs. The queue, the rules of a call, the derived models (``with_decoding``,
``with_oracle``) shared by the workers, and the lock that keeps the tokenizer to one
thread at a time are in :mod:`sampler._scheduler`. :func:`sampler.run.run` uses it with
``in_flight > 1`` (``collect --in-flight``).

**What does not change.** Each input's noise is drawn in its own thread by its own
streams, from its own generators, exactly as before, so it never depends on its batch
mates. Each request keeps its decoding seed, and copy ``j`` of a request samples from its
own uniforms (:func:`sampler.models.copy_uniforms`) wherever it lands, so sampled rows are
those of the one-by-one loop. Greedy rows are equal too, up to the floating-point
reductions of another batch size, which some backends round differently (a token can then
flip where two logits are within rounding of each other). The rows' ``timings`` include the
time a request waits for its call. Rows are written in the order their inputs finish.

**Threads.** The model is called from the calling thread only; ``prepare`` and the oracle
run in the workers; the model call, ``prepare`` and the oracle run one at a time (one
lock: tokenizers are not safe to share between threads; :mod:`sampler._scheduler`).
``write`` runs in the calling thread.

Example (a classifier that always answers class 1; 20 copies per input, 16 per call):
  >>> import pathlib, tempfile, torch
  >>> from PIL import Image
  >>> from sampler.certify import CertifyConfig
  >>> from sampler.models import ImageClassifier
  >>> from sampler.run import Input
  >>> from sampler._campaign import make_job
  >>> class One(torch.nn.Module):
  ...     def forward(self, x):
  ...         return torch.nn.functional.one_hot(torch.ones(len(x), dtype=torch.long), 2).float()
  >>> clf = ImageClassifier(One())
  >>> cfg = CertifyConfig(n0=4, n=16, sigma=0.25, alpha=0.01, seed=0, batch_size=16,
  ...                     num_classes=2)
  >>> job = make_job(clf, config=cfg, oracle=None, oracle_name=None, model_name="one")
  >>> folder = pathlib.Path(tempfile.mkdtemp())
  >>> inputs = [Input(str(i), folder / f"{i}.png", None) for i in range(4)]
  >>> for inp in inputs:
  ...     Image.new("RGB", (4, 4)).save(inp.image)
  >>> rows = []
  >>> stats = certify_packed(clf, inputs, job, write=rows.append, in_flight=4)
  >>> sorted((r["id"], r["top_class"], r["k"]) for r in rows)
  [('0', 1, 16), ('1', 1, 16), ('2', 1, 16), ('3', 1, 16)]
  >>> stats.copies, stats.calls, stats.fill  # 80 copies in 5 full calls (not 8 calls)
  (80, 5, 1.0)
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sampler._campaign import Job, certify_row
from sampler._scheduler import _Cancelled, _Proxy, _Scheduler, _Serialized
from sampler._validation import check_int

__all__ = ["PackingStats", "certify_packed"]


@dataclasses.dataclass
class PackingStats:
    """What the scheduler did: model calls, copies, requests; updated after every call.

    Attributes:
      batch_size: copies per call at most.
      calls: model calls run (retries of a failed call's parts not counted).
      copies: noisy copies predicted by them.
      requests: ``predict`` requests of the inputs' streams served (each ``<= batch_size``).
      split_requests: requests cut across two or more calls.
      retried_calls: calls that raised and were run again part by part.
      sizes: copies per call -> number of such calls.

    ``fill`` is ``copies / (calls * batch_size)``, in ``[0, 1]`` (0 before any call).

    Example:
      >>> s = PackingStats(batch_size=64, calls=2, copies=100)
      >>> s.fill
      0.78125
    """

    batch_size: int
    calls: int = 0
    copies: int = 0
    requests: int = 0
    split_requests: int = 0
    retried_calls: int = 0
    sizes: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def fill(self) -> float:
        return self.copies / (self.calls * self.batch_size) if self.calls else 0.0

    def add(self, other: PackingStats) -> None:
        """Add the counts of ``other`` (another worker's calls, of the same ``batch_size``)."""
        if other.batch_size != self.batch_size:
            raise ValueError(f"other.batch_size must be {self.batch_size}, got {other.batch_size}")
        for f in ("calls", "copies", "requests", "split_requests", "retried_calls"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.sizes.update(other.sizes)

    def to_dict(self) -> dict[str, Any]:
        """Plain fields and ``fill``, for a summary line."""
        d = dataclasses.asdict(self)
        d["sizes"] = dict(sorted(self.sizes.items()))
        return {**d, "fill": self.fill}


def certify_packed(
    model,
    todo: Iterable,
    job: Job,
    *,
    write: Callable[[dict[str, Any]], Any],
    in_flight: int,
    stats: PackingStats | None = None,
) -> PackingStats:
    """Certify every input of ``todo`` with up to ``in_flight`` in flight, packing their copies.

    Each input runs :func:`sampler._campaign.certify_row` ``(proxy, inp, job)`` in a worker
    thread; its rows are those of the one-by-one loop (see the module docstring for the
    rules and what is kept equal). ``write(row)`` is called in the calling thread as each
    row is done, in the order the inputs finish. An exception while certifying an input is
    its error row, as in ``certify_row``; any other exception (``write``'s, or one outside
    ``certify_row``'s guard) and a ``KeyboardInterrupt`` stop the campaign: the waiting
    workers are cancelled and joined, the rows already written stay written, the rows done
    but not yet written are dropped (resume runs those inputs again), and the exception is
    raised again.

    Args:
      model: a :class:`sampler.models.Model`; with ``pack_key`` and ``predict_many``
        (:class:`sampler.models.VLM`, :class:`sampler.models.ImageClassifier`) its inputs'
        copies share calls, without them each request runs alone.
      todo: the inputs (:class:`sampler.run.Input`).
      job: the campaign's :class:`sampler._campaign.Job` (:func:`sampler._campaign.make_job`);
        ``job.certify_config.batch_size`` is the size of a call.
      write: called with each row (a campaign's ``Writer.write``).
      in_flight: inputs certified at once, an int ``>= 1``; 1 gives the calls of the
        one-by-one loop.
      stats: a :class:`PackingStats` to update in place (e.g. read by a progress bar);
        default a new one.

    Returns:
      the :class:`PackingStats` of the calls.

    Raises:
      ValueError: ``in_flight`` below 1, or a ``stats`` of another ``batch_size``.
    """
    in_flight = check_int(in_flight, name="in_flight", low=1)
    batch_size = job.certify_config.batch_size
    stats = PackingStats(batch_size=batch_size) if stats is None else stats
    if stats.batch_size != batch_size:
        raise ValueError(f"stats.batch_size must be the job's batch_size {batch_size}")
    todo = list(todo)
    sched = _Scheduler(batch_size=batch_size, stats=stats)
    if job.oracle is not None:
        job = job._replace(oracle=_Serialized(job.oracle, sched.host_lock))
    threads: list[threading.Thread] = []

    def work(inp):
        outcome = None
        try:
            outcome = ("row", certify_row(_Proxy(model, sched), inp, job))
        except _Cancelled:
            pass
        except BaseException as err:  # outside certify_row's guard: stops the campaign
            outcome = ("raise", err)
        finally:
            with sched.cond:
                sched.live -= 1
                if outcome is not None:
                    sched.finished.append(outcome)
                sched.cond.notify_all()

    pos = 0
    try:
        while True:
            with sched.cond:
                while True:
                    while sched.live < in_flight and pos < len(todo):
                        t = threading.Thread(target=work, args=(todo[pos],), daemon=True)
                        sched.live += 1
                        pos += 1
                        threads.append(t)
                        t.start()
                    item = sched.finished.popleft() if sched.finished else None
                    parts = None if item is not None else sched.take()
                    if item is not None or parts is not None:
                        break
                    if sched.live == 0:
                        break
                    sched.cond.wait()
            if item is None and parts is None:
                break
            if item is not None:
                kind, value = item
                if kind == "raise":
                    raise value
                write(value)
            else:
                sched.run(parts)
    except BaseException:
        sched.cancel()
        for t in threads:
            t.join()
        raise
    for t in threads:
        t.join()
    return stats
