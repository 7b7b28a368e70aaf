"""Helpers shared by the controllers: selectors of workloads, ownership, pod names, conditions."""

from __future__ import annotations

import hashlib

from pyrsistent import pmap, pvector

from reconcile import labels as _labels
from reconcile._memo import IdentityMemo
from reconcile.model import KObject, OwnerReference

__all__ = ["workload_selector", "controller_of", "is_controlled_by", "owner_reference", "with_owner",
           "without_owner", "claim_pods", "pod_name", "fresh_pod_names", "is_active", "is_ready", "condition", "set_condition"]

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # Kubernetes' rand.String alphabet (no vowels, no 0/1/3)


def workload_selector(obj: KObject) -> _labels.Selector:
    """The object's ``spec.selector`` as a Selector (made once per selector value)."""
    sel = obj.spec.get("selector")
    if sel is None:
        return _labels.NOTHING
    return _SELECTORS.get(lambda: _labels.from_label_selector(sel.get("matchLabels"), sel.get("matchExpressions")),
                          sel)


_SELECTORS = IdentityMemo()


def controller_of(obj: KObject) -> OwnerReference | None:
    for o in obj.metadata.ownerReferences:
        if o.controller:
            return o
    return None


def is_controlled_by(obj: KObject, owner: KObject) -> bool:
    c = controller_of(obj)
    return c is not None and c.uid == owner.metadata.uid


def owner_reference(owner: KObject) -> OwnerReference:
    return OwnerReference._make(apiVersion=owner.apiVersion, kind=owner.kind, name=owner.name,
                                uid=owner.metadata.uid, controller=True, blockOwnerDeletion=True)


def with_owner(obj: KObject, owner: KObject) -> KObject:
    refs = obj.metadata.ownerReferences.append(owner_reference(owner))
    return obj.set(metadata=obj.metadata.set(ownerReferences=refs))


def without_owner(obj: KObject, owner_uid: str) -> KObject:
    refs = pvector(o for o in obj.metadata.ownerReferences if o.uid != owner_uid)
    return obj.set(metadata=obj.metadata.set(ownerReferences=refs))


def pod_name(owner: KObject, i: int) -> str:
    """A deterministic Kubernetes-looking name, ``<owner>-<5 chars>`` (no randomness in the core)."""
    digest = hashlib.blake2b(f"{owner.metadata.uid}/{i}".encode(), digest_size=8).digest()
    n = int.from_bytes(digest, "big")
    suffix = ""
    for _ in range(5):
        n, r = divmod(n, len(_ALPHABET))
        suffix += _ALPHABET[r]
    return f"{owner.name[:57]}-{suffix}"


def fresh_pod_names(snapshot, owner: KObject, start: int):
    """``pod_name(owner, i)`` for ``i`` from ``start`` on, leaving out the names a pod of the
    snapshot has and the ones already given."""
    given: set = set()
    i = start
    while True:
        name = pod_name(owner, i)
        if name not in given and snapshot.get("Pod", name, owner.metadata.namespace) is None:
            given.add(name)
            yield name
        i += 1


def is_active(pod: KObject) -> bool:
    """Kubernetes' IsPodActive: not succeeded, not failed, not being deleted."""
    return pod.status.get("phase") not in ("Succeeded", "Failed") and pod.metadata.deletionTimestamp is None


def condition(obj: KObject, type_: str):
    for c in obj.status.get("conditions") or ():
        if c.get("type") == type_:
            return c
    return None


def is_ready(pod: KObject) -> bool:
    c = condition(pod, "Ready")
    return c is not None and c.get("status") == "True"


def set_condition(conditions, type_: str, status: str, now: float, reason: str = "", message: str = ""):
    """Conditions with ``type_`` set; lastTransitionTime moves only when the status changes."""
    out = []
    found = False
    for c in conditions or ():
        if c.get("type") == type_:
            found = True
            same = c.get("status") == status
            c = pmap({"type": type_, "status": status, "reason": reason, "message": message,
                      "lastTransitionTime": c.get("lastTransitionTime") if same else now,
                      "lastUpdateTime": now if not (same and c.get("reason") == reason
                                                    and c.get("message") == message)
                      else c.get("lastUpdateTime", now)})
        out.append(c)
    if not found:
        out.append(pmap({"type": type_, "status": status, "reason": reason, "message": message,
                         "lastTransitionTime": now, "lastUpdateTime": now}))
    return pvector(out)


def claim_pods(snapshot, owner, selects):
    """``ClaimPods``: (pods ``owner`` controls, whatever their phase; orphans whose labels ``selects``
    accepts, to adopt; controlled pods it no longer accepts, to release)."""
    uid, owned, adopt, release = owner.metadata.uid, [], [], []
    for p in snapshot.owned_by(uid, "Pod"):
        c = controller_of(p)
        if c is None or c.uid != uid:
            continue
        (owned if selects(p.metadata.labels) else release).append(p)
    if owner.metadata.deletionTimestamp is None:
        adopt = [p for p in snapshot.orphan_pods(owner.metadata.namespace)
                 if p.metadata.deletionTimestamp is None and selects(p.metadata.labels)]
    return owned, adopt, release
