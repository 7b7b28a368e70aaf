"""The store: what etcd and the API server do, over immutable snapshots.

Every write goes through :class:`Store`: admission (validation, then
policies), optimistic concurrency (a stale ``resourceVersion`` is a
:class:`~reconcile.api.errors.Conflict`), a new global revision, a watch event,
and (with a durable backend) a commit to disk. Writes inside
``with store.batch():`` commit together, or not at all.

>>> from reconcile.api.model import Namespace
>>> s = Store(clock=lambda: 100.0)
>>> ns = s.create(Namespace.new("shop"))
>>> ns.metadata.resourceVersion, ns.metadata.generation, s.revision
('1', 1, 1)
>>> s.update(ns.set(metadata=ns.metadata.set(resourceVersion="0")))
Traceback (most recent call last):
  ...
reconcile.api.errors.Conflict: Namespace shop: the object has been modified (resourceVersion 0, now 1); read it again and retry
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping

from pyrsistent import pvector

from reconcile.state import admission as _admission
from reconcile.api.immutable import frozen
from reconcile.api.errors import AlreadyExists, Conflict, Gone, NotFound
from reconcile.api.model import KINDS, KObject, freeze, thaw
from reconcile.state.snapshot import EMPTY, Snapshot

__all__ = ["Store", "Event", "ADDED", "MODIFIED", "DELETED", "apply_object"]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
_LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Event:
    """A watch event: what happened to which object at which revision."""

    revision: int
    type: str
    object: KObject
    old: KObject | None = None      # the object before this change (None when ADDED)

    @property
    def key(self) -> tuple:
        return self.object.key


class Store:
    """The cluster's state and the only way to change it.

    ``clock`` gives the time in seconds (a real or a virtual clock);
    ``backend`` persists commits (see :mod:`reconcile.state.durable`; ``None``
    keeps everything in memory); ``history`` is how many watch events are
    kept for watchers that fall behind.
    """

    def __init__(self, clock: Callable[[], float], backend=None, history: int = 10_000,
                 uid_seed: int = 0, policies: bool = True):
        self.clock = clock
        self.backend = backend
        self._snapshot: Snapshot = EMPTY
        self._ev = None                 # the writes not yet made into a snapshot (a SnapshotEvolver)
        self._rev = 0                   # the revision, counting those writes
        self._history: collections.deque = collections.deque(maxlen=history)
        self._lock = threading.RLock()
        self._batch_depth = 0
        self._pending: list[Event] = []
        self._listeners: list[Callable[[Event], None]] = []
        self.listener_errors: collections.deque = collections.deque(maxlen=100)   # (event, listener, error)
        self._uid_seed = uid_seed
        self._policies = policies
        if backend is not None:
            try:
                revision, objects = backend.load()
            except BaseException:
                backend.close()         # a state file that cannot be read leaves its directory free
                raise
            ev = EMPTY.evolver()
            for obj in objects:
                ev.put(obj, None)
            self._snapshot = ev.persistent(revision)
            self._rev = revision

    # -- reading
    @property
    def revision(self) -> int:
        return self._rev

    def snapshot(self) -> Snapshot:
        """The current state: an immutable value (O(1) when no write is half-way through a batch)."""
        if self._ev is not None:
            with self._lock:
                if self._ev is not None:
                    self._snapshot, self._ev = self._ev.persistent(self._rev), None
        return self._snapshot

    def _current(self, kind: str, namespace: str | None, name: str) -> KObject | None:
        ev = self._ev
        if ev is not None:
            return ev.get(kind, namespace, name)
        return self._snapshot.get(kind, name, namespace)

    def get(self, kind: str, name: str, namespace: str | None = "default") -> KObject:
        obj = self.snapshot().get(kind, name, _ns(kind, namespace))
        if obj is None:
            raise NotFound(f"{kind} {_show(_ns(kind, namespace), name)} not found")
        return obj

    def list(self, kind: str, namespace: str | None = None, selector=None, field_selector=None) -> list[KObject]:
        return self.snapshot().list(kind, namespace, selector, field_selector)

    def watch(self, since: int) -> list[Event]:
        """Events after revision ``since``, in order; :class:`Gone` if they are no longer kept."""
        with self._lock:
            if since >= self.revision:
                return []
            oldest = self._history[0].revision if self._history else self.revision + 1
            if since + 1 < oldest:
                raise Gone(f"too old resource version: {since} (the oldest kept is {oldest - 1}); "
                           "list again and watch from the list's revision")
            return [e for e in self._history if e.revision > since]

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        """Call ``fn(event)`` for every committed event (the engine wakes controllers this way),
        after the commit; an error it raises is logged and kept in :attr:`listener_errors`."""
        self._listeners.append(fn)

    # -- writing
    @contextlib.contextmanager
    def batch(self) -> Iterator["Store"]:
        """Writes inside commit together: all of them, or (on an exception) none."""
        with self._lock:
            before = (self.snapshot(), len(self._pending))
            self._batch_depth += 1
            try:
                yield self
            except BaseException:
                self._batch_depth -= 1
                self._rollback(before[0])
                del self._pending[before[1]:]
                raise
            self._batch_depth -= 1
            if self._batch_depth == 0:
                try:
                    committed = self._commit()
                except BaseException:
                    self._rollback(before[0])
                    raise
                self._notify(committed)

    def _rollback(self, snapshot: Snapshot) -> None:
        self._snapshot, self._ev, self._rev = snapshot, None, snapshot.revision

    def create(self, obj: KObject) -> KObject:
        with self._lock:
            obj = frozen(obj)           # what the caller still holds cannot change the stored object
            ns = obj.metadata.namespace
            old = self._current(obj.kind, ns, obj.metadata.name)
            if old is not None:
                raise AlreadyExists(f"{obj.kind} {_show(ns, obj.metadata.name)} already exists")
            _admission.admit(obj, None, self._admission_view(), self._policies)
            revision = self.revision + 1
            meta = obj.metadata.set(
                uid=str(uuid.UUID(int=(self._uid_seed << 64) | revision)),   # the server's, never the client's
                resourceVersion=str(revision), generation=1,
                creationTimestamp=self.clock(), deletionTimestamp=None)
            if obj.kind == "Pod" and not obj.status.get("phase"):   # the API server's PrepareForCreate
                new = obj.set(metadata=meta, status=_PENDING if not obj.status else obj.status.set("phase", "Pending"))
            else:
                new = obj.set(metadata=meta)
            self._apply(revision, ADDED, new, None)
            return new

    def update(self, obj: KObject) -> KObject:
        """Write an object's metadata and spec (its status is kept: see :meth:`update_status`)."""
        return self._update(obj, status=False)

    def update_status(self, obj: KObject) -> KObject:
        """Write an object's status only (its spec and metadata are kept)."""
        return self._update(obj, status=True)

    def _update(self, obj: KObject, status: bool) -> KObject:
        with self._lock:
            ns = obj.metadata.namespace
            old = self._current(obj.kind, ns, obj.metadata.name)
            if old is None:
                raise NotFound(f"{obj.kind} {_show(ns, obj.metadata.name)} not found")
            rv = obj.metadata.resourceVersion
            if rv and rv != old.metadata.resourceVersion:
                raise Conflict(f"{obj.kind} {_show(ns, obj.metadata.name)}: the object has been modified "
                               f"(resourceVersion {rv}, now {old.metadata.resourceVersion}); "
                               "read it again and retry")
            obj = frozen(obj, old, spec=not status, status=status)
            if status:
                if obj.status == old.status:
                    return old
                new = old.set(status=obj.status)
            else:
                if obj.spec == old.spec and obj.metadata.labels == old.metadata.labels \
                        and obj.metadata.annotations == old.metadata.annotations \
                        and obj.metadata.ownerReferences == old.metadata.ownerReferences \
                        and obj.metadata.finalizers == old.metadata.finalizers:
                    return old  # nothing changed: no new revision (as Kubernetes does)
                generation = old.metadata.generation + (obj.spec != old.spec)
                meta = obj.metadata.set(uid=old.metadata.uid, creationTimestamp=old.metadata.creationTimestamp,
                                        deletionTimestamp=old.metadata.deletionTimestamp,
                                        generation=generation)
                new = obj.set(metadata=meta, status=old.status)
                _admission.admit(new, old, self._admission_view(), self._policies)
            revision = self.revision + 1
            new = new.set(metadata=new.metadata.set(resourceVersion=str(revision)))
            if new.metadata.deletionTimestamp is not None and not new.metadata.finalizers:
                self._apply(revision, DELETED, new, old)   # the last finalizer is gone
            else:
                self._apply(revision, MODIFIED, new, old)
            return new

    def bind(self, namespace: str, name: str, node: str) -> KObject:
        """Bind a pending pod to a node (the pods/binding subresource): ``spec.nodeName``
        and the ``PodScheduled=True`` condition, in one write; a Conflict if it is bound."""
        with self._lock:
            old = self._current("Pod", namespace, name)
            if old is None:
                raise NotFound(f"Pod {_show(namespace, name)} not found")
            if old.spec.get("nodeName"):
                raise Conflict(f"pod {_show(namespace, name)} is already bound to {old.spec['nodeName']}")
            if old.metadata.deletionTimestamp is not None:
                raise Conflict(f"pod {_show(namespace, name)} is being deleted")
            now = self.clock()
            conds = [c for c in old.status.get("conditions") or () if c.get("type") != "PodScheduled"]
            conds.insert(0, _scheduled(now))
            revision = self._rev + 1
            new = old.set(metadata=old.metadata.set(resourceVersion=str(revision),
                                                    generation=old.metadata.generation + 1),
                          spec=old.spec.set("nodeName", node),
                          status=old.status.set("conditions", pvector(conds)))
            self._apply(revision, MODIFIED, new, old)
            return new

    def patch(self, kind: str, name: str, namespace: str | None = "default", patch: Mapping | None = None,
              *, status: bool = False, resource_version: str | None = None) -> KObject:
        """Apply a JSON merge patch (RFC 7386) to metadata labels/annotations and spec (or status)."""
        with self._lock:
            old = self.get(kind, name, namespace)
            patch = dict(patch or {})
            meta = old.metadata
            if resource_version:
                meta = meta.set(resourceVersion=resource_version)
            pm = patch.pop("metadata", None) or {}
            for field in ("labels", "annotations"):
                if field in pm:
                    meta = meta.set(**{field: freeze(_merge(thaw(getattr(meta, field)), pm[field]) or {})})
            part = "status" if status else "spec"
            changed = old.set(metadata=meta)
            if part in patch:
                changed = changed.set(**{part: freeze(_merge(thaw(getattr(old, part)), patch.pop(part)) or {})})
            if patch:
                raise ValueError(f"a patch changes metadata and {part} only, not {', '.join(sorted(patch))}")
            return self._update(changed, status=status)

    def delete(self, kind: str, name: str, namespace: str | None = "default", *,
               propagation: str = "Background", resource_version: str | None = None) -> KObject:
        """Delete an object: at once, or (with finalizers) mark it with a deletionTimestamp.

        ``propagation``: ``Background`` (the garbage collector deletes the
        dependents), ``Orphan`` (dependents lose their owner reference and
        stay), ``Foreground`` (the owner waits for its dependents).
        """
        with self._lock:
            ns = _ns(kind, namespace)
            old = self.get(kind, name, ns)
            if resource_version and resource_version != old.metadata.resourceVersion:
                raise Conflict(f"{kind} {_show(ns, name)}: the object has been modified "
                               f"(resourceVersion {resource_version}, now {old.metadata.resourceVersion})")
            finalizers = old.metadata.finalizers
            if propagation == "Foreground" and "foregroundDeletion" not in finalizers \
                    and self.snapshot().by_owner.get(old.metadata.uid):
                finalizers = finalizers.append("foregroundDeletion")
            revision = self.revision + 1
            if finalizers:
                if old.metadata.deletionTimestamp is not None and finalizers == old.metadata.finalizers:
                    return old
                meta = old.metadata.set(deletionTimestamp=old.metadata.deletionTimestamp or self.clock(),
                                        finalizers=finalizers, resourceVersion=str(revision))
                new = old.set(metadata=meta)
                self._apply(revision, MODIFIED, new, old)
                return new
            if propagation == "Orphan":
                self._orphan_dependents(old.metadata.uid)
                revision = self.revision + 1
            gone = old.set(metadata=old.metadata.set(resourceVersion=str(revision),
                                                     deletionTimestamp=old.metadata.deletionTimestamp or self.clock()))
            self._apply(revision, DELETED, gone, old)
            return gone

    def _orphan_dependents(self, uid: str) -> None:
        for dep in self.snapshot().owned_by(uid):
            owners = pvector(o for o in dep.metadata.ownerReferences if o.uid != uid)
            self._update(dep.set(metadata=dep.metadata.set(ownerReferences=owners, resourceVersion="")), False)

    # -- internals
    def _admission_view(self):
        """What admission reads (the policies): the current state, when there are any."""
        if self._policies and (self._snapshot.count("Policy")
                               or self._ev is not None and "Policy" in self._ev._tables):
            return self.snapshot()
        return self._snapshot

    def _apply(self, revision: int, type_: str, new: KObject, old: KObject | None) -> None:
        ev = self._ev
        if ev is None:
            ev = self._ev = self._snapshot.evolver()
        if type_ == DELETED:
            ev.remove(old)
        else:
            ev.put(new, old)
        self._rev = revision
        self._pending.append(Event(revision, type_, new, old))
        if self._batch_depth == 0:
            previous = self._snapshot
            try:
                committed = self._commit()
            except BaseException:
                self._rollback(previous)    # not durable, so not done
                raise
            self._notify(committed)

    def _commit(self) -> list[Event]:
        """Make the pending writes durable and watchable; the events committed."""
        self.snapshot()
        pending, self._pending = self._pending, []
        if not pending:
            return pending
        if self.backend is not None:
            self.backend.commit(self.revision, pending)
        history = self._history
        for e in pending:       # a watch gets the object after each change, as in Kubernetes; not the one before
            history.append(Event(e.revision, e.type, e.object) if e.old is not None else e)
        return pending

    def _notify(self, committed: list[Event]) -> None:
        """Tell the listeners of committed events. The write is done (in memory and on disk, which
        agree): a listener that raises is logged and kept in :attr:`listener_errors`, and the other
        listeners still hear the event; the writer does not see the error."""
        for event in committed:
            for fn in self._listeners:
                try:
                    fn(event)
                except Exception as e:
                    self.listener_errors.append((event, fn, e))
                    _LOG.error("a store listener (%s) failed on %s %s at revision %d; the write stands",
                               getattr(fn, "__qualname__", fn), event.type, _show_key(event.key), event.revision,
                               exc_info=True)

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


_PENDING = freeze({"phase": "Pending"})
_SCHEDULED: dict = {}


def _scheduled(now: float):
    """The PodScheduled=True condition at ``now`` (one shared value per instant)."""
    c = _SCHEDULED.get(now)
    if c is None:
        if len(_SCHEDULED) > 1024:
            _SCHEDULED.clear()
        c = _SCHEDULED[now] = freeze({"type": "PodScheduled", "status": "True", "lastTransitionTime": now})
    return c


def _merge(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def _ns(kind: str, namespace: str | None) -> str | None:
    cls = KINDS.get(kind)
    return namespace if cls is None or cls.NAMESPACED else None


def _show(ns: str | None, name: str) -> str:
    return f"{ns}/{name}" if ns else name


def _show_key(key: tuple) -> str:
    kind, ns, name = key
    return f"{kind} {_show(ns, name)}"


def apply_object(store: Store, obj: KObject) -> str:
    """``kubectl apply`` of one object: ``"created"``, ``"configured"`` (spec, labels or annotations
    changed; the status and the annotations it does not name are kept) or ``"unchanged"``."""
    current = store.snapshot().get(obj.kind, obj.name, obj.metadata.namespace)
    if current is None:
        store.create(obj)
        return "created"
    annotations = current.metadata.annotations | obj.metadata.annotations
    if (current.spec, current.metadata.labels, current.metadata.annotations) == \
            (obj.spec, obj.metadata.labels, annotations):
        return "unchanged"
    meta = current.metadata.set(labels=obj.metadata.labels, annotations=annotations)
    store.update(current.set(metadata=meta, spec=obj.spec))
    return "configured"

