"""The ReplicaSet controller: keep ``replicas`` pods matching the selector.

Kubernetes semantics (``pkg/controller/replicaset``): orphans that match the
selector are adopted, owned pods that stop matching are released, missing
pods are created from the template (at most ``burst`` per pass), extra pods
are deleted in Kubernetes' order (see :func:`deletion_order`), and the
status counts replicas, ready, available and fully labeled pods.
"""

from __future__ import annotations

from pyrsistent import pmap

from reconcile.controllers import workloads as _pods
from reconcile.controllers.workloads import deletion_order
from reconcile.engine.actions import Create, Delete, Result, Update, UpdateStatus
from reconcile.controllers.workloads import (
    controller_of, fresh_pod_names, is_active, with_owner, without_owner, workload_selector,
)
from reconcile.engine import Rule
from reconcile.api.model import pod_from_template

__all__ = ["reconcile_replicaset", "RULE", "deletion_order", "owned_pods"]

BURST = 500   # Kubernetes creates at most 500 pods of one ReplicaSet per sync


def owned_pods(snapshot, rs):
    """(active pods controlled by ``rs``, pods to adopt, pods to release)."""
    owned, adopt, release = _owned(snapshot, rs)
    return [p for p, _ in owned], adopt, release


def _owned(snapshot, rs):
    """owned_pods, with each owned pod's facts (see _facts) beside it."""
    ns = rs.metadata.namespace
    selector = workload_selector(rs)
    uid = rs.metadata.uid
    matches = _Matcher(selector)
    owned, adopt, release = [], [], []
    for p in snapshot.owned_by(uid, "Pod", ordered=False):     # deletion_order is a total order
        facts = _facts(p)
        if facts[0] != uid:
            continue
        if not matches(p.metadata.labels):
            release.append(p)
        elif facts[1]:
            owned.append((p, facts))
    if not selector.is_empty():
        for p in snapshot.orphan_pods(ns):
            if p.metadata.deletionTimestamp is None and matches(p.metadata.labels):
                adopt.append(p)
    return owned, adopt, release


class _Matcher:
    """``selector.matches``, asked once per labels object (a template's pods share theirs)."""

    __slots__ = ("selector", "last", "answer")

    def __init__(self, selector):
        self.selector, self.last, self.answer = selector, None, False

    def __call__(self, labels) -> bool:
        if labels is not self.last:
            self.last, self.answer = labels, self.selector.matches(labels)
        return self.answer


def _facts(pod):
    """(controller uid, active, ready, ready since) of a pod, as the ReplicaSet reads it."""
    uid = None
    for o in pod.metadata.ownerReferences:
        if o.controller:
            uid = o.uid
            break
    active = pod.status.get("phase") not in ("Succeeded", "Failed") and pod.metadata.deletionTimestamp is None
    cond = _pods.ready_condition(pod)           # kept per conditions list
    if cond is None or cond.get("status") != "True":
        return uid, active, False, None
    return uid, active, True, _pods.seconds(cond.get("lastTransitionTime"))


def _ready_since(pod):
    return _facts(pod)[2:]


def _available(pod, min_ready: int, now: float) -> bool:
    ready, since = _ready_since(pod)
    if not ready:
        return False
    if not min_ready:
        return True
    return since is not None and since + min_ready <= now


def reconcile_replicaset(snapshot, key, now: float) -> Result:
    _, ns, name = key
    rs = snapshot.get("ReplicaSet", name, ns)
    if rs is None or rs.metadata.deletionTimestamp is not None:
        return Result()
    owned_facts, adopt, release = _owned(snapshot, rs)
    owned = [p for p, _ in owned_facts]
    actions: list = []
    for p in sorted(release, key=lambda p: p.metadata.name):
        actions.append(Update(without_owner(p, rs.metadata.uid)))
    for p in adopt:
        actions.append(Update(with_owner(p, rs)))
        if is_active(p):
            owned.append(p)
            owned_facts.append((p, _facts(p)))
    want = rs.spec.get("replicas", 1)
    diff = len(owned) - want
    if diff < 0:
        template = rs.spec.get("template") or pmap()
        names = fresh_pod_names(snapshot, rs, len(owned))   # names below are mostly taken: start past them
        for _ in range(min(-diff, BURST)):
            actions.append(Create(pod_from_template(template, next(names), ns, owner=rs)))
    elif diff > 0:
        for p in deletion_order(owned, now)[:diff]:
            actions.append(Delete("Pod", p.name, ns))
    min_ready = rs.spec.get("minReadySeconds") or 0
    template_labels = ((rs.spec.get("template") or pmap()).get("metadata") or pmap()).get("labels")
    selector_labels = dict(template_labels or {})
    ready = available = 0
    for p, (_, _, is_ready_, since) in owned_facts:
        if is_ready_:
            ready += 1
            if not min_ready or since is not None and since + min_ready <= now:
                available += 1
    labeled, last = 0, (None, False)
    for p in owned:
        labels = p.metadata.labels
        if labels is not last[0]:
            last = (labels, labels is template_labels or all(labels.get(k) == v for k, v in selector_labels.items()))
        labeled += last[1]
    status = {"replicas": len(owned), "fullyLabeledReplicas": labeled, "readyReplicas": ready,
              "availableReplicas": available, "observedGeneration": rs.metadata.generation}
    if any(rs.status.get(k) != v for k, v in status.items()):
        actions.append(UpdateStatus(rs.set(status=rs.status.update(status))))
    requeue = None
    if min_ready and ready > available:
        requeue = float(min_ready)   # look again when the ready pods become available
    return Result(tuple(actions), requeue)


def orphans_wake_matching(kind: str):
    """A watch: a pod without a controller wakes the ``kind`` objects whose selector matches it."""
    def keys(event, snapshot):
        pod = event.object
        if controller_of(pod) is not None or pod.metadata.deletionTimestamp is not None:
            return []
        return [o.key for o in snapshot.list(kind, pod.metadata.namespace)
                if workload_selector(o).matches(pod.metadata.labels)]
    return keys


def _what_counts(pod) -> tuple:
    """What a ReplicaSet reads of its pod: a change elsewhere (binding, addresses, container
    details) cannot change what it does, so it does not wake it."""
    m = pod.metadata
    return (m.labels, m.ownerReferences, m.deletionTimestamp) + _facts(pod)[1:]


def _pods_to_replicasets(orphans):
    def keys(event, snapshot):
        pod, old = event.object, event.old
        if old is not None and event.type == "MODIFIED" and _what_counts(pod) == _what_counts(old):
            return []
        found = orphans(event, snapshot)
        for p in (pod, old):
            if p is not None:
                c = controller_of(p)
                if c is not None and c.kind == "ReplicaSet":
                    found.append(("ReplicaSet", p.metadata.namespace, c.name))
        return found
    return keys


RULE = Rule("replicaset-controller", reconcile_replicaset, primary="ReplicaSet",
            watches={"Pod": _pods_to_replicasets(orphans_wake_matching("ReplicaSet"))}, priority=20,
            status_wakes=False)
