"""A data directory has one owner: an OS lock held for the owner's life, and private modes.

The process that writes a data directory (a durable store, ``reconcile up``)
holds ``fcntl.flock`` on its lock file, ``reconcile.lock``, which says the
owner's pid. A second process that tries gets :class:`~reconcile.api.errors.StateInUse`
naming that pid; the lock goes with the process, so one killed with ``kill -9``
leaves nothing to clean up. Within one process the lock is re-entrant (``up``
takes it before starting Ray, then its durable store takes it again).

The directory is made ``0700`` and its files ``0600``, whatever the umask.

>>> import tempfile, os
>>> d = os.path.join(tempfile.mkdtemp(), "state")
>>> held = lock(d)
>>> owner(d) == os.getpid(), oct(os.stat(d).st_mode & 0o777)
(True, '0o700')
>>> held.release(); owner(d) is None
True
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time

from reconcile.api.errors import StateError, StateInUse

__all__ = ["LOCK_FILE", "DataDirLock", "lock", "owner", "private_dir", "private_file"]

LOCK_FILE = "reconcile.lock"

_held: dict[str, "DataDirLock"] = {}    # the data directories this process owns, by real path
_guard = threading.Lock()


def private_dir(path: str) -> str:
    """``path`` as a directory, made ``0700`` if this call creates it (an existing one is kept as it is)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise StateError(f"{path}: a file is there, not a data directory; use another directory") from None
        return path
    except FileNotFoundError:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return private_dir(path)
    os.chmod(path, 0o700)               # the umask may have taken bits away
    return path


def private_file(path: str, flags: int = os.O_RDWR) -> int:
    """An open descriptor of ``path`` (created if missing), the file made ``0600``."""
    fd = os.open(path, flags | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o777 != 0o600:
            os.fchmod(fd, 0o600)
    except BaseException:
        os.close(fd)
        raise
    return fd


class DataDirLock:
    """This process's hold on a data directory; :meth:`release` as often as it was taken."""

    def __init__(self, path: str, fd: int):
        self.path = path
        self.fd = fd
        self.count = 1

    def release(self) -> None:
        with _guard:
            if self.count == 0:
                return
            self.count -= 1
            if self.count:
                return
            _held.pop(os.path.realpath(self.path), None)
            try:
                os.ftruncate(self.fd, 0)        # no owner any more (a reader sees no stale pid)
            except OSError:
                pass
            os.close(self.fd)                   # closing it lets the lock go

    def __enter__(self) -> "DataDirLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def lock(data_dir: str) -> DataDirLock:
    """Own ``data_dir`` (created ``0700`` if missing) for this process's life, or until released;
    :class:`~reconcile.api.errors.StateInUse` if another process owns it."""
    private_dir(data_dir)
    key = os.path.realpath(data_dir)
    with _guard:
        held = _held.get(key)
        if held is not None:
            held.count += 1
            return held
        path = os.path.join(data_dir, LOCK_FILE)
        fd = private_file(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateError(f"{path}: cannot lock the data directory: {e.strerror}") from None
            pid = _read_pid(path)
            who = f"pid {pid}" if pid else "another process"
            raise StateInUse(f"the data directory {data_dir} is in use by {who}: one process owns a data "
                             f"directory; stop that one (for a cluster: reconcile down --state {data_dir}) "
                             "or use another directory", pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        held = _held[key] = DataDirLock(data_dir, fd)
        return held


def owner(data_dir: str) -> int | None:
    """The pid of the process that owns ``data_dir`` now, or None if none does (a pid left in a
    lock file by a process that died does not count: the lock went with it)."""
    path = os.path.join(data_dir, LOCK_FILE)
    with _guard:
        if os.path.realpath(data_dir) in _held:
            return os.getpid()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_pid(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read_pid(path: str, wait: float = 1.0) -> int | None:
    """The pid in a lock file that is held (its owner may be writing it just now: wait a little)."""
    end = time.monotonic() + wait
    while True:
        try:
            with open(path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            if time.monotonic() > end:
                return None
            time.sleep(0.01)


def _forget_after_fork() -> None:
    """A forked child does not own its parent's directories (the inherited descriptors stay open
    so as not to drop the parent's lock; the child cannot take it again)."""
    global _guard
    _guard = threading.Lock()
    _held.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
