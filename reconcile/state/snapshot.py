"""The cluster's state at one revision: an immutable value with persistent indexes.

A :class:`Snapshot` holds every object by kind and ``(namespace, name)``,
plus indexes by label, by owner uid and by node, all pyrsistent maps and
sets. Taking a snapshot is O(1) (it is just a reference); a change to one
object makes a new snapshot in O(change), sharing everything else.

Queries are pure: controllers and rules read snapshots, never the store.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from pyrsistent import PMap, PSet, pmap, pset

from reconcile.api import labels as _labels
from reconcile.api.model import KObject

__all__ = ["Snapshot", "EMPTY", "field_value", "parse_field_selector"]

_NO_SET: PSet = pset()
_NO_MAP: PMap = pmap()


def field_value(obj: KObject, path: str):
    """The value at a dotted field path, as a field selector sees it (``spec.nodeName``).

    >>> from reconcile.api.model import Pod
    >>> field_value(Pod.new("p", "default", spec={"nodeName": "n1", "containers": []}), "spec.nodeName")
    'n1'
    """
    if path == "metadata.name":
        return obj.metadata.name
    if path == "metadata.namespace":
        return obj.metadata.namespace
    head, _, rest = path.partition(".")
    cur = getattr(obj, head, None)
    for part in rest.split(".") if rest else ():
        if cur is None or not hasattr(cur, "get"):
            return None
        cur = cur.get(part)
    return cur


def parse_field_selector(text: str | None) -> tuple:
    """``"spec.nodeName=n1,status.phase!=Running"`` -> ``((path, op, value), ...)``."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        part = part.strip()
        for op in ("!=", "==", "="):
            if op in part:
                path, value = part.split(op, 1)
                out.append((path.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise ValueError(f"invalid field selector {part!r}: expected path=value or path!=value")
    return tuple(out)


def _field_matches(obj: KObject, requirements: tuple) -> bool:
    for path, op, value in requirements:
        v = field_value(obj, path)
        v = "" if v is None else str(v)
        if (v == value) != (op == "="):
            return False
    return True


class Snapshot:
    """The objects of a cluster at ``revision``, with indexes. Immutable."""

    __slots__ = ("revision", "objects", "by_label", "by_owner", "by_node", "by_uid")

    def __init__(self, revision: int, objects: PMap, by_label: PMap, by_owner: PMap,
                 by_node: PMap, by_uid: PMap):
        object.__setattr__(self, "revision", revision)
        object.__setattr__(self, "objects", objects)
        object.__setattr__(self, "by_label", by_label)
        object.__setattr__(self, "by_owner", by_owner)
        object.__setattr__(self, "by_node", by_node)
        object.__setattr__(self, "by_uid", by_uid)

    def __setattr__(self, name, value):
        raise AttributeError("a Snapshot is immutable")

    # -- reading
    def get(self, kind: str, name: str, namespace: str | None = "default") -> KObject | None:
        return self.objects.get(kind, _NO_MAP).get((namespace, name))

    def get_key(self, key: tuple) -> KObject | None:
        kind, namespace, name = key
        return self.objects.get(kind, _NO_MAP).get((namespace, name))

    def by_uid_get(self, uid: str) -> KObject | None:
        key = self.by_uid.get(uid)
        return self.get_key(key) if key else None

    def count(self, kind: str) -> int:
        return len(self.objects.get(kind, _NO_MAP))

    def kinds(self) -> list[str]:
        return sorted(self.objects)

    def list(self, kind: str, namespace: str | None = None, selector=None,
             field_selector: str | tuple | None = None) -> list[KObject]:
        """Objects of a kind, sorted by (namespace, name); filtered like ``kubectl get -l ... --field-selector``."""
        table = self.objects.get(kind, _NO_MAP)
        if isinstance(selector, str):
            selector = _labels.parse(selector)
        fields = parse_field_selector(field_selector) if isinstance(field_selector, str) else (field_selector or ())
        keys: Iterable = table.keys()
        if selector is not None and not selector.is_empty():
            # use the label index for the first equality requirement
            for req in selector.requirements:
                if req.operator in ("=", "==", "in"):
                    found: set = set()
                    for v in req.values:
                        found.update(self.by_label.get((kind, req.key, v), _NO_SET))
                    keys = found
                    break
        if kind == "Pod":
            for path, op, value in fields:
                if path == "spec.nodeName" and op == "=":
                    keys = set(keys) & set(self.by_node.get(value, _NO_SET))
        out = []
        for key in sorted(keys, key=_sort_key):
            if namespace is not None and key[0] != namespace:
                continue
            obj = table.get(key)
            if obj is None:
                continue
            if selector is not None and not selector.matches(obj.metadata.labels):
                continue
            if fields and not _field_matches(obj, fields):
                continue
            out.append(obj)
        return out

    def owned_by(self, uid: str, kind: str | None = None, ordered: bool = True) -> list[KObject]:
        """Objects whose ownerReferences name ``uid`` (of ``kind`` only, if given), sorted by
        kind, namespace, name (``ordered=False``: in no particular order, for counting)."""
        keys = self.by_owner.get(uid, _NO_SET)
        if ordered:
            keys = sorted(keys, key=_sort_key3)
        objects = self.objects
        out = []
        for k, ns, name in keys:
            if kind is not None and k != kind:
                continue
            o = objects.get(k, _NO_MAP).get((ns, name))
            if o is not None:
                out.append(o)
        return out

    def orphans(self, kind: str, namespace: str | None) -> list[KObject]:
        """Objects of a kind and namespace that no controller owns (what a controller may adopt), by name."""
        table = self.objects.get(kind, _NO_MAP)
        keys = sorted(self.by_owner.get(("", kind, namespace), _NO_SET), key=_sort_key3)
        return [table[(ns, name)] for _, ns, name in keys if (ns, name) in table]

    def orphan_pods(self, namespace: str | None) -> list[KObject]:
        """Pods of a namespace that no controller owns, by name."""
        return self.orphans("Pod", namespace)

    def pods_on_node(self, node: str) -> list[KObject]:
        """Pods bound to ``node``, by namespace and name; ``""`` gives the unbound pods."""
        table = self.objects.get("Pod", _NO_MAP)
        return [table[k] for k in sorted(self.by_node.get(node, _NO_SET), key=_sort_key) if k in table]

    def __iter__(self) -> Iterator[KObject]:
        for kind in sorted(self.objects):
            table = self.objects[kind]
            for key in sorted(table, key=_sort_key):
                yield table[key]

    def __len__(self) -> int:
        return sum(len(t) for t in self.objects.values())

    def __repr__(self) -> str:
        return f"Snapshot(revision={self.revision}, objects={len(self)})"

    # -- changing (returns new snapshots; used by the store)
    def evolver(self) -> "SnapshotEvolver":
        return SnapshotEvolver(self)


def _controlled(owner_references) -> bool:
    return any(o.controller for o in owner_references)


def _sort_key(key: tuple) -> tuple:
    ns, name = key
    return (ns or "", name)


def _sort_key3(key: tuple) -> tuple:
    kind, ns, name = key
    return (kind, ns or "", name)


class _LazyEvolver:
    """A pmap evolver made on first write (most writes touch one table and no index)."""

    __slots__ = ("base", "ev")

    def __init__(self, base: PMap):
        self.base, self.ev = base, None

    def __contains__(self, key) -> bool:
        return key in (self.ev if self.ev is not None else self.base)

    def __getitem__(self, key):
        return (self.ev if self.ev is not None else self.base)[key]

    def __setitem__(self, key, value) -> None:
        if self.ev is None:
            self.ev = self.base.evolver()
        self.ev[key] = value

    def __delitem__(self, key) -> None:
        if self.ev is None:
            self.ev = self.base.evolver()
        del self.ev[key]

    def persistent(self) -> PMap:
        if self.ev is None:
            return self.base
        self.base, self.ev = self.ev.persistent(), None
        return self.base


class _SetIndex:
    """An index of sets (label -> keys, say) changed in place during a batch: each touched
    set keeps one evolver, so a hundred pods joining one label cost a hundred cheap adds."""

    __slots__ = ("map", "sets")

    def __init__(self, base: PMap):
        self.map, self.sets = _LazyEvolver(base), {}

    def _set(self, key):
        e = self.sets.get(key)
        if e is None:
            m = self.map
            e = self.sets[key] = (m[key] if key in m else _NO_SET).evolver()
        return e._pmap_evolver          # a PSet is a pmap of members to True

    def add(self, key, member) -> None:
        self._set(key)[member] = True

    def discard(self, key, member) -> None:
        members = self._set(key)
        if member in members:
            del members[member]

    def persistent(self) -> PMap:
        m = self.map
        for key, e in self.sets.items():
            members = e.persistent()
            if members:
                m[key] = members
            elif key in m:
                del m[key]
        self.sets = {}
        return m.persistent()


class SnapshotEvolver:
    """Batches changes to a snapshot; :meth:`persistent` returns the new snapshot."""

    def __init__(self, base: Snapshot):
        self.base = base
        self._objects = _LazyEvolver(base.objects)
        self._tables: dict = {}
        self._by_label = _SetIndex(base.by_label)
        self._by_owner = _SetIndex(base.by_owner)
        self._by_node = _SetIndex(base.by_node)
        self._by_uid = _LazyEvolver(base.by_uid)

    def _table(self, kind: str):
        t = self._tables.get(kind)
        if t is None:
            t = self._tables[kind] = (self._objects[kind] if kind in self._objects else _NO_MAP).evolver()
        return t

    def get(self, kind: str, namespace: str | None, name: str) -> KObject | None:
        """The object as changed so far (what the store reads in the middle of a batch)."""
        t = self._tables.get(kind)
        if t is None:
            return self.base.objects.get(kind, _NO_MAP).get((namespace, name))
        try:
            return t[(namespace, name)]
        except KeyError:
            return None

    @staticmethod
    def _set_add(index: "_SetIndex", key, member):
        index.add(key, member)

    @staticmethod
    def _set_remove(index: "_SetIndex", key, member):
        index.discard(key, member)

    def put(self, obj: KObject, old: KObject | None) -> None:
        kind = obj.kind
        meta = obj.metadata
        key = (meta.namespace, meta.name)
        self._table(kind)[key] = obj
        full = (kind, meta.namespace, meta.name)
        old_labels = old.metadata.labels if old is not None else _NO_MAP
        if meta.labels is not old_labels:
            for k, v in old_labels.items():
                if meta.labels.get(k) != v:
                    self._set_remove(self._by_label, (kind, k, v), key)
            for k, v in meta.labels.items():
                if old_labels.get(k) != v:
                    self._set_add(self._by_label, (kind, k, v), key)
        old_owners = old.metadata.ownerReferences if old is not None else ()
        if meta.ownerReferences is not old_owners or old is None:
            for o in old_owners:
                self._set_remove(self._by_owner, o.uid, full)
            for o in meta.ownerReferences:
                self._set_add(self._by_owner, o.uid, full)
            # objects without a controller, by kind and namespace: candidates for adoption
            orphans = ("", kind, meta.namespace)
            if old is not None and not _controlled(old_owners):
                self._set_remove(self._by_owner, orphans, full)
            if not _controlled(meta.ownerReferences):
                self._set_add(self._by_owner, orphans, full)
        if kind == "Pod":   # unbound pods are indexed under "" (the scheduler's queue)
            old_node = (old.spec.get("nodeName") or "") if old is not None else None
            node = obj.spec.get("nodeName") or ""
            if node != old_node:
                if old_node is not None:
                    self._set_remove(self._by_node, old_node, key)
                self._set_add(self._by_node, node, key)
        if meta.uid and (old is None or old.metadata.uid != meta.uid):
            self._by_uid[meta.uid] = full

    def remove(self, old: KObject) -> None:
        kind = old.kind
        meta = old.metadata
        key = (meta.namespace, meta.name)
        table = self._table(kind)
        if key in table:
            del table[key]
        for k, v in meta.labels.items():
            self._set_remove(self._by_label, (kind, k, v), key)
        for o in meta.ownerReferences:
            self._set_remove(self._by_owner, o.uid, (kind, meta.namespace, meta.name))
        if not _controlled(meta.ownerReferences):
            self._set_remove(self._by_owner, ("", kind, meta.namespace), (kind, meta.namespace, meta.name))
        if kind == "Pod":
            self._set_remove(self._by_node, old.spec.get("nodeName") or "", key)
        if meta.uid and meta.uid in self._by_uid:
            del self._by_uid[meta.uid]

    def persistent(self, revision: int) -> Snapshot:
        for kind, t in self._tables.items():
            table = t.persistent()
            if table:
                self._objects[kind] = table
            elif kind in self._objects:
                del self._objects[kind]
        self._tables = {}
        return Snapshot(revision, self._objects.persistent(), self._by_label.persistent(),
                        self._by_owner.persistent(), self._by_node.persistent(), self._by_uid.persistent())


EMPTY = Snapshot(0, _NO_MAP, _NO_MAP, _NO_MAP, _NO_MAP, _NO_MAP)
