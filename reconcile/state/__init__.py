"""The cluster's state: a revisioned store of immutable objects, its snapshots, durability and admission.

:class:`~reconcile.state.store.Store` is the only way to change state (create, update, update
status, bind, delete, watch), with optimistic concurrency on ``resourceVersion``; a
:class:`~reconcile.state.snapshot.Snapshot` is an O(1) immutable view with persistent indexes
(by label, owner, node); :mod:`~reconcile.state.durable` keeps the store in SQLite, in a data
directory that one process owns (:mod:`~reconcile.state.datadir`: a lock, private modes);
:mod:`~reconcile.state.admission` defaults, validates and applies policies before a write.

>>> from reconcile.api import Namespace
>>> store = Store(clock=lambda: 0.0)
>>> store.create(Namespace.new("shop")).metadata.resourceVersion
'1'
>>> [n.name for n in store.snapshot().list("Namespace")]
['shop']
"""

from reconcile.state.durable import SqliteBackend
from reconcile.state.snapshot import EMPTY, Snapshot
from reconcile.state.store import ADDED, DELETED, MODIFIED, Event, Store, apply_object

__all__ = ["Store", "Event", "ADDED", "MODIFIED", "DELETED", "apply_object", "Snapshot", "EMPTY", "SqliteBackend"]
