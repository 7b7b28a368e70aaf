"""Reading a file of the language or of Kubernetes YAML, safely: ``dsl.read_file``.

Only regular files (and ``-``, standard input) are read, never more than
:data:`MAX_FILE_BYTES` (32 MiB; ``RECONCILE_MAX_FILE_SIZE`` sets another
limit, in bytes or as a quantity like ``64Mi``), and the text must be UTF-8.
Anything else is an :class:`InputError` naming the file, never a hang on a
FIFO or ``/dev/zero`` and never a ``UnicodeDecodeError``.

>>> import os, tempfile
>>> d = tempfile.mkdtemp(); p = os.path.join(d, "bad.cluster")
>>> _ = open(p, "wb").write(b"namespace caf\\xe9\\n")
>>> try:
...     read_file(p)
... except InputError as e:
...     print(e.render().replace(d, "."))
./bad.cluster:1:14: not UTF-8 text: byte 0xe9 cannot start or continue a character
"""

from __future__ import annotations

import os
import stat
import sys

from reconcile.api.quantity import parse_quantity

from dsl._errors import DslError

__all__ = ["read_file", "write_file", "max_file_bytes", "InputError", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 32 * 1024 * 1024


class InputError(DslError):
    """A file that cannot be read as text of the language or YAML: missing, not a regular file,
    too large, or not UTF-8. Renders as ``path: message`` (with the line and column of a bad byte)."""

    def __init__(self, message: str, path: str | None, line: int | None = None, column: int | None = None):
        super().__init__(message, line or 1, column or 1, path)
        self._positioned = line is not None

    def location(self) -> str:
        return super().location() if self._positioned else (self.path or "<input>")


def max_file_bytes() -> int:
    """The input size limit: ``RECONCILE_MAX_FILE_SIZE`` (bytes or a quantity like ``64Mi``), else 32 MiB."""
    setting = os.environ.get("RECONCILE_MAX_FILE_SIZE", "").strip()
    if not setting:
        return MAX_FILE_BYTES
    try:
        limit = int(parse_quantity(setting).value)
    except ValueError:
        raise InputError(f"RECONCILE_MAX_FILE_SIZE={setting!r} is not a size (bytes, or a quantity like 64Mi)",
                         "RECONCILE_MAX_FILE_SIZE") from None
    if limit <= 0:
        raise InputError(f"RECONCILE_MAX_FILE_SIZE={setting!r} must be positive", "RECONCILE_MAX_FILE_SIZE")
    return limit


def read_file(path, limit: int | None = None) -> str:
    """The UTF-8 text of the file at ``path`` (``-`` reads standard input), at most ``limit`` bytes
    (default :func:`max_file_bytes`); an :class:`InputError` naming the file otherwise."""
    path = os.fspath(path)
    limit = max_file_bytes() if limit is None else limit
    shown = "<stdin>" if path == "-" else path
    if path == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", shown) from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise InputError("is a directory, not a file", shown)
            if not stat.S_ISREG(info.st_mode):
                raise InputError("not a regular file (a FIFO, socket or device is not read)", shown)
            if info.st_size > limit:
                raise InputError(_too_large(info.st_size, limit), shown)
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(limit + 1)
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", shown) from None
        finally:
            os.close(fd)
    if len(data) > limit:
        raise InputError(_too_large(len(data), limit), shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = len(data[data.rfind(b"\n", 0, e.start) + 1:e.start].decode("utf-8", "replace")) + 1
        raise InputError(f"not UTF-8 text: byte 0x{data[e.start]:02x} cannot start or continue a character",
                         shown, line, column) from None


def _too_large(size: int, limit: int) -> str:
    more = "more than " if size > limit else ""
    return (f"too large to read ({more}{size:,} bytes; the limit is {limit:,} bytes, "
            "set RECONCILE_MAX_FILE_SIZE to change it)")


def write_file(path, text: str) -> None:
    """Replace the file at ``path`` with ``text`` atomically: written to a temporary file in the same
    directory, flushed to disk, then renamed over ``path`` (which keeps its permission bits). A failure
    (a full disk) leaves ``path`` as it was and no temporary file behind."""
    import tempfile
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
