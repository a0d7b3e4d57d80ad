"""Tests of sampler._lock (one writer per campaign output file), with real processes: a
second ``collect`` on an output that another process locks exits 2 naming the holder and
writes nothing; a second ``collect --retry-errors`` while a real ``collect`` runs is
refused and the first run's rows are all kept, once each; the lock is released when its
holder is killed (SIGKILL) or interrupted (SIGINT); reentrant in one thread, refused to
another; a filesystem that cannot lock is refused."""

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import sampler._lock as lock_module
from sampler._lock import OutputLockedError, OutputLockUnavailableError, lock_path, output_lock
from sampler.run import read_rows
from tests.sampler._campaign_stubs import (
    collect_argv,
    offline_env,
    run_fast_classifier,
    save_images,
)

ENV = offline_env()

# A process that holds the lock of argv[2] until it is killed or interrupted. It loads
# sampler/_lock.py alone (the standard library only), so it starts in milliseconds.
HOLDER = r"""
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("lock_module", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
with module.output_lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(120)
"""

# Another process's view of a lock file: "held" or "free", then the file's content.
PROBE = r"""
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    state = "free"
except OSError:
    state = "held"
print(state, os.pread(fd, 1 << 16, 0).decode(), end="")
"""


@pytest.fixture
def holders():
    """Start lock-holding processes (:data:`HOLDER`); each is killed at the end."""
    procs = []

    def start(out):
        proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, lock_module.__file__, str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout.readline() == "locked\n"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def _probe(lock) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(lock)], capture_output=True, text=True, check=True
    )
    state, _, content = done.stdout.partition(" ")
    return state, content


def _descriptors(path) -> int:
    """Descriptors of this process open on ``path`` (Linux: /proc/self/fd)."""
    fds = "/proc/self/fd"
    return sum(
        1
        for fd in os.listdir(fds)
        if os.path.realpath(os.path.join(fds, fd)) == os.path.realpath(path)
    )


def _collect(model, data, out, *extra):
    options = dict(n=64, n0=8, max_new_tokens=6, batch_size=8, seed=0)
    argv = collect_argv(model, data, out, "--quiet", *extra, **options)
    return [sys.executable, "-m", "sampler", *argv]


def _holder_pid(out) -> int | None:
    try:
        return json.loads(lock_path(out).read_text())["pid"]
    except (OSError, ValueError, KeyError):
        return None


def test_run_refuses_an_output_locked_by_another_process(holders, tmp_path):
    """The API: run() on an output another process locks raises OutputLockedError (a
    ValueError) naming the output, the holder's pid and host, and the remedy, and leaves
    the file as it was (a cut last line, which a run would repair, is still there)."""
    images = save_images(tmp_path, 2)
    out = tmp_path / "rows.jsonl"
    assert run_fast_classifier(images, out, limit=1).ok == 1
    out.write_bytes(out.read_bytes() + b'{"id": "01.png", "config_')
    before = out.read_bytes()
    holder = holders(out)
    with pytest.raises(OutputLockedError) as info:
        run_fast_classifier(images, out)
    message = str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in message
    assert message.startswith(f"out: {out} is being written by another run (pid {holder.pid} on ")
    assert "wait for it to finish, or write to another file" in message
    assert info.value.holder["pid"] == holder.pid and info.value.holder["argv"]
    assert out.read_bytes() == before


def test_a_second_collect_on_a_locked_output_exits_2_naming_the_holder(
    holders, tiny_llava_15_path, tmp_path
):
    """Two processes, one output: while another process holds the lock, ``collect`` on the
    output exits 2 within seconds with a message naming the holder's pid, and writes
    nothing (the cut last line it would repair is left as it is)."""
    images = save_images(tmp_path, 2)
    out = tmp_path / "rows.jsonl"
    out.write_bytes(b'{"id": "00.png", "config_hash": "')
    holder = holders(out)
    start = time.monotonic()
    second = subprocess.run(
        _collect(tiny_llava_15_path, images, out), env=ENV, capture_output=True, text=True
    )
    elapsed = time.monotonic() - start
    assert second.returncode == 2, second.stderr
    assert f"pid {holder.pid} on " in second.stderr
    assert "wait for it to finish, or write to another file" in second.stderr
    assert out.read_bytes() == b'{"id": "00.png", "config_hash": "'
    assert elapsed < 60  # the start of Python, torch and the command line; no campaign
    assert holder.poll() is None  # the holder was not disturbed


@pytest.mark.slow
def test_a_second_collect_while_one_runs_is_refused_and_no_row_is_lost(
    tiny_llava_15_path, tmp_path
):
    """A real ``collect`` runs (one broken image gives it an error row); once it holds the
    lock and has written a row, it is paused (SIGSTOP: it keeps the lock, mid-run) and a
    second ``collect --retry-errors`` on the same output, which would remove the error row
    by replacing the file under the first, is refused with exit 2 and changes nothing.
    Resumed, the first writes every input exactly once."""
    images = save_images(tmp_path, 12)
    (images / "0-broken.png").write_bytes(b"not a png")  # sorted first: its row comes first
    out = tmp_path / "rows.jsonl"
    first = subprocess.Popen(
        _collect(tiny_llava_15_path, images, out),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (_holder_pid(out) == first.pid and out.exists() and out.read_bytes()):
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.02)
        first.send_signal(signal.SIGSTOP)
        before = out.read_bytes()
        second = subprocess.run(
            _collect(tiny_llava_15_path, images, out, "--retry-errors"),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        assert f"pid {first.pid} on " in second.stderr
        assert out.read_bytes() == before
    finally:
        first.send_signal(signal.SIGCONT)
        first.wait(timeout=120)
        first.stderr.close()
    assert first.returncode in (0, 3)  # 3: an input has an error row (the broken image)
    rows = read_rows(out)
    ids = ["0-broken.png"] + [f"{i:02d}.png" for i in range(12)]
    assert sorted(r["id"] for r in rows) == ids
    assert {r["id"]: r["status"] for r in rows} == {i: "ok" for i in ids[1:]} | {
        "0-broken.png": "error"
    }


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_the_lock_is_released_when_its_holder_is_killed_or_interrupted(holders, tmp_path, how):
    """A holder killed with SIGKILL (the operating system releases its lock) or interrupted
    with SIGINT (a KeyboardInterrupt, the ``with`` block's exit releases it and empties the
    lock file) lets the next run take the lock and resume the file."""
    images = save_images(tmp_path, 4)
    out = tmp_path / "rows.jsonl"
    assert run_fast_classifier(images, out, limit=2).ok == 2
    holder = holders(out)
    assert _probe(lock_path(out))[0] == "held"
    holder.send_signal(how)
    assert holder.wait(timeout=30) != 0
    state, content = _probe(lock_path(out))
    assert state == "free"
    if how == signal.SIGINT:
        assert content == ""  # released by the context manager, holder cleared
    else:
        assert json.loads(content)["pid"] == holder.pid  # left behind, and harmless
    summary = run_fast_classifier(images, out)
    assert (summary.skipped, summary.ok) == (2, 2)
    assert sorted(r["id"] for r in read_rows(out)) == ["00.png", "01.png", "02.png", "03.png"]


def test_the_lock_is_reentrant_in_its_thread_and_refused_to_another(tmp_path):
    """One thread takes the lock again (another spelling of the path too, and run() inside
    it) on its one descriptor; inner exits keep it; another thread is refused, naming this
    process; the last exit releases it (seen from another process)."""
    images = save_images(tmp_path, 2)
    out = tmp_path / "rows.jsonl"
    refused = []

    def other_thread():
        try:
            with output_lock(out):
                pass
        except OutputLockedError as err:
            refused.append(err)
        try:
            run_fast_classifier(images, out)
        except OutputLockedError as err:
            refused.append(err)

    with output_lock(out) as lock:
        assert lock == lock_path(out) and lock.name == "rows.jsonl.lock"
        state, content = _probe(lock)
        assert state == "held" and json.loads(content)["pid"] == os.getpid()
        with output_lock(out), output_lock(tmp_path / "." / "rows.jsonl"):
            assert _descriptors(lock) == 1
            assert run_fast_classifier(images, out).ok == 2  # run() takes it again
        assert _probe(lock)[0] == "held"
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(refused) == 2
        for err in refused:
            assert f"another thread of this process (pid {os.getpid()} on " in str(err)
        assert _probe(lock)[0] == "held" and _descriptors(lock) == 1
    assert _probe(lock) == ("free", "")
    assert _descriptors(lock) == 0 and not lock_module._registry
    thread = threading.Thread(target=lambda: refused.append(run_fast_classifier(images, out)))
    thread.start()
    thread.join()
    assert refused[-1].skipped == 2  # released: another thread takes it


def test_the_lock_is_released_by_an_exception_in_its_block(tmp_path):
    out = tmp_path / "rows.jsonl"
    for error in (RuntimeError, KeyboardInterrupt):
        with pytest.raises(error), output_lock(out):
            raise error
        assert _probe(lock_path(out)) == ("free", "") and not lock_module._registry


@pytest.mark.parametrize(
    "code",
    [errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL],
    ids=["ENOLCK", "EOPNOTSUPP", "ENOSYS", "EINVAL"],
)
def test_a_filesystem_that_cannot_lock_is_refused(tmp_path, monkeypatch, code):
    """lockf failing with ENOLCK / EOPNOTSUPP / ENOSYS / EINVAL (NFS without lockd, a FUSE
    filesystem, ...) is a documented refusal: OutputLockUnavailableError, a ValueError,
    raised before the campaign writes anything; no descriptor is left open."""

    def cannot_lock(fd, cmd, *args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(lock_module.fcntl, "lockf", cannot_lock)
    images = save_images(tmp_path, 2)
    out = tmp_path / "rows.jsonl"
    with pytest.raises(OutputLockUnavailableError) as info, output_lock(out):
        pass
    message = str(info.value)
    assert isinstance(info.value, ValueError) and "\n" not in message
    assert message.startswith(f"out: cannot lock {lock_path(out)} ({os.strerror(code)}): ")
    assert "campaigns do not write without a lock" in message
    assert "put the output on a filesystem that supports POSIX locks" in message
    assert not lock_module._registry and _descriptors(lock_path(out)) == 0
    with pytest.raises(OutputLockUnavailableError):
        run_fast_classifier(images, out)
    assert not out.exists()
