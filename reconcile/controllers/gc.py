"""Garbage collection through ownerReferences, and namespace deletion.

- ``garbage-collector``: an object whose owners are all gone is deleted
  (background cascade); owner references to owners that are gone are
  dropped while another owner remains.
- ``foreground-deletion``: an owner being deleted with the
  ``foregroundDeletion`` finalizer waits until its dependents are gone,
  deleting them, then loses the finalizer (and so is removed).
- ``namespace-controller``: a namespace being deleted has everything in it
  deleted, then loses its ``kubernetes`` finalizer.
"""

from __future__ import annotations

from pyrsistent import pvector

from reconcile.engine.actions import Delete, Result, Update
from reconcile.engine import Rule
from reconcile.api.model import KINDS

__all__ = ["RULES", "collect_garbage", "finish_foreground", "finish_namespace", "NAMESPACE_FINALIZER"]

NAMESPACE_FINALIZER = "kubernetes"


def collect_garbage(snapshot, key, now: float) -> Result:
    obj = snapshot.get_key(key)
    if obj is None or not obj.metadata.ownerReferences or obj.metadata.deletionTimestamp is not None:
        return Result()
    refs = obj.metadata.ownerReferences
    alive = [r for r in refs if _alive(snapshot, r.uid)]
    if len(alive) == len(refs):
        return Result()
    if not alive:
        return Result((Delete(obj.kind, obj.name, obj.metadata.namespace),))
    return Result((Update(obj.set(metadata=obj.metadata.set(ownerReferences=pvector(alive)))),))


def _alive(snapshot, uid: str) -> bool:
    owner = snapshot.by_uid_get(uid)
    return owner is not None


def _dependents_of_deleted(event, snapshot):
    if event.type != "DELETED" and event.object.metadata.deletionTimestamp is None:
        owners = event.object.metadata.ownerReferences
        if not owners or event.old is not None and event.old.metadata.ownerReferences == owners:
            return []       # its owners were looked at when they were set; their deletion wakes it again
        if all(_alive(snapshot, r.uid) for r in owners):
            return []       # nothing to collect while every owner is there
        return [event.object.key]
    return sorted(snapshot.by_owner.get(event.object.metadata.uid, ()))


def finish_foreground(snapshot, key, now: float) -> Result:
    owner = snapshot.get_key(key)
    if owner is None or owner.metadata.deletionTimestamp is None \
            or "foregroundDeletion" not in owner.metadata.finalizers:
        return Result()
    deps = [d for d in snapshot.owned_by(owner.metadata.uid)]
    if deps:
        return Result(tuple(Delete(d.kind, d.name, d.metadata.namespace, propagation="Foreground")
                            for d in deps if d.metadata.deletionTimestamp is None))
    finalizers = pvector(f for f in owner.metadata.finalizers if f != "foregroundDeletion")
    return Result((Update(owner.set(metadata=owner.metadata.set(finalizers=finalizers))),))


def _owners_waiting(event, snapshot):
    keys = []
    if "foregroundDeletion" in event.object.metadata.finalizers:
        keys.append(event.object.key)
    for r in event.object.metadata.ownerReferences:
        owner = snapshot.by_uid_get(r.uid)
        if owner is not None and "foregroundDeletion" in owner.metadata.finalizers:
            keys.append(owner.key)
    return keys


def finish_namespace(snapshot, key, now: float) -> Result:
    _, _, name = key
    ns = snapshot.get("Namespace", name, None)
    if ns is None:
        return Result()
    if ns.metadata.deletionTimestamp is None:
        if NAMESPACE_FINALIZER in ns.metadata.finalizers:
            return Result()
        return Result((Update(ns.set(metadata=ns.metadata.set(
            finalizers=ns.metadata.finalizers.append(NAMESPACE_FINALIZER)))),))
    contents = [o for kind in snapshot.kinds() if KINDS[kind].NAMESPACED
                for o in snapshot.list(kind, name)]
    if contents:
        return Result(tuple(Delete(o.kind, o.name, name) for o in contents
                            if o.metadata.deletionTimestamp is None))
    finalizers = pvector(f for f in ns.metadata.finalizers if f != NAMESPACE_FINALIZER)
    return Result((Update(ns.set(metadata=ns.metadata.set(finalizers=finalizers, resourceVersion=""))),))


def _terminating_namespace(event, snapshot):
    ns_name = event.object.metadata.namespace
    if not ns_name:
        return []
    ns = snapshot.get("Namespace", ns_name, None)
    return [ns.key] if ns is not None and ns.metadata.deletionTimestamp is not None else []


RULES = (
    Rule("garbage-collector", collect_garbage, watches={"*": _dependents_of_deleted}, priority=90),
    Rule("foreground-deletion", finish_foreground, watches={"*": _owners_waiting}, priority=90),
    Rule("namespace-controller", finish_namespace, primary="Namespace",
         watches={"*": _terminating_namespace}, priority=90),
)
