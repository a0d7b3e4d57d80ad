"""One writer per campaign output file: :func:`output_lock`.

A campaign appends rows to its output file and, on resume, may rewrite it (a cut last line
dropped, error rows removed for a retry) with an atomic ``os.replace``. Two campaigns on
the same file would write every input twice, and a rewrite by one would leave the other
appending to the replaced file, its later rows lost. So a campaign holds an exclusive lock
on the output for the whole run, and a second campaign on the same file is refused
(:class:`OutputLockedError`) instead of waiting.

**The lock file.** The lock is taken on a sidecar file ``<out>.lock`` beside the output
(``out`` resolved through symbolic links first, so two names of one file share one lock),
never on the output itself: the output is replaced by the repairs, the lock file never is.
It is never deleted either (deleting it would let a second run lock a new file while the
first holds the old one), so a leftover ``.lock`` file after a run, or after a crash, is
harmless: a lock lives in the operating system, not in the file, and the next run simply
takes it again. While a run holds the lock, the file holds its holder as one JSON line
(``pid``, ``host``, ``since``: the UTC start time, ``argv``), so that a refused run can say
who holds it; it is emptied when the lock is released.

**Locks.** POSIX record locks (``fcntl.lockf`` with ``LOCK_EX | LOCK_NB``): they are the
locks that NFS supports (NFSv3 through lockd, NFSv4 natively), which matters because Ray
campaigns write to shared filesystems, and the operating system releases them whenever the
process ends, a ``kill -9`` included. A filesystem that cannot lock (``ENOLCK``,
``EOPNOTSUPP``, ``ENOSYS``, ``EINVAL``) is refused (:class:`OutputLockUnavailableError`):
campaigns do not write without a lock. On Windows the first byte of the lock file is
locked with ``msvcrt.locking`` instead.

**One process.** POSIX locks belong to a process, not to a descriptor or a thread, and the
process loses them as soon as it closes *any* descriptor of the file. So this module keeps
a registry of the locks this process holds, keyed by the lock file's real path, with
exactly one descriptor per file that is opened once and closed on the last release: the
lock is reentrant in the thread that holds it (the command line takes it before loading
the model, then :func:`sampler.run.run` takes it again), and refused to any other thread of
the process, just as to another process.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import os
import pathlib
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

__all__ = [
    "OutputLockUnavailableError",
    "OutputLockedError",
    "check_folder",
    "lock_path",
    "output_lock",
]

# errno values of a filesystem (or kernel) that cannot lock, as opposed to a lock held.
_UNAVAILABLE = frozenset(
    getattr(errno, name)
    for name in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EINVAL")
    if hasattr(errno, name)
)
_HELD = frozenset((errno.EACCES, errno.EAGAIN, getattr(errno, "EDEADLOCK", errno.EAGAIN)))


class OutputLockedError(ValueError):
    """Another run (another process, or another thread of this one) writes the output.

    Attributes:
      out: the output file.
      lock_file: its lock file (``<out>.lock``).
      holder: what the holder wrote into the lock file (``pid``, ``host``, ``since``,
        ``argv``), or None when it could not be read.
    """

    def __init__(self, message: str, *, out, lock_file, holder: dict[str, Any] | None):
        super().__init__(message)
        self.out, self.lock_file, self.holder = out, lock_file, holder


class OutputLockUnavailableError(ValueError):
    """The output's filesystem cannot take a POSIX lock; campaigns do not write without one.

    Attributes:
      out: the output file.
      lock_file: its lock file (``<out>.lock``).
    """

    def __init__(self, message: str, *, out, lock_file):
        super().__init__(message)
        self.out, self.lock_file = out, lock_file


class _Held:
    """A lock this process holds: its one descriptor, its holder and its reentry count."""

    def __init__(self, fd: int, holder: dict[str, Any]):
        self.fd, self.holder, self.count = fd, holder, 1
        self.thread = threading.get_ident()


_registry: dict[str, _Held] = {}
_registry_guard = threading.Lock()


def lock_path(out) -> pathlib.Path:
    """The lock file of the output ``out``: ``<out>.lock`` beside the resolved ``out``.

    Example:
      >>> lock_path("/data/run/rows.jsonl").name
      'rows.jsonl.lock'
    """
    real = pathlib.Path(os.path.realpath(out))
    return real.with_name(real.name + ".lock")


def check_folder(path, *, name: str) -> None:
    """Check that the folder of the file ``path`` exists and is writable (it is not created).

    Raises:
      ValueError: ``"NAME: the folder F does not exist ..."``, ``"NAME: F is not a folder"``
        or ``"NAME: the folder F is not writable"``.

    Example:
      >>> try:
      ...     check_folder("/no/such/folder/rows.jsonl", name="out")
      ... except ValueError as err:
      ...     str(err).split(" (")[0]
      'out: the folder /no/such/folder does not exist'
    """
    folder = pathlib.Path(path).parent
    if not folder.exists():
        raise ValueError(
            f"{name}: the folder {folder} does not exist (output folders are not created: "
            "create it first)"
        )
    if not folder.is_dir():
        raise ValueError(f"{name}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: the folder {folder} is not writable")


def _holder() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": list(sys.argv),
    }


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "a holder that has not written its name yet"
    return (
        f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, since "
        f"{holder.get('since', '?')}"
    )


def _read_holder(fd: int) -> dict[str, Any] | None:
    offset = 0 if fcntl is not None else 1  # Windows: byte 0 is the locked one
    try:
        data = os.pread(fd, 1 << 16, offset) if hasattr(os, "pread") else b""
        holder = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _try_lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # from offset 0 to the end, growing
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    data = json.dumps(holder, ensure_ascii=False).encode("utf-8") + b"\n"
    if fcntl is None:
        data = b" " + data  # Windows: byte 0 is locked and unreadable to others
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)
    os.fsync(fd)


def _release(fd: int) -> None:
    try:
        os.ftruncate(fd, 1 if fcntl is None else 0)  # the holder is gone
    except OSError:
        pass
    finally:
        os.close(fd)  # closing the one descriptor releases the lock


def _refused(out, lock, holder: dict[str, Any] | None, who: str) -> OutputLockedError:
    return OutputLockedError(
        f"out: {out} is being written by {who} ({_describe(holder)}; lock file {lock}): "
        "wait for it to finish, or write to another file",
        out=out,
        lock_file=lock,
        holder=holder,
    )


def _acquire(out: pathlib.Path, lock: pathlib.Path) -> _Held:
    if out.is_dir():  # no lock file beside a folder
        raise ValueError(f"out: {out} is a directory; give the path of a JSONL file")
    check_folder(lock, name="out")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise ValueError(
            f"out: cannot open the lock file {lock} beside the output: {err.strerror}"
        ) from err
    try:
        _try_lock(fd)
    except OSError as err:
        holder = _read_holder(fd) if err.errno in _HELD else None
        os.close(fd)  # this process held no lock on the file: nothing is dropped
        if err.errno in _HELD:
            raise _refused(out, lock, holder, "another run") from None
        if err.errno in _UNAVAILABLE:
            raise OutputLockUnavailableError(
                f"out: cannot lock {lock} ({err.strerror}): campaigns do not write without a "
                "lock (one writer per output file); put the output on a filesystem that "
                "supports POSIX locks (a local disk, or NFS with locking enabled)",
                out=out,
                lock_file=lock,
            ) from err
        raise
    except BaseException:
        os.close(fd)
        raise
    holder = _holder()
    try:
        _write_holder(fd, holder)
    except BaseException:
        os.close(fd)
        raise
    return _Held(fd, holder)


@contextlib.contextmanager
def output_lock(out) -> Iterator[pathlib.Path]:
    """Hold the exclusive lock of the output ``out`` for the ``with`` block (module docstring).

    Non-blocking: a lock held elsewhere is refused at once. Reentrant in the thread that
    holds it; released on any exit of the block (an exception or a ``KeyboardInterrupt``
    included, and by the operating system when the process is killed).

    Args:
      out: the output file (need not exist; its folder must).

    Yields:
      the lock file, ``<out>.lock``.

    Raises:
      OutputLockedError: another process, or another thread of this one, holds the lock
        (a ValueError): ``"out: OUT is being written by another run (pid PID on HOST, since
        TIME; lock file LOCK): wait for it to finish, or write to another file"``.
      OutputLockUnavailableError: the filesystem cannot lock (a ValueError).
      ValueError: ``out`` is a directory, its folder does not exist, or the lock file
        cannot be opened (``"out: ..."``).

    Example:
      >>> import pathlib, tempfile
      >>> out = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
      >>> with output_lock(out) as lock:
      ...     with output_lock(out):  # the same thread: reentrant
      ...         lock.name
      'rows.jsonl.lock'
    """
    out = pathlib.Path(out)
    lock = lock_path(out)
    key = os.fspath(lock)
    with _registry_guard:
        held = _registry.get(key)
        if held is not None:
            if held.thread != threading.get_ident():
                raise _refused(out, lock, held.holder, "another thread of this process")
            held.count += 1
        else:
            held = _registry[key] = _acquire(out, lock)
    try:
        yield lock
    finally:
        with _registry_guard:
            held.count -= 1
            if held.count == 0:
                del _registry[key]
                _release(held.fd)
