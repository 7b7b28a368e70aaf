"""Durability: the store's commits in SQLite (WAL mode), and everything back on restart.

One commit (a single write, or a whole ``store.batch()``, which is what the
engine does for each step) is one SQLite transaction: after a crash, the
data directory holds every committed object and the revision exactly, and
nothing of a half-done step.

>>> import tempfile, os
>>> from reconcile.api.model import Namespace
>>> from reconcile.state.store import Store
>>> d = tempfile.mkdtemp()
>>> s = Store(clock=lambda: 1.5, backend=SqliteBackend(os.path.join(d, "state.db")))
>>> _ = s.create(Namespace.new("shop")); s.close()
>>> s2 = Store(clock=lambda: 2.0, backend=SqliteBackend(os.path.join(d, "state.db")))
>>> s2.revision, s2.get("Namespace", "shop", None).metadata.creationTimestamp
(1, 1.5)
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Iterable

from reconcile.api.errors import Invalid
from reconcile.api.model import KObject, restore, to_stored

__all__ = ["SqliteBackend", "encode", "decode", "DEFAULT_FILE"]

DEFAULT_FILE = "state.db"
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
    except (TypeError, ValueError) as e:    # a mutable list or dict put inside a frozen map by hand
        m = obj.metadata
        raise Invalid(f"{obj.kind} {m.namespace + '/' if m.namespace else ''}{m.name} holds data that is not "
                      f"JSON-like ({e}): build objects with from_dict or .new, and freeze() what you .set "
                      "into them") from None


def decode(text: str) -> KObject:
    """The object that :func:`encode` wrote, equal to it (:func:`~reconcile.api.model.restore`)."""
    return restore(json.loads(text))


class SqliteBackend:
    """Persists the store in one SQLite file (WAL mode)."""

    def __init__(self, path: str, synchronous: str = "NORMAL"):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(_SCHEMA)

    def load(self) -> tuple[int, list[KObject]]:
        row = self.db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
        revision = int(row[0]) if row else 0
        objects = [decode(data) for (data,) in
                   self.db.execute("SELECT data FROM objects ORDER BY kind, namespace, name")]
        return revision, objects

    def commit(self, revision: int, events: Iterable) -> None:
        """Write a batch of events and the new revision in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
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
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.db.close()
