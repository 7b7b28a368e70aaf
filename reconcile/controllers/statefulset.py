"""The StatefulSet controller: pods with stable names, made and removed in ordinal order.

Kubernetes semantics (``pkg/controller/statefulset``). A set of ``replicas``
wants the pods ``<set>-<ordinal>`` for ordinals ``start .. start+replicas-1``
(``spec.ordinals.start``, default 0). Each pod is made from the template with
the labels ``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index``
and ``controller-revision-hash`` (the name of its template's ControllerRevision),
``spec.hostname`` = its name and ``spec.subdomain`` = ``spec.serviceName``.

- Revisions: every distinct template is a ControllerRevision ``<set>-<hash>``
  owned by the set, numbered 1, 2, ...; going back to an earlier template
  renumbers its revision instead of making a new one; revisions no pod uses
  beyond ``revisionHistoryLimit`` are deleted, oldest first. ``currentRevision``
  becomes ``updateRevision`` once every pod is updated and ready.
- ``OrderedReady`` (the default) is monotonic: pods are processed in ordinal
  order and the pass stops at the first pod that is missing (it is created),
  failed (deleted, to be made again with the same name next pass), being
  deleted, or not Running, Ready and available for ``minReadySeconds``. Extra
  pods are deleted from the highest ordinal, one per pass, once the others are.
  ``Parallel`` does all of it at once and waits for nothing.
- ``RollingUpdate``: the highest pod not at the update revision with index at
  least ``partition`` is deleted (and made again at the new revision), one at a
  time, each after the higher ones are updated and available. With
  ``maxUnavailable`` set, Kubernetes' MaxUnavailableStatefulSet rules apply: up
  to that many pods may be unavailable, counting the ones that already are.
  Pods made below the partition are made at the current revision.
  ``OnDelete``: pods are only made at the new revision after someone deletes them.
- Pods that match the selector and are named ``<set>-<n>`` are adopted if
  orphaned; owned pods that stop matching are released.

Left out: volumeClaimTemplates (there are no volumes), and the status of a
set being deleted (its pods are left to the garbage collector).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from pyrsistent import pmap

from reconcile.controllers import workloads as _pods
from reconcile.controllers.rollout import rolling
from reconcile.api.memo import IdentityMemo
from reconcile.engine.actions import Create, Delete, Emit, Result, Update, UpdateStatus
from reconcile.controllers.workloads import (
    SAFE_ALPHABET, claim_pods, is_controlled_by, with_owner, without_owner, workload_selector,
)
from reconcile.controllers.replicaset import orphans_wake_matching
from reconcile.engine import Rule
from reconcile.api.model import EMPTY_MAP, ControllerRevision, pod_from_template, thaw
from reconcile.api.quantity import scaled_value_from_int_or_percent

__all__ = ["reconcile_statefulset", "RULE", "parent_and_ordinal", "revision_hash", "POD_NAME_LABEL",
           "POD_INDEX_LABEL", "REVISION_LABEL"]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_MEMBER = re.compile(r"(.*)-([0-9]+)")          # Kubernetes' statefulPodRegex, "(.*)-([0-9]+)$"
_MAX_INT32 = 2**31 - 1


def parent_and_ordinal(name: str) -> tuple[str, int]:
    """``getParentNameAndOrdinal``: the set's name and the ordinal in a pod's name (``("", -1)`` if none).

    >>> parent_and_ordinal("web-12"), parent_and_ordinal("web"), parent_and_ordinal("db-x-99999999999")
    (('web', 12), ('', -1), ('db-x', -1))
    """
    m = _MEMBER.fullmatch(name)
    if m is None:
        return "", -1
    ordinal = int(m.group(2))
    return m.group(1), ordinal if ordinal <= _MAX_INT32 else -1


# ---------------------------------------------------------------- revisions

def _revision_data(template):
    """A ControllerRevision's data (``getPatch``): a patch that replaces the set's template."""
    return pmap({"spec": pmap({"template": template.set("$patch", "replace")})})


@lru_cache(maxsize=1024)
def _fnv32(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= b
    return h


def revision_hash(template, collision_count: int = 0) -> str:
    """``HashControllerRevision``: FNV-32 of the revision's data and the collision count, written
    in Kubernetes' safe alphabet (``SafeEncodeString``).

    >>> from reconcile.api.model import StatefulSet
    >>> t = StatefulSet.new("web", spec={"template": {"spec": {"containers": [{"name": "c"}]}}}).spec["template"]
    >>> revision_hash(t) == revision_hash(t), revision_hash(t) == revision_hash(t, 1)
    (True, False)
    """
    data = _DATA_JSON.get(lambda: json.dumps(thaw(_revision_data(template)), sort_keys=True,
                                             separators=(",", ":")).encode(), template)
    digits = str(_fnv32(data + str(collision_count).encode()))
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in digits)


_DATA_JSON = IdentityMemo()
_TEMPLATES = IdentityMemo()
_SAME = IdentityMemo()


def _revision_template(revision):
    """The pod template a revision holds (what ``ApplyRevision`` puts in the set)."""
    data = revision.spec.get("data") or EMPTY_MAP
    return _TEMPLATES.get(lambda: ((data.get("spec") or EMPTY_MAP).get("template") or EMPTY_MAP).discard("$patch"),
                          data)


def _holds(revision, template) -> bool:
    """``EqualRevision``: the revision holds this template."""
    data = revision.spec.get("data")
    return _SAME.get(lambda: _revision_template(revision) == template, data, template)


def _revision_order(revision):
    """``SortControllerRevisions``: by revision number, then creation, then name."""
    return revision.spec.get("revision", 0), revision.metadata.creationTimestamp or 0.0, revision.name


def _claim_revisions(snapshot, sts, selector, plan) -> list:
    """``ListRevisions`` with ``AdoptOrphanRevisions``: the set's revisions, oldest first."""
    found = [r for r in snapshot.owned_by(sts.metadata.uid, "ControllerRevision")
             if is_controlled_by(r, sts) and selector.matches(r.metadata.labels)]
    if not selector.is_empty():
        for r in snapshot.orphans("ControllerRevision", sts.metadata.namespace):
            if selector.matches(r.metadata.labels):
                r = with_owner(r, sts)
                plan.write(r)
                found.append(r)
    return sorted(found, key=_revision_order)


def _update_revision(snapshot, sts, revisions, template, plan):
    """``getStatefulSetRevisions``' update revision: the newest if it holds the template; an older
    one that does, renumbered as the newest (a rollback); else a new one. Returns it and the
    collision count (raised while a revision of another template or owner has the name)."""
    collisions = sts.status.get("collisionCount") or 0
    number = revisions[-1].spec.get("revision", 0) + 1 if revisions else 1
    equal = [r for r in revisions if _holds(r, template)]
    if equal and equal[-1] is revisions[-1]:
        return revisions[-1], collisions
    if equal:
        rolled = equal[-1].set(spec=equal[-1].spec.set("revision", number))
        plan.write(rolled)
        return rolled, collisions
    ns = sts.metadata.namespace
    while True:
        h = revision_hash(template, collisions)
        name = f"{sts.name[:223]}-{h}"
        taken = snapshot.get("ControllerRevision", name, ns)
        if taken is None:
            break
        if is_controlled_by(taken, sts) and _holds(taken, template):
            return taken, collisions
        collisions += 1
    labels = ((template.get("metadata") or EMPTY_MAP).get("labels") or EMPTY_MAP).set(REVISION_LABEL, h)
    rev = ControllerRevision.new(name, ns)
    rev = with_owner(rev.set(metadata=rev.metadata.set(labels=labels),
                             spec=pmap({"data": _revision_data(template), "revision": number})), sts)
    plan.create(rev)
    return rev, collisions


def _truncate_history(sts, pods, revisions, current, update) -> list:
    """``truncateHistory``: the oldest revisions no pod uses beyond ``revisionHistoryLimit``, to delete."""
    live = {current.name, update.name} | {p.metadata.labels.get(REVISION_LABEL) for p in pods}
    history = [r for r in revisions if r.name not in live]
    limit = sts.spec.get("revisionHistoryLimit")
    limit = 10 if limit is None else limit
    return history[:len(history) - limit] if 0 <= limit < len(history) else []


# ---------------------------------------------------------------- pods

def _claim_pods(snapshot, sts, selector, plan) -> list:
    """``ClaimPods`` with ``isMemberOf``: the set's pods, adopting orphans named ``<set>-<n>``
    that match the selector and releasing owned pods that no longer do."""
    owned, adopt, release = claim_pods(snapshot, sts, selector.matches)
    pods = []
    for p in owned:
        if parent_and_ordinal(p.name)[0] == sts.name:
            pods.append(p)
        else:
            release.append(p)
    for p in release:
        plan.write(without_owner(p, sts.metadata.uid))
    if not selector.is_empty():
        for p in adopt:
            if parent_and_ordinal(p.name)[0] == sts.name:
                p = with_owner(p, sts)
                plan.write(p)
                pods.append(p)
    return pods


def _new_pod(sts, template, ordinal: int, revision: str):
    """``newStatefulSetPod`` and ``setPodRevision``: the pod at ``ordinal``, made from ``template``."""
    name = f"{sts.name}-{ordinal}"
    pod = pod_from_template(template, name, sts.metadata.namespace, owner=sts)
    labels = pod.metadata.labels.update({REVISION_LABEL: revision, POD_NAME_LABEL: name,
                                         POD_INDEX_LABEL: str(ordinal)})
    spec = pod.spec.set("hostname", name)
    if sts.spec.get("serviceName"):
        spec = spec.set("subdomain", sts.spec["serviceName"])
    return pod.set(metadata=pod.metadata.set(labels=labels), spec=spec)


def _at_current_revision(sts, ordinal: int, start: int) -> bool:
    """``newVersionedStatefulSetPod``'s test: a pod made at ``ordinal`` gets the current revision."""
    strategy = sts.spec.get("updateStrategy") or EMPTY_MAP
    ru = strategy.get("rollingUpdate")
    if ru is None:
        return strategy.get("type", "RollingUpdate") == "RollingUpdate" \
            and ordinal < start + (sts.status.get("currentReplicas") or 0)
    return ordinal < start + (ru.get("partition") or 0)


def _identity_matches(pod) -> bool:
    labels = pod.metadata.labels
    return labels.get(POD_NAME_LABEL) == pod.name \
        and labels.get(POD_INDEX_LABEL) == str(parent_and_ordinal(pod.name)[1])


def _with_identity(pod):
    """``updateIdentity``: the pod's name and index labels put back."""
    labels = pod.metadata.labels.update({POD_NAME_LABEL: pod.name,
                                         POD_INDEX_LABEL: str(parent_and_ordinal(pod.name)[1])})
    return pod.set(metadata=pod.metadata.set(labels=labels))


def _running_and_available(pod, min_ready: int, now: float) -> bool:
    """``isRunningAndAvailable`` (which implies ``isRunningAndReady``)."""
    return pod.status.get("phase") == "Running" and _pods.is_pod_available(pod, min_ready, now)


def _terminating(pod) -> bool:
    return pod.metadata.deletionTimestamp is not None


def _unavailable(pod, min_ready: int, now: float) -> bool:
    return _terminating(pod) or not _running_and_available(pod, min_ready, now)


def _process_replica(pod, monotonic: bool, min_ready: int, now: float, plan) -> bool:
    """``processReplica``: one wanted pod; True when an OrderedReady pass must stop here."""
    phase = pod.status.get("phase")
    if phase in ("Failed", "Succeeded"):
        if not _terminating(pod):
            plan.delete(pod)           # made again, with the same name, on a later pass
        return True
    if not phase:                      # not created yet
        plan.create(pod)
        return monotonic
    if monotonic and (_terminating(pod) or not _running_and_available(pod, min_ready, now)):
        return True
    if not _identity_matches(pod):
        plan.update_pod(_with_identity(pod))
    return False


def _process_condemned(condemned, first_unavailable, monotonic: bool, min_ready: int, now: float, plan) -> bool:
    """``processCondemned`` over the extra pods, highest ordinal first; True when a pass must stop."""
    for pod in condemned:
        if _terminating(pod):
            if monotonic:
                return True
            continue
        if monotonic and pod is not first_unavailable and not _running_and_available(pod, min_ready, now):
            return True
        plan.delete(pod)
        if monotonic:
            return True
    return False


def _max_unavailable(value, replicas: int) -> int:
    """``getStatefulSetMaxUnavailable``: an int, or a percentage of replicas rounded down; at least 1."""
    try:
        n = scaled_value_from_int_or_percent(value, replicas, round_up=False)
    except ValueError:
        n = 1
    return max(n, 1)


def _roll(sts, slots, update: str, min_ready: int, now: float, plan, status: dict) -> None:
    """The RollingUpdate step: delete the highest pods at index ``partition`` or above that are not
    at the update revision, as many as the unavailability budget allows."""
    ru = rolling(sts, "updateStrategy")
    targets = list(reversed(slots[max(ru.get("partition") or 0, 0):]))
    if ru.get("maxUnavailable") is None:
        budget = 1             # one at a time, and wait for a higher pod that is still unavailable
    else:
        budget = _max_unavailable(ru["maxUnavailable"], len(slots)) \
            - sum(_unavailable(p, min_ready, now) for p in slots)
    for pod in targets:
        if budget <= 0:
            return
        if pod.metadata.labels.get(REVISION_LABEL) != update and not _terminating(pod):
            plan.delete(pod)
            status["currentReplicas"] -= 1
            budget -= 1
        elif ru.get("maxUnavailable") is None and _unavailable(pod, min_ready, now):
            return


def _counts(pods, min_ready: int, now: float, current: str, update: str) -> dict:
    """``computeReplicaStatus`` over the created pods."""
    replicas = ready = available = at_current = at_update = 0
    for p in pods:
        if not p.status.get("phase"):
            continue
        replicas += 1
        if p.status.get("phase") == "Running" and _pods.is_ready(p):
            ready += 1
            available += _pods.is_pod_available(p, min_ready, now)
        if not _terminating(p):
            revision = p.metadata.labels.get(REVISION_LABEL)
            at_current += revision == current
            at_update += revision == update
    return {"replicas": replicas, "readyReplicas": ready, "availableReplicas": available,
            "currentReplicas": at_current, "updatedReplicas": at_update}


def _sync_pods(sts, pods, current, update, template, plan, now: float) -> dict:
    """``updateStatefulSet``: create, fix and delete pods; returns the replica counts."""
    spec = sts.spec
    min_ready = spec.get("minReadySeconds") or 0
    start = (spec.get("ordinals") or EMPTY_MAP).get("start") or 0
    count = spec.get("replicas", 1)
    slots: list = [None] * count
    condemned = []
    for p in pods:
        ordinal = parent_and_ordinal(p.name)[1]
        if start <= ordinal < start + count:
            slots[ordinal - start] = p
        elif ordinal >= 0:
            condemned.append(p)
    current_template = template if current.name == update.name else _revision_template(current)
    for i, p in enumerate(slots):
        if p is None:
            at_current = _at_current_revision(sts, start + i, start)
            slots[i] = _new_pod(sts, current_template if at_current else template, start + i,
                                current.name if at_current else update.name)
    condemned.sort(key=lambda p: parent_and_ordinal(p.name)[1], reverse=True)
    first_unavailable = next((p for p in (*slots, *reversed(condemned)) if _unavailable(p, min_ready, now)), None)
    monotonic = spec.get("podManagementPolicy") != "Parallel"
    stop = False
    for p in slots:
        if _process_replica(p, monotonic, min_ready, now, plan) and monotonic:
            stop = True
            break
    stop = stop or _process_condemned(condemned, first_unavailable, monotonic, min_ready, now, plan)
    status = _counts((*slots, *condemned), min_ready, now, current.name, update.name)
    if not stop and rolling(sts, "updateStrategy") is not None:
        _roll(sts, slots, update.name, min_ready, now, plan, status)
    return status


# ---------------------------------------------------------------- the controller

class _Plan:
    """The writes of one pass. Updates come first and a second write of an object replaces the
    first (adopting a pod and fixing its labels is one update); then creates and deletes, with
    Kubernetes' events for the pods, in the order they were decided."""

    def __init__(self, sts):
        self.sts = sts
        self.writes: dict = {}
        self.changes: list = []
        self.deleted: set = set()

    def write(self, obj) -> None:
        self.writes[(obj.kind, obj.name)] = obj

    def update_pod(self, pod) -> None:
        self.write(pod)
        self._event("update", pod)

    def create(self, obj) -> None:
        self.changes.append(Create(obj))
        self._event("create", obj)

    def delete(self, obj) -> None:
        if (obj.kind, obj.name) not in self.deleted:       # a failed pod may be chosen twice in a pass
            self.deleted.add((obj.kind, obj.name))
            self.changes.append(Delete(obj.kind, obj.name, obj.metadata.namespace))
            self._event("delete", obj)

    def _event(self, verb: str, obj) -> None:
        if obj.kind == "Pod":
            self.changes.append(Emit("Normal", f"Successful{verb.title()}",
                                     f"{verb} Pod {obj.name} in StatefulSet {self.sts.name} successful",
                                     self.sts.key))

    def actions(self) -> list:
        return [Update(o) for o in self.writes.values()] + self.changes


def reconcile_statefulset(snapshot, key, now: float) -> Result:
    sts = snapshot.get_key(key)
    if sts is None or sts.metadata.deletionTimestamp is not None:
        return Result()
    selector = workload_selector(sts)
    plan = _Plan(sts)
    revisions = _claim_revisions(snapshot, sts, selector, plan)
    pods = _claim_pods(snapshot, sts, selector, plan)
    template = sts.spec.get("template") or EMPTY_MAP
    update, collisions = _update_revision(snapshot, sts, revisions, template, plan)
    current = next((r for r in revisions if r.name == sts.status.get("currentRevision")), update)
    status = _sync_pods(sts, pods, current, update, template, plan, now)
    status.update(currentRevision=current.name, updateRevision=update.name, collisionCount=collisions,
                  observedGeneration=sts.metadata.generation)
    if rolling(sts, "updateStrategy") is not None and status["updatedReplicas"] == status["replicas"] == status["readyReplicas"]:
        status.update(currentReplicas=status["updatedReplicas"], currentRevision=update.name)   # completeRollingUpdate
    actions = plan.actions()
    if any(sts.status.get(k) != v for k, v in status.items()):
        actions.append(UpdateStatus(sts.set(status=sts.status.update(status))))
    actions += [Delete(r.kind, r.name, r.metadata.namespace)
                for r in _truncate_history(sts, pods, revisions, current, update)]
    min_ready = sts.spec.get("minReadySeconds") or 0
    requeue = float(min_ready) if min_ready and status["availableReplicas"] != sts.spec.get("replicas", 1) else None
    return Result(tuple(actions), requeue)


RULE = Rule("statefulset-controller", reconcile_statefulset, primary="StatefulSet",
            owns=("Pod", "ControllerRevision"), watches={"Pod": orphans_wake_matching("StatefulSet")},
            priority=20, status_wakes=False)
