"""Pod facts the controllers share: readiness, availability, and Kubernetes' deletion order.

>>> from reconcile.model import Pod
>>> a = Pod.new("a", "default", spec={"nodeName": "n1", "containers": []}, status={"phase": "Running"})
>>> b = Pod.new("b", "default", spec={"containers": []}, status={"phase": "Pending"})
>>> [p.name for p in sorted([a, b], key=lambda p: pod_deletion_key(p, 0.0))]
['b', 'a']
"""

from __future__ import annotations

__all__ = ["pod_deletion_key", "is_pod_ready", "ready_since"]

_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def is_pod_ready(pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.status.get("conditions") or ())


def ready_since(pod):
    for c in pod.status.get("conditions") or ():
        if c.get("type") == "Ready" and c.get("status") == "True":
            t = c.get("lastTransitionTime")
            return t if isinstance(t, (int, float)) else None
    return None


def pod_deletion_key(pod, now: float, rank: int = 0):
    """Sort key: pods Kubernetes deletes first come first (ActivePods' Less).

    Unassigned before assigned; Pending before Unknown before Running; not
    ready before ready; (with ranks) more pods of the owner on the node
    first; ready for less time first; more restarts first; newer first.
    """
    assigned = 1 if pod.spec.get("nodeName") else 0
    phase = _PHASE_RANK.get(pod.status.get("phase"), 0)
    ready = 1 if is_pod_ready(pod) else 0
    since = ready_since(pod) if ready else None
    ready_for = (now - since) if since is not None else 0.0
    restarts = max((c.get("restartCount", 0) for c in pod.status.get("containerStatuses") or ()), default=0)
    created = pod.metadata.creationTimestamp or 0.0
    return (assigned, phase, ready, -rank, ready_for, -restarts, -created, pod.metadata.name)
