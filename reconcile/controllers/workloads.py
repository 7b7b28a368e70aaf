"""Facts about pods and the workloads that own them, shared by the controllers and the runtimes:
readiness, availability, deletion order, crash-loop back-off, ownership, selectors, pod names,


Ported case for case from Kubernetes (``pkg/api/v1/pod/util.go``,
``pkg/controller/controller_utils.go``, the kubelet's back-off); pure
functions of the pod and of ``now`` (float seconds). Times in pods may be
float seconds or RFC 3339 text.

>>> from reconcile.api.model import Pod
>>> a = Pod.new("a", "default", spec={"nodeName": "n1", "containers": []}, status={"phase": "Running"})
>>> b = Pod.new("b", "default", spec={"containers": []}, status={"phase": "Pending"})
>>> [p.name for p in sorted([a, b], key=lambda p: pod_deletion_key(p, 0.0))]
['b', 'a']
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import hashlib

from pyrsistent import pvector

from reconcile.api import labels as _labels
from reconcile.api.memo import IdentityMemo
from reconcile.api.model import KObject, OwnerReference

__all__ = ["POD_DELETION_COST", "BACKOFF_INITIAL", "BACKOFF_MAX", "BACKOFF_RESET", "seconds", "is_ready",
           "ready_since", "is_pod_available", "is_active", "filter_active_pods", "pods_per_node",
           "pod_deletion_key", "deletion_order", "pods_to_delete", "next_backoff", "BackOff",
           "workload_selector", "controller_of", "is_controlled_by", "owner_reference", "with_owner",
           "without_owner", "claim_pods", "pod_name", "fresh_pod_names", "SAFE_ALPHABET",
           "ready_condition"]

POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
BACKOFF_INITIAL, BACKOFF_MAX, BACKOFF_RESET = 10.0, 300.0, 600.0
_INT32 = (-(2**31), 2**31 - 1)
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}  # other phases count as Pending, as in Go


def seconds(value) -> float | None:
    """A Kubernetes time as float seconds: numbers as they are, RFC 3339 text parsed (UTC when it
    has no zone); None or ``""`` (Go's zero time) gives None.

    >>> seconds("2016-01-01T00:01:09Z") - seconds("2016-01-01T00:00:00Z"), seconds(5), seconds(None)
    (69.0, 5.0, None)
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return (t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)).timestamp()
    raise ValueError(f"expected a time (seconds or RFC 3339), got {value!r}")


def ready_condition(pod) -> Mapping | None:
    """``GetPodReadyCondition``: the first condition of type Ready (kept per conditions list:
    pods that got ready together share theirs, and a ReplicaSet sorts a hundred at a time)."""
    conditions = pod.status.get("conditions")
    if not conditions:
        return None
    return _READY_CONDITION.get(lambda: next((c for c in conditions if c.get("type") == "Ready"), None),
                                conditions)


_READY_CONDITION = IdentityMemo()


def is_ready(pod) -> bool:
    """``IsPodReady``: the pod's (first) Ready condition is True.

    >>> from reconcile.api.model import Pod
    >>> is_ready(Pod.new("p", status={"conditions": [{"type": "Ready", "status": "True"}]}))
    True
    """
    c = ready_condition(pod)
    return c is not None and c.get("status") == "True"


def ready_since(pod) -> float | None:
    """When a ready pod became ready (its Ready condition's ``lastTransitionTime``); None if not ready or unknown.

    >>> from reconcile.api.model import Pod
    >>> ready_since(Pod.new("p", status={"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": 7}]}))
    7.0
    """
    return seconds(ready_condition(pod).get("lastTransitionTime")) if is_ready(pod) else None


def is_pod_available(pod, min_ready_seconds: float, now: float) -> bool:
    """``IsPodAvailable``: ready, and ready for at least ``min_ready_seconds`` (``lastTransitionTime``,
    seconds or RFC 3339; without it only ``min_ready_seconds == 0`` makes the pod available).

    >>> from reconcile.api.model import Pod
    >>> p = Pod.new("p", status={"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": 49.0}]})
    >>> is_pod_available(p, 51, 100.0), is_pod_available(p, 52, 100.0)
    (True, False)
    """
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def is_active(pod) -> bool:
    """``IsPodActive``: not Succeeded, not Failed, not being deleted.

    >>> from reconcile.api.model import Pod
    >>> [is_active(Pod.new("p", status={"phase": phase})) for phase in ("Running", "Failed")]
    [True, False]
    """
    return pod.status.get("phase") not in ("Succeeded", "Failed") and pod.metadata.deletionTimestamp is None


def filter_active_pods(pods: Iterable) -> list:
    """``FilterActivePods``: the active pods, in the given order.

    >>> from reconcile.api.model import Pod
    >>> [p.name for p in filter_active_pods([Pod.new("a", status={"phase": "Succeeded"}), Pod.new("b")])]
    ['b']
    """
    return [p for p in pods if is_active(p)]


def pods_per_node(related_pods: Iterable) -> dict[str, int]:
    """Active pods per node name (``""`` for unassigned): the ranks of ``getPodsRankedByRelatedPodsOnSameNode``.

    >>> from reconcile.api.model import Pod
    >>> pods_per_node([Pod.new("a", spec={"nodeName": "n1"}), Pod.new("b", spec={"nodeName": "n1"}), Pod.new("c")])
    {'': 1, 'n1': 2}
    """
    counts: dict[str, int] = {}
    for p in filter_active_pods(related_pods):
        node = p.spec.get("nodeName") or ""
        counts[node] = counts.get(node, 0) + 1
    return dict(sorted(counts.items()))


def _deletion_cost(pod) -> int:
    value = pod.metadata.annotations.get(POD_DELETION_COST)
    if not isinstance(value, str) or not re.fullmatch(r"0|-[0-9]+|[1-9][0-9]*", value):
        return 0
    return int(value) if _INT32[0] <= int(value) <= _INT32[1] else 0


def pod_deletion_key(pod, now: float, ranks: Mapping[str, int] | None = None) -> tuple:
    """Sort key: ``sorted(pods, key=...)`` puts first the pods a ReplicaSet deletes first.

    ``ActivePodsWithRanks.Less``: unassigned before assigned; Pending before
    Unknown before Running; not ready before ready; lower
    ``controller.kubernetes.io/pod-deletion-cost`` first; with ``ranks``
    (``{node name: active pods of the owner there}``, see :func:`pods_per_node`)
    pods on more crowded nodes first; ready for a shorter time first (no
    ready time first); more container restarts first; newer first (no
    creation time first); then by name, for a total order.

    >>> from reconcile.api.model import Pod
    >>> a = Pod.new("a", spec={"nodeName": "n1"}, status={"phase": "Running"})
    >>> b = Pod.new("b", status={"phase": "Pending"})
    >>> [p.name for p in sorted([a, b], key=lambda p: pod_deletion_key(p, 0.0))]
    ['b', 'a']
    """
    node, ready = pod.spec.get("nodeName") or "", is_ready(pod)
    since = ready_since(pod) if ready else None
    restarts = max((c.get("restartCount", 0) for c in pod.status.get("containerStatuses") or ()), default=0)
    created = pod.metadata.creationTimestamp
    return (1 if node else 0, _PHASE_ORDER.get(pod.status.get("phase"), 0), ready, _deletion_cost(pod),
            -(ranks or {}).get(node, 0),
            (0, 0.0) if since is None else (1, now - since),
            -restarts,
            (0, 0.0) if created is None else (1, now - created),
            pod.metadata.name)


def deletion_order(pods: Iterable, now: float) -> list:
    """Pods in the order Kubernetes deletes them when scaling down (ActivePods' Less, no ranks)."""
    return sorted(pods, key=lambda p: pod_deletion_key(p, now))


def pods_to_delete(pods: Sequence, diff: int, now: float, related_pods: Iterable | None = None) -> list:
    """``getPodsToDelete``: the first ``diff`` of ``pods`` in deletion order. ``related_pods`` (default
    ``pods``) are all pods of the owner's owner; a pod's rank is how many of them are active on its node.

    >>> from reconcile.api.model import Pod
    >>> pods = [Pod.new(name, spec={"nodeName": node}) for name, node in (("a", "n1"), ("b", "n2"), ("c", "n2"))]
    >>> [p.name for p in pods_to_delete(pods, 1, 0.0)]
    ['b']
    """
    ranks = pods_per_node(pods if related_pods is None else related_pods)
    return sorted(pods, key=lambda p: pod_deletion_key(p, now, ranks))[:max(diff, 0)]


# ---------------------------------------------------------------- workloads: ownership, selectors, names, conditions

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # Kubernetes' rand.String alphabet (no vowels, no 0/1/3)


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
        n, r = divmod(n, len(SAFE_ALPHABET))
        suffix += SAFE_ALPHABET[r]
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


# ---------------------------------------------------------------- crash-loop back-off (kubelet)

def next_backoff(previous_backoff: float | None, last_start: float | None, now: float) -> float:
    """The wait before restarting a container that crashed at ``now``.

    ``previous_backoff`` is the wait before its last restart (None: it never
    crashed); ``last_start`` when it last started. 10s at first, doubling up
    to 300s, and back to 10s once it had been running for 600s or more.

    >>> waits, prev = [], None
    >>> for t in range(0, 80, 10):
    ...     prev = next_backoff(prev, t - 1, t); waits.append(prev)
    >>> waits, next_backoff(300.0, 0.0, 600.0)
    ([10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0], 10.0)
    """
    if previous_backoff is None or (last_start is not None and now - last_start >= BACKOFF_RESET):
        return BACKOFF_INITIAL
    return min(previous_backoff * 2, BACKOFF_MAX)


@dataclass(frozen=True)
class BackOff:
    """One container's entry in the kubelet's back-off table (``flowcontrol.Backoff``, 10s..300s, no jitter).

    ``delay`` is the current window, ``updated`` when the entry was last
    stepped (the last restart). The kubelet keeps no entry until the first
    crash, so that crash restarts at once; later crashes wait ``delay``.
    An entry whose container finished more than 600s after ``updated`` has
    expired (Kubernetes compares strictly; :func:`next_backoff` resets at 600s).

    >>> b = BackOff.first(1.0)                        # crashed at 1, restarted at once
    >>> b.blocks(2.0, 5.0), b.blocks(2.0, 12.0)       # crashed again at 2
    (True, False)
    >>> b.step(2.0, 12.0)
    BackOff(delay=20.0, updated=12.0)
    """

    delay: float
    updated: float

    @classmethod
    def first(cls, now: float) -> "BackOff":
        """The entry made at the first restart (``Next`` without an entry)."""
        return cls(BACKOFF_INITIAL, now)

    def expired(self, finished_at: float) -> bool:
        """``hasExpired``: the container ran more than twice the maximum since the entry was updated."""
        return finished_at - self.updated > 2 * BACKOFF_MAX

    def blocks(self, finished_at: float, now: float) -> bool:
        """``IsInBackOffSince``: a container that finished at ``finished_at`` must still wait at ``now``."""
        return not self.expired(finished_at) and now - finished_at < self.delay

    def step(self, finished_at: float, now: float) -> "BackOff":
        """``Next`` at a restart at ``now``: doubled (at most 300s), or back to 10s if expired."""
        return BackOff.first(now) if self.expired(finished_at) else BackOff(min(self.delay * 2, BACKOFF_MAX), now)
