"""Tests of sampler._packing: the rows of a packed campaign equal those of the one-by-one
loop (a classifier and the tiny LLaVA, fixed n and sequential, greedy and sampled decoding),
requests cut across calls, prompts that never share a call, an input's error kept to its
own row, the fill fraction, a model without predict_many, a clean interrupt, derived models
(with_decoding, with_oracle) shared by the workers, and the host lock around the model call."""

import threading

import numpy as np
import pytest
import torch
from PIL import Image

from sampler._campaign import certify_row, make_job
from sampler._packing import PackingStats, certify_packed
from sampler.certify import CertifyConfig, SequentialRule
from sampler.models import DecodingConfig, ImageClassifier
from sampler.run import Input

PROMPT = "what is in the picture?"


class FirstWord:
    """A stub oracle: class = length of the first word mod 3 (varied on the tiny model)."""

    labels = ("zero", "one", "two")
    num_classes = 3

    def __call__(self, texts):
        return torch.tensor([len((t.split() or [""])[0]) % 3 for t in texts], dtype=torch.int64)


class _Linear(torch.nn.Module):
    def __init__(self, pixels=3 * 8 * 8, classes=4):
        super().__init__()
        self.weight = torch.nn.Parameter(
            torch.randn(classes, pixels, generator=torch.Generator().manual_seed(0))
        )

    def forward(self, x):
        return x.flatten(1) @ self.weight.T


class Recording(ImageClassifier):
    """A classifier that records the parts of every packed call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = []

    def predict_many(self, prepared_list, pixels_list, *, seeds=None, offsets=None):
        self.calls.append(
            [(p.pixels.shape, x.shape[0]) for p, x in zip(prepared_list, pixels_list, strict=True)]
        )
        return super().predict_many(prepared_list, pixels_list, seeds=seeds, offsets=offsets)


def _inputs(tmp_path, count, *, size=8, prompt=None, sizes=None):
    out = []
    for i in range(count):
        rng = np.random.default_rng(i)
        side = size if sizes is None else sizes[i % len(sizes)]
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path)
        p = prompt[i % len(prompt)] if isinstance(prompt, list) else prompt
        out.append(Input(f"in{i}", path, p))
    return out


def _job(model, oracle=None, **kw):
    cfg = CertifyConfig(**{"sigma": 0.5, "alpha": 0.01, "seed": 0, **kw})
    return make_job(model, config=cfg, oracle=oracle, oracle_name="stub", model_name="m")


def _strip(rows):
    return {r["id"]: {k: v for k, v in r.items() if k != "timings"} for r in rows}


def _packed(model, inputs, job, in_flight):
    rows = []
    stats = certify_packed(model, inputs, job, write=rows.append, in_flight=in_flight)
    assert len(rows) == len(inputs)
    return _strip(rows), stats


def _loop(model, inputs, job):
    return _strip([certify_row(model, inp, job) for inp in inputs])


FIXED = {"n0": 5, "n": 23, "batch_size": 8}  # n0 and n not multiples of batch_size
SEQUENTIAL = {
    "n0": 5,
    "batch_size": 8,
    "sequential": SequentialRule(radius=0.1, n_max=64),
}


@pytest.mark.parametrize("kw", [FIXED, SEQUENTIAL], ids=["fixed", "sequential"])
def test_classifier_rows_equal_the_one_by_one_loop(tmp_path, kw):
    torch.set_num_threads(1)
    clf = Recording(_Linear())
    inputs = _inputs(tmp_path, 9)
    job = _job(clf, num_classes=4, **kw)
    want = _loop(clf, inputs, job)
    assert all(r["status"] == "ok" for r in want.values())
    assert len({tuple(r["estimation_labels"]) for r in want.values()}) > 1  # the noise matters
    for in_flight in (1, 4, 9):
        clf.calls.clear()
        got, stats = _packed(clf, inputs, job, in_flight)
        assert got == want
        assert stats.calls == len(clf.calls) and stats.copies == sum(
            n for call in clf.calls for _, n in call
        )
        assert stats.copies == sum(r["n0"] + r["n"] for r in want.values())
        assert stats.fill == pytest.approx(stats.copies / (stats.calls * 8))
        assert max(stats.sizes) <= 8
        if in_flight == 1:  # the calls of the loop: one per request
            assert stats.calls == stats.requests and stats.split_requests == 0
        else:
            assert stats.split_requests > 0  # 5 + 8 + ... copies fill calls of 8
    # With 9 inputs in flight every call but the last few is full.
    assert stats.fill > 0.9


def test_a_request_is_cut_across_two_calls_with_its_copy_offsets(tmp_path):
    """Requests of 5 and 5 copies with calls of 8: 5 + 3, then 2 (offset 3)."""
    seen = []

    class Offsets(Recording):
        def predict_many(self, prepared_list, pixels_list, *, seeds=None, offsets=None):
            offsets = [0] * len(pixels_list) if offsets is None else offsets
            seen.append([(x.shape[0], o) for x, o in zip(pixels_list, offsets, strict=True)])
            return super().predict_many(prepared_list, pixels_list, seeds=seeds, offsets=offsets)

    clf = Offsets(_Linear())
    inputs = _inputs(tmp_path, 2)
    job = _job(clf, num_classes=4, n0=5, n=3, batch_size=8)
    got, stats = _packed(clf, inputs, job, 2)
    seen_packed = list(seen)
    want = _loop(clf, inputs, job)
    assert got == want
    # Both selections wait: 5 + 3 fill a call; the first input's estimation (3) then waits
    # with the 2 copies left of the second selection (from copy 3 on); then the last one.
    assert seen_packed == [[(5, 0), (3, 0)], [(2, 3), (3, 0)], [(3, 0)]]
    assert stats.split_requests == 1 and stats.calls == 3 and stats.requests == 4


def test_inputs_of_other_shapes_never_share_a_call(tmp_path):
    torch.manual_seed(0)
    pool = torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(12, 3)
    )
    clf = Recording(pool)  # no input_size: each image keeps its own size
    inputs = _inputs(tmp_path, 6, sizes=[6, 7])
    job = _job(clf, num_classes=3, n0=3, n=5, batch_size=8)
    got, _ = _packed(clf, inputs, job, 6)
    assert got == _loop(clf, inputs, job)
    assert clf.calls and all(len({shape for shape, _ in call}) == 1 for call in clf.calls)
    assert {call[0][0] for call in clf.calls} == {(3, 6, 6), (3, 7, 7)}


def test_an_error_in_one_input_is_its_error_row_and_the_others_finish(tmp_path):
    class Poisoned(Recording):
        """Raises on any call holding a copy of the all-white image."""

        def predict_many(self, prepared_list, pixels_list, **kw):
            if any(bool((p.pixels == 1).all()) for p in prepared_list):
                raise RuntimeError("white image")
            return super().predict_many(prepared_list, pixels_list, **kw)

    clf = Poisoned(_Linear())
    inputs = _inputs(tmp_path, 5)
    Image.new("RGB", (8, 8), (255, 255, 255)).save(inputs[2].image)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    inputs.append(Input("broken", tmp_path / "broken.png", None))
    job = _job(clf, num_classes=4, n0=5, n=11, batch_size=8)
    want = _loop(clf, inputs, job)
    got, stats = _packed(clf, inputs, job, 6)
    for rows in (want, got):  # PIL's message names the address of a BytesIO
        rows["broken"]["error"]["message"] = rows["broken"]["error"]["message"].split(" <")[0]
    assert got == want
    assert got["in2"]["status"] == "error"
    assert got["in2"]["error"] == {"type": "RuntimeError", "message": "white image"}
    assert got["broken"]["status"] == "error"
    assert sum(r["status"] == "ok" for r in got.values()) == 4
    assert stats.retried_calls >= 1


def test_a_model_without_predict_many_runs_each_request_alone(tmp_path):
    class Plain:
        def __init__(self):
            self.inner = ImageClassifier(_Linear())
            self.device, self.normalization = self.inner.device, self.inner.normalization
            self.sizes = []

        def prepare(self, image, prompt=None):
            return self.inner.prepare(image, prompt)

        def predict(self, prepared, pixels, *, seed=None):
            self.sizes.append(pixels.shape[0])
            return self.inner.predict(prepared, pixels)

    model = Plain()
    inputs = _inputs(tmp_path, 3)
    job = _job(model.inner, num_classes=4, n0=5, n=11, batch_size=8)
    want = _loop(model, inputs, job)
    model.sizes.clear()
    got, stats = _packed(model, inputs, job, 3)
    assert got == want
    assert sorted(model.sizes) == sorted([5, 8, 3] * 3) and stats.calls == 9


def test_in_flight_is_checked():
    clf = ImageClassifier(_Linear())
    job = _job(clf, num_classes=4, n0=5, n=11, batch_size=8)
    with pytest.raises(ValueError, match="in_flight"):
        certify_packed(clf, [], job, write=print, in_flight=0)
    with pytest.raises(ValueError, match=r"stats\.batch_size"):
        certify_packed(clf, [], job, write=print, in_flight=1, stats=PackingStats(batch_size=4))


def test_an_interrupt_stops_the_workers_and_keeps_the_rows_written(tmp_path):
    clf = ImageClassifier(_Linear())
    inputs = _inputs(tmp_path, 8)
    job = _job(clf, num_classes=4, n0=5, n=11, batch_size=8)
    rows = []

    def write(row):
        if len(rows) == 2:
            raise KeyboardInterrupt
        rows.append(row)

    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        certify_packed(clf, inputs, job, write=write, in_flight=4)
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    assert threading.active_count() == before  # every worker stopped


VLM_FIXED = {"n0": 3, "n": 5, "batch_size": 4}
VLM_SEQUENTIAL = {"n0": 3, "batch_size": 4, "sequential": SequentialRule(radius=0.05, n_max=12)}


@pytest.mark.parametrize("kw", [VLM_FIXED, VLM_SEQUENTIAL], ids=["fixed", "sequential"])
@pytest.mark.parametrize("do_sample", [False, True], ids=["greedy", "sampled"])
def test_vlm_rows_equal_the_one_by_one_loop(vlm15, tmp_path, kw, do_sample):
    torch.set_num_threads(1)
    decoding = DecodingConfig(max_new_tokens=6, do_sample=do_sample, temperature=1.5, top_k=20)
    inputs = _inputs(tmp_path, 5, size=32, prompt=PROMPT)
    job = _job(vlm15, FirstWord(), decoding=decoding, keep_texts=True, **kw)
    want = _loop(vlm15, inputs, job)
    assert all(r["status"] == "ok" for r in want.values())
    for in_flight in (1, 5):
        got, stats = _packed(vlm15, inputs, job, in_flight)
        for key in want:  # texts first: a mismatch shows which copy differs
            assert got[key]["texts"] == want[key]["texts"], key
        assert got == want
    assert stats.split_requests > 0 and stats.calls < stats.requests


def test_vlm_inputs_with_other_prompts_never_share_a_call(vlm15, tmp_path, monkeypatch):
    calls = []
    real = type(vlm15).predict_many

    def spy(self, prepared_list, pixels_list, **kw):
        calls.append({tuple(p.inputs["input_ids"][0].tolist()) for p in prepared_list})
        return real(self, prepared_list, pixels_list, **kw)

    monkeypatch.setattr(type(vlm15), "predict_many", spy)
    # Prompts of the same length in tokens: only their values tell them apart.
    prompts = ["what is this ?", "what is that ?"]
    inputs = _inputs(tmp_path, 4, size=32, prompt=prompts)
    job = _job(vlm15, FirstWord(), n0=3, n=5, batch_size=4, keep_texts=True)
    want = _loop(vlm15, inputs, job)
    calls.clear()
    got, _ = _packed(vlm15, inputs, job, 4)
    assert got == want
    assert len({len(next(iter(c))) for c in calls}) == 1  # the same length in tokens
    assert all(len(c) == 1 for c in calls) and len(set().union(*calls)) == 2


class Derivable(Recording):
    """A classifier with ``with_decoding`` and ``with_oracle`` as a VLM has them: each
    returns a new object (the same weights), recording what it was derived with."""

    def __init__(self, *args, derived_from=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.derived_from = derived_from
        self.derivations = []

    def _copy(self, how):
        other = Derivable(self.module, derived_from=(self, how))
        other.calls = self.calls  # one record of the calls
        self.derivations.append(how)
        return other

    def with_decoding(self, decoding):
        return self._copy(("with_decoding", decoding))

    def with_oracle(self, oracle):
        return self._copy(("with_oracle", oracle))


def test_derived_models_are_made_once_and_shared_so_their_calls_pack(tmp_path, monkeypatch):
    """Every worker asks for ``with_decoding(d).with_oracle(o)``; the scheduler makes one of
    each, by value for the hashable decoding and by identity for the oracle, so the workers
    share one model object and their copies share calls."""
    import sampler._certify as certify_mod
    from sampler._scheduler import _Scheduler

    marker = object()  # the campaign's one oracle object
    seen = []

    def bind(model, cfg, oracle):
        bound = model.with_decoding(("greedy", 6)).with_oracle(marker)
        seen.append(bound)
        return bound

    monkeypatch.setattr(certify_mod, "_bind_early_stop", bind)
    clf = Derivable(_Linear())
    inputs = _inputs(tmp_path, 6)
    job = _job(clf, num_classes=4, n0=5, n=11, batch_size=8)
    got, stats = _packed(clf, inputs, job, 6)
    assert len(seen) == 6
    assert clf.derivations == [("with_decoding", ("greedy", 6))]  # once, not per worker
    (bound,) = {p._real for p in seen}  # one bound model for every worker
    decoded = bound.derived_from[0]
    assert decoded.derivations == [("with_oracle", marker)]
    assert stats.copies == 6 * 16 and stats.calls < stats.requests  # their copies packed
    # Equal hashable arguments share; other objects (of default identity) do not.
    sched = _Scheduler(batch_size=8, stats=PackingStats(batch_size=8))
    one, two = (sched.derived(clf, "with_oracle", object()) for _ in range(2))
    same, again = (sched.derived(clf, "with_decoding", ("a", 1)) for _ in range(2))
    unhashable = [sched.derived(clf, "with_decoding", {"a": 1}) for _ in range(2)]
    assert one is not two and same is again and unhashable[0] is not unhashable[1]
    # The rows are those of the loop (whose derivations are not shared).
    monkeypatch.setattr(certify_mod, "_bind_early_stop", lambda m, c, o: m)
    assert got == _loop(clf, inputs, job)


def test_the_model_call_holds_the_host_lock_that_prepare_and_the_oracle_take(tmp_path):
    """A tokenizer is used by ``prepare`` and the oracle in the workers and by the model's
    own decode in the calling thread: none of them may overlap another."""
    active, overlaps = [], []
    guard = threading.Lock()

    def enter(what):
        with guard:
            if active:
                overlaps.append((tuple(active), what))
            active.append(what)

    def leave(what):
        with guard:
            active.remove(what)

    class Busy(Recording):
        def prepare(self, image, prompt=None):
            enter("prepare")
            try:
                return super().prepare(image, prompt)
            finally:
                leave("prepare")

        def predict_many(self, prepared_list, pixels_list, **kw):
            enter("call")
            try:
                threading.Event().wait(0.002)  # room for a worker to slip in
                return super().predict_many(prepared_list, pixels_list, **kw)
            finally:
                leave("call")

    clf = Busy(_Linear())
    inputs = _inputs(tmp_path, 6)
    job = _job(clf, num_classes=4, n0=5, n=11, batch_size=8)
    got, stats = _packed(clf, inputs, job, 6)
    assert all(r["status"] == "ok" for r in got.values())
    assert stats.calls > 1 and overlaps == []


def test_a_vlm_oracle_never_runs_during_a_model_call(vlm15, tmp_path, monkeypatch):
    """The oracle (in the workers) and the VLM's call with its ``batch_decode`` (in the
    calling thread) share one tokenizer-safe lock."""
    busy, overlaps = [], []
    real = type(vlm15).predict_many

    def call(self, *args, **kw):
        busy.append(1)
        try:
            threading.Event().wait(0.002)
            return real(self, *args, **kw)
        finally:
            busy.pop()

    class Watching(FirstWord):
        def __call__(self, texts):
            overlaps.append(bool(busy))
            return super().__call__(texts)

    monkeypatch.setattr(type(vlm15), "predict_many", call)
    inputs = _inputs(tmp_path, 4, size=32, prompt=PROMPT)
    job = _job(
        vlm15, Watching(), n0=3, n=5, batch_size=4, decoding=DecodingConfig(max_new_tokens=3)
    )
    got, stats = _packed(vlm15, inputs, job, 4)
    assert all(r["status"] == "ok" for r in got.values()), got
    assert len(overlaps) == 8 and not any(overlaps) and stats.calls >= 4
