"""The request queue of a packed campaign: workers' ``predict`` calls packed into model calls.

:func:`sampler._packing.certify_packed` runs each input in a worker thread against a
:class:`_Proxy` of the model: everything is forwarded to the model but ``predict``, which
hands a :class:`_Request` to the one :class:`_Scheduler` and waits. The scheduler (driven
from the calling thread) packs the queued requests into model calls of up to
``batch_size`` copies, as a serving engine packs requests (continuous batching: G.-I. Yu
et al. 2022, "Orca: A Distributed Serving System for Transformer-Based Generative
Models", OSDI, Sec. 3), and gives each request its slice of the outputs.

**Rules of a call.** Only requests of the same pack key share a call: the same model
object and the model's ``pack_key(prepared)`` (for a VLM the pixel shape and the prompt
tensors by value: the same prompt; for a classifier the pixel shape). A call runs when
its key holds ``batch_size`` queued copies, or when every live worker waits on a request
(the group of the oldest request then runs with what it has), so nothing deadlocks and a
lone input still runs. A request may be cut across two calls. The call is the model's
``predict_many`` (one ``generate`` / forward of the concatenated pixels); a model without
one runs each request alone with ``predict``. A call that fails is retried part by part,
so an exception reaches only the inputs whose copies raise it.

**Derived models.** :func:`sampler.certify.certify` derives the model it calls from the
one it is given: ``model.with_decoding(config.decoding)``, and with early stop
``model.with_oracle(oracle)`` (:class:`sampler.models.VLM`). Each worker asks its proxy,
and the proxy asks the scheduler (:meth:`_Scheduler.derived`), which makes one derived
model per ``(model, method, argument)`` (the argument by value when it is hashable, such
as a :class:`sampler.models.DecodingConfig`, else by identity, such as the campaign's one
oracle) and hands that same object to every worker: their requests then have the same
model object, hence the same pack key, and share calls.

**Threads and the host lock.** The model is called from the calling thread only; the
workers run ``prepare``, their noise and the oracle. Fast tokenizers (the Rust
``tokenizers`` behind ``transformers``' ``PreTrainedTokenizerFast``) are not safe to share
between threads: a call that changes the tokenizer's padding or truncation state while
another thread encodes or decodes raises ``RuntimeError: Already borrowed``, and the
processor of a VLM is one object. A VLM's model call tokenizes too: ``predict_many`` ends
with ``processor.batch_decode`` of the generated tokens, and with early stop the bound
oracle decodes the prefixes during ``generate``. So one re-entrant lock,
:attr:`_Scheduler.host_lock`, covers every use of the processor and the oracle: a
worker's ``prepare`` and oracle calls (the oracle is wrapped by :class:`_Serialized`),
and the whole model call in the calling thread (re-entrant: a bound oracle called inside
it takes the lock again in the same thread). The whole call is locked, not only its
decode, because the decode runs inside the model's own method; what this gives up is the
overlap of a worker's ``prepare`` or oracle call with a model call, both of them short
next to ``generate`` (a regular expression per text for the rule oracles, and a
tokenization per input), while the noise draws, the bulk of a worker's host work, run
outside the lock.
"""

from __future__ import annotations

import collections
import functools
import threading
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from sampler._packing import PackingStats

__all__: list[str] = []

DERIVING = ("with_decoding", "with_oracle")
"""The model methods whose result the scheduler shares between workers."""


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
    """The model as one worker sees it: everything forwarded, but ``predict`` queued and the
    derived models (:data:`DERIVING`) shared through the scheduler."""

    def __init__(self, real, scheduler: _Scheduler):
        self._real, self._scheduler = real, scheduler
        self._keys: dict[int, tuple[Any, tuple]] = {}  # id(prepared) -> (prepared, key)

    def __getattr__(self, name):
        attr = getattr(self._real, name)  # AttributeError where the model has none
        if name in DERIVING and callable(attr):
            return functools.partial(self._derived, name)
        return attr

    def _derived(self, method: str, arg):
        real = self._scheduler.derived(self._real, method, arg)
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


def _arg_key(arg) -> tuple:
    """``arg`` by value when it is hashable, else by identity."""
    try:
        hash(arg)
    except TypeError:
        return ("id", id(arg))
    return ("value", arg)


class _Scheduler:
    """The queue of requests and the rule that packs them (see the module docstring)."""

    def __init__(self, *, batch_size: int, stats: PackingStats):
        self.batch_size, self.stats = batch_size, stats
        self.cond = threading.Condition()
        self.host_lock = threading.RLock()
        self.pending: list[_Request] = []  # arrival order; copies not yet handed out
        self.open: set[_Request] = set()  # not yet delivered
        self.live = 0  # workers running
        self.finished: collections.deque = collections.deque()  # ("row", row) | ("raise", err)
        self.stopped = False
        self._derive_lock = threading.Lock()
        # (id(real), method, argument key) -> (real, argument, derived): the model and the
        # argument are kept alive, so their ids are not reused while the campaign runs.
        self._derived: dict[tuple, tuple[Any, Any, Any]] = {}

    def derived(self, real, method: str, arg):
        """``getattr(real, method)(arg)``, made once per ``(real, method, arg)`` and shared by
        every worker (so their calls pack); ``arg`` by value if hashable, else by identity."""
        key = (id(real), method, _arg_key(arg))
        with self._derive_lock:
            if key not in self._derived:
                self._derived[key] = (real, arg, getattr(real, method)(arg))
            return self._derived[key][2]

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
        """Outside the queue's lock, under the host lock: one model call for ``parts``, then
        each request its slice."""
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

    def _call(self, real, parts) -> list:
        with self.host_lock:  # the model's tokenizer decodes inside the call
            if parts[0][0].key[0] == "alone":  # no predict_many: one whole request
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
