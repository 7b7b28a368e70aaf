"""Durability: the store's commits in SQLite (WAL mode), and everything back on restart.

One commit (a single write, or a whole ``store.batch()``, which is what the
engine does for each step) is one SQLite transaction: after a crash, the
data directory holds every committed object and the revision exactly, and
nothing of a half-done step.

The state file says what it is: SQLite's ``application_id`` is reconcile's
and ``user_version`` is the schema's version. A file that is damaged, is not
SQLite, is another program's, or was written by a newer reconcile is refused
with a :class:`~reconcile.api.errors.StateError` naming the path and what to
do, and is left exactly as it was (it is looked at through a read-only
connection first). A backend that writes owns its data directory
(:mod:`reconcile.state.datadir`: one process at a time, ``0700``, files
``0600``); ``readonly=True`` reads a directory that another process owns.

>>> import tempfile, os
>>> from reconcile.api.model import Namespace
>>> from reconcile.state.store import Store
>>> d = tempfile.mkdtemp()
>>> s = Store(clock=lambda: 1.5, backend=SqliteBackend(os.path.join(d, "state.db")))
>>> _ = s.create(Namespace.new("shop")); s.close()
>>> s2 = Store(clock=lambda: 2.0, backend=SqliteBackend(os.path.join(d, "state.db")))
>>> s2.revision, s2.get("Namespace", "shop", None).metadata.creationTimestamp
(1, 1.5)
>>> s2.close()
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Iterable

from reconcile.api.errors import Invalid, StateError
from reconcile.api.model import KObject, restore, to_stored
from reconcile.state import datadir

__all__ = ["SqliteBackend", "encode", "decode", "DEFAULT_FILE", "SCHEMA_VERSION", "APPLICATION_ID"]

DEFAULT_FILE = "state.db"
SCHEMA_VERSION = 1                  # PRAGMA user_version: what this reconcile writes and reads
APPLICATION_ID = 0x72636C31         # PRAGMA application_id: "rcl1", a reconcile state file
_SQLITE_MAGIC = b"SQLite format 3\x00"
_TABLES = {"objects", "meta"}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    revision INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def encode(obj: KObject) -> str:
    """An object as JSON, exactly (:func:`~reconcile.api.model.to_stored`: times stay the clock's floats)."""
    try:
        return json.dumps(to_stored(obj), separators=(",", ":"))
    except (TypeError, ValueError) as e:    # a set, an object of a class of its own... put inside by hand
        m = obj.metadata
        raise Invalid(f"{obj.kind} {m.namespace + '/' if m.namespace else ''}{m.name} holds data that is not "
                      f"JSON-like ({e}): an object holds mappings, lists, strings, numbers, booleans and "
                      "nulls only") from None


def decode(text: str) -> KObject:
    """The object that :func:`encode` wrote, equal to it (:func:`~reconcile.api.model.restore`)."""
    return restore(json.loads(text))


class SqliteBackend:
    """Persists the store in one SQLite file (WAL mode).

    Opening for writing owns the file's directory (:func:`reconcile.state.datadir.lock`) until
    :meth:`close`; ``readonly=True`` only reads (no lock: a running cluster's state can be read).
    """

    def __init__(self, path: str, synchronous: str = "NORMAL", *, readonly: bool = False):
        self.path = path
        self.readonly = readonly
        self.db: sqlite3.Connection | None = None
        self._lock = None
        if readonly:
            if not os.path.isfile(path):
                raise StateError(f"{path}: no state file here (nothing was stored in this data directory)")
            _inspect(path)
            self.db = _open(path, f"file:{_uri_path(path)}?mode=ro", uri=True)
            return
        self._lock = datadir.lock(os.path.dirname(os.path.abspath(path)))
        try:
            version = _inspect(path)
            os.close(datadir.private_file(path))    # SQLite makes its -wal and -shm with the file's mode
            for suffix in ("-wal", "-shm"):
                if os.path.exists(path + suffix):
                    os.chmod(path + suffix, 0o600)
            self.db = db = _open(path, path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={synchronous}")
                if version is None:
                    db.executescript(_SCHEMA)
                if version != SCHEMA_VERSION:   # new, or written before files said their version (the same tables)
                    db.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            except sqlite3.Error as e:
                raise StateError(f"{path}: cannot open the state file: {e}") from None
        except BaseException:
            self.close()
            raise

    def load(self) -> tuple[int, list[KObject]]:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
            revision = int(row[0]) if row else 0
            rows = self.db.execute("SELECT kind, namespace, name, data FROM objects ORDER BY kind, namespace, name")
            objects = []
            for kind, namespace, name, data in rows:
                try:
                    objects.append(decode(data))
                except Exception as e:
                    raise StateError(f"{self.path}: the stored {kind} {namespace + '/' if namespace else ''}{name} "
                                     f"cannot be read ({type(e).__name__}: {e}); {_DAMAGED}") from None
        except (sqlite3.Error, ValueError) as e:
            raise StateError(f"{self.path}: the state file is damaged ({e}); {_DAMAGED}") from None
        return revision, objects

    def commit(self, revision: int, events: Iterable) -> None:
        """Write a batch of events and the new revision in one transaction; a write that fails (a
        full disk) is a :class:`~reconcile.api.errors.StateError` with SQLite's reason, nothing written."""
        db = self.db
        if self.readonly:
            raise StateError(f"{self.path}: opened read-only; nothing can be written through it")
        try:
            db.execute("BEGIN IMMEDIATE")
            for e in events:
                o = e.object
                key = (o.kind, o.metadata.namespace or "", o.metadata.name)
                if e.type == "DELETED":
                    db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", key)
                else:
                    db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                               (*key, e.revision, encode(o)))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (str(revision),))
            db.execute("COMMIT")
        except sqlite3.Error as e:
            self._rollback()
            raise StateError(f"{self.path}: the change was not saved: {e}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        """Undo a transaction that failed, if SQLite has not already (it has, on a full disk)."""
        if self.db.in_transaction:
            try:
                self.db.execute("ROLLBACK")
            except sqlite3.Error:
                pass                    # the error that brought us here is the one to report

    def close(self) -> None:
        db, self.db = self.db, None
        if db is not None:
            db.close()
        held, self._lock = self._lock, None
        if held is not None:
            held.release()


_DAMAGED = ("it is left as it is: move it aside (or put back a copy) and start again, or use "
            "another data directory")


def _uri_path(path: str) -> str:
    from urllib.parse import quote
    return quote(os.path.abspath(path))


def _open(path: str, target: str, uri: bool = False) -> sqlite3.Connection:
    try:
        return sqlite3.connect(target, isolation_level=None, check_same_thread=False, uri=uri)
    except sqlite3.Error as e:
        raise StateError(f"{path}: cannot open the state file: {e}") from None


def _inspect(path: str) -> int | None:
    """The schema version of the state file at ``path``, or None if there is none yet (no file or
    an empty one); a :class:`StateError` if it is not one this reconcile can use. Read-only: the
    file is not changed, whatever it holds."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StateError(f"{path}: cannot read the state file: {e.strerror}") from None
    if not head:
        return None                     # made but never written (a crash at the first open)
    if not head.startswith(_SQLITE_MAGIC):
        raise StateError(f"{path}: not a reconcile state file (not an SQLite database); it is left as it is: "
                         "move it aside, or use another data directory")
    if len(head) < 100:
        raise StateError(f"{path}: the state file is damaged (truncated to {len(head)} bytes); {_DAMAGED}")
    # read-only; and when no write-ahead log is there to read, immutable: no -wal or -shm is made
    wal = os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0
    db = _open(path, f"file:{_uri_path(path)}?mode=ro{'' if wal else '&immutable=1'}", uri=True)
    try:
        app, version = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("application_id", "user_version"))
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as e:
        raise StateError(f"{path}: the state file is damaged ({e}); {_DAMAGED}") from None
    finally:
        db.close()
    if app not in (0, APPLICATION_ID) or app == 0 and tables and not _TABLES <= tables:
        raise StateError(f"{path}: not a reconcile state file (an SQLite database of another program); it is "
                         "left as it is: use another data directory")
    if version > SCHEMA_VERSION:
        raise StateError(f"{path}: written by a newer reconcile (state schema {version}; this one reads up to "
                         f"{SCHEMA_VERSION}); it is left as it is: upgrade reconcile, or use another data directory")
    if not tables:
        return None
    if not _TABLES <= tables:
        raise StateError(f"{path}: the state file is damaged (its tables {', '.join(sorted(_TABLES - tables))} "
                         f"are missing); {_DAMAGED}")
    return version
