"""The core's errors: one root, named by what the caller does next.

>>> issubclass(Conflict, ReconcileError), issubclass(NotFound, KeyError), issubclass(StateInUse, OSError)
(True, True, True)
"""

from __future__ import annotations

__all__ = ["ReconcileError", "NotFound", "AlreadyExists", "Conflict", "Gone", "Invalid", "Forbidden",
           "StateError", "StateInUse"]


class ReconcileError(Exception):
    """Root of the control plane's errors."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it (a notebook cell, the console): its name and message only."""
        return [f"{type(self).__name__}: {self.message}"]


class NotFound(ReconcileError, KeyError):
    """No such object: create it, or stop looking."""


class AlreadyExists(ReconcileError):
    """An object of that kind and name exists: update it instead."""


class Conflict(ReconcileError):
    """The object changed since it was read (stale resourceVersion): read it again and retry."""


class Gone(ReconcileError):
    """The watch's start revision is older than the kept history: list again, then watch."""


class Invalid(ReconcileError, ValueError):
    """The object breaks a rule of its kind: fix the object."""


class Forbidden(ReconcileError):
    """An admission policy denied the write: change the object or the policy."""


class StateError(ReconcileError, OSError):
    """The data directory or its state file cannot be used as it is (damaged, not a state file, written
    by a newer version, a write the disk refused): the message names the path, the cause and what to do.
    An ``OSError`` too, as the files it is about are the environment's."""


class StateInUse(StateError):
    """Another process owns the data directory (``pid``): stop it, or use another directory."""

    def __init__(self, message: str, pid: int | None = None):
        super().__init__(message)
        self.pid = pid
