"""Cross-input batching of a campaign: the noisy copies of several inputs in each model call.

A campaign certifies its inputs one after another, and each input's streams
(:class:`sampler._draws.Stream`) cut their draws into forward batches of ``batch_size``
copies: ``n0 = 100`` at ``batch_size = 64`` leaves a call of 36, and a sequential input
that stops early leaves the device part-empty. :func:`certify_packed` runs ``in_flight``
inputs at once, each through the unchanged :func:`sampler._campaign.certify_row` in its own
worker thread, against a proxy of the model whose ``predict`` hands its request to one
scheduler and waits; the scheduler (in the calling thread) packs the queued requests into
model calls of up to ``batch_size`` copies, as a serving engine packs requests
(continuous batching: G.-I. Yu et al. 2022, "Orca: A Distributed Serving System for
Transformer-Based Generative Models", OSDI, Sec. 3), and gives each request its slice of
the outputs.

**Rules of a call.** Only requests of the same pack key share a call: the same model
object and the model's ``pack_key(prepared)`` (for a VLM the pixel shape and the prompt
tensors by value: the same prompt; for a classifier the pixel shape). A call runs when
its key holds ``batch_size`` queued copies, or when every live worker waits on a request
(the group of the oldest request then runs with what it has), so nothing deadlocks and a
lone input still runs. A request may be cut across two calls. The call is the model's
``predict_many`` (one ``generate`` / forward of the concatenated pixels); a model without
one runs each request alone with ``predict``. A call that fails is retried part by part,
so an exception reaches only the inputs whose copies raise it.

**What does not change.** Each input's noise is drawn in its own thread by its own
streams, from its own generators, exactly as before, so it never depends on its batch
mates. Each request keeps its decoding seed, and copy ``j`` of a request samples from its
own uniforms (:func:`sampler.models.copy_uniforms`) wherever it lands, so sampled rows are
those of the one-by-one loop. Greedy rows are equal too, up to the floating-point
reductions of another batch size, which some backends round differently (a token can then
flip where two logits are within rounding of each other). The rows' ``timings`` include the
time a request waits for its call. Rows are written in the order their inputs finish.

**Threads.** The model is called from the calling thread only; ``prepare`` and the oracle
run in the workers, one at a time (a lock: tokenizers are not safe to share between
threads). ``write`` runs in the calling thread.

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

import torch

from sampler._campaign import Job, certify_row
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

    def to_dict(self) -> dict[str, Any]:
        """Plain fields and ``fill``, for a summary line."""
        d = dataclasses.asdict(self)
        d["sizes"] = dict(sorted(self.sizes.items()))
        return {**d, "fill": self.fill}


class _Cancelled(BaseException):
    """Raised in a waiting worker when the campaign stops (not an input's error)."""


class _Request:
    """``pixels`` of one ``predict`` call of one input's stream, served in slices."""

    def __init__(self, real, prepared, pixels, seed, key):
        self.real, self.prepared, self.pixels = real, prepared, pixels
        self.seed, self.key = seed, key
        self.size = int(pixels.shape[0])
        self.taken = 0  # copies handed to calls so far
        self.calls = 0
        self.outputs: list = []
        self.error: BaseException | None = None
        self.done = False

    def result(self):
        if self.error is not None:
            raise self.error
        if isinstance(self.outputs[0], torch.Tensor):
            return self.outputs[0] if len(self.outputs) == 1 else torch.cat(self.outputs)
        return [x for part in self.outputs for x in part]


class _Serialized:
    """``obj`` with its calls made under ``lock`` (and so is what its ``select`` returns)."""

    def __init__(self, obj, lock):
        self._obj, self._lock = obj, lock

    def __call__(self, *args, **kwargs):
        with self._lock:
            return self._obj(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                out = attr(*args, **kwargs)
            return _Serialized(out, self._lock) if name == "select" else out

        return call


class _Proxy:
    """The model as one worker sees it: everything forwarded, but ``predict`` queued."""

    def __init__(self, real, scheduler: _Scheduler):
        self._real, self._scheduler = real, scheduler
        self._keys: dict[int, tuple[Any, tuple]] = {}  # id(prepared) -> (prepared, key)

    def __getattr__(self, name):
        attr = getattr(self._real, name)  # AttributeError where the model has none
        if name == "with_decoding":
            return lambda decoding: self._derived(decoding)
        return attr

    def _derived(self, decoding):
        real = self._scheduler.with_decoding(self._real, decoding)
        return self if real is self._real else _Proxy(real, self._scheduler)

    def _key(self, prepared) -> tuple:
        pack_key = getattr(self._real, "pack_key", None)
        if pack_key is None or not callable(getattr(self._real, "predict_many", None)):
            return ("alone", id(prepared))
        return (id(self._real), pack_key(prepared))

    def prepare(self, image, prompt=None):
        with self._scheduler.host_lock:
            prepared = self._real.prepare(image, prompt)
            self._keys[id(prepared)] = (prepared, self._key(prepared))
        return prepared

    def predict(self, prepared, pixels, *, seed=None):
        known = self._keys.get(id(prepared))
        key = known[1] if known is not None and known[0] is prepared else self._key(prepared)
        return self._scheduler.submit(_Request(self._real, prepared, pixels, seed, key))


class _Scheduler:
    """The queue of requests and the rule that packs them (see the module docstring)."""

    def __init__(self, *, batch_size: int, stats: PackingStats):
        self.batch_size, self.stats = batch_size, stats
        self.cond = threading.Condition()
        self.host_lock = threading.Lock()
        self.pending: list[_Request] = []  # arrival order; copies not yet handed out
        self.open: set[_Request] = set()  # not yet delivered
        self.live = 0  # workers running
        self.finished: collections.deque = collections.deque()  # ("row", row) | ("raise", err)
        self.stopped = False
        self._decoded: dict[tuple[int, Any], Any] = {}

    def with_decoding(self, real, decoding):
        """One model object per decoding, shared by every worker (so their calls pack)."""
        with self.cond:
            key = (id(real), decoding)
            if key not in self._decoded:
                self._decoded[key] = real.with_decoding(decoding)
            return self._decoded[key]

    def submit(self, req: _Request):
        """In a worker: queue ``req`` and wait until the scheduler has served it."""
        with self.cond:
            if self.stopped:
                raise _Cancelled
            self.pending.append(req)
            self.open.add(req)
            self.stats.requests += 1
            self.cond.notify_all()
            while not req.done:
                self.cond.wait()
        return req.result()

    def take(self) -> list[tuple[_Request, int, int]] | None:
        """Under the lock: the parts ``(request, start, stop)`` of the next call, or None."""
        if not self.pending:
            return None
        queued: dict[tuple, int] = collections.defaultdict(int)
        for req in self.pending:
            queued[req.key] += req.size - req.taken
        full = [req.key for req in self.pending if queued[req.key] >= self.batch_size]
        if full:
            key = full[0]
        elif len(self.open) >= self.live:  # every live worker waits: run what there is
            key = self.pending[0].key
        else:
            return None
        if key[0] == "alone":  # a model without predict_many: the whole request
            req = next(r for r in self.pending if r.key == key)
            self.pending.remove(req)
            req.taken = req.size
            return [(req, 0, req.size)]
        parts, room = [], self.batch_size
        for req in [r for r in self.pending if r.key == key]:
            num = min(req.size - req.taken, room)
            parts.append((req, req.taken, req.taken + num))
            req.taken += num
            room -= num
            if req.taken == req.size:
                self.pending.remove(req)
            if room == 0:
                break
        return parts

    def run(self, parts) -> None:
        """Outside the lock: one model call for ``parts``, then each request its slice."""
        real = parts[0][0].real
        try:
            results = self._call(real, parts)
        except Exception as err:
            if len(parts) == 1:
                results = [_Failed(err)]
            else:  # run each part alone: the error reaches only the parts that raise it
                self.stats.retried_calls += 1
                results = [self._attempt(real, p) for p in parts]
        num = sum(stop - start for _, start, stop in parts)
        self.stats.calls += 1
        self.stats.copies += num
        self.stats.sizes[num] += 1
        with self.cond:
            for (req, _start, stop), out in zip(parts, results, strict=True):
                req.calls += 1
                if isinstance(out, _Failed):
                    req.error = out.error
                else:
                    req.outputs.append(out)
                if req.error is not None or (stop == req.size and req.taken == req.size):
                    self.stats.split_requests += req.calls > 1
                    req.done = True
                    self.open.discard(req)
                    if req in self.pending:
                        self.pending.remove(req)
            self.cond.notify_all()

    def _attempt(self, real, part):
        try:
            return self._call(real, [part])[0]
        except Exception as err:
            return _Failed(err)

    @staticmethod
    def _call(real, parts) -> list:
        if parts[0][0].key[0] == "alone":  # a model without predict_many: one whole request
            (req, _, _), *_ = parts
            return [real.predict(req.prepared, req.pixels, seed=req.seed)]
        return real.predict_many(
            [req.prepared for req, _, _ in parts],
            [req.pixels[a:b] for req, a, b in parts],
            seeds=[req.seed for req, _, _ in parts],
            offsets=[a for _, a, _ in parts],
        )

    def cancel(self) -> None:
        """Stop: every waiting and later request raises :class:`_Cancelled` in its worker."""
        with self.cond:
            self.stopped = True
            for req in self.open:
                req.error, req.done = _Cancelled(), True
            self.open.clear()
            self.pending.clear()
            self.cond.notify_all()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


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
