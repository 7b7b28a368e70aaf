"""Deployment progress (``pkg/controller/deployment/progress.go``): complete, progressing, timed out."""

from __future__ import annotations

from typing import Mapping

from reconcile.controllers.workloads import seconds

__all__ = ["deployment_complete", "deployment_progressing", "deployment_timed_out",
           "NEW_RS_AVAILABLE_REASON", "TIMED_OUT_REASON"]

NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
_MAX_INT32 = 2**31 - 1   # progressDeadlineSeconds = MaxInt32 means "no deadline"


def _replicas(d) -> int:
    return d.spec.get("replicas", 1)


def deployment_complete(deployment, new_status: Mapping) -> bool:
    """``DeploymentComplete``: all replicas updated and available, no old pods, generation observed.

    >>> from reconcile.api.model import Deployment
    >>> status = {"replicas": 5, "updatedReplicas": 5, "availableReplicas": 5}
    >>> deployment_complete(Deployment.new("d", spec={"replicas": 5}), status)
    True
    """
    n = _replicas(deployment)
    return (new_status.get("updatedReplicas", 0) == n and new_status.get("replicas", 0) == n
            and new_status.get("availableReplicas", 0) == n
            and new_status.get("observedGeneration", 0) >= deployment.metadata.generation)


def deployment_progressing(deployment, new_status: Mapping) -> bool:
    """``DeploymentProgressing``: more updated, ready or available pods, or fewer old ones, than before.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", status={"replicas": 10, "updatedReplicas": 4})
    >>> deployment_progressing(d, {"replicas": 10, "updatedReplicas": 6})
    True
    """
    old, new = ({k: s.get(k, 0) for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")}
                for s in (deployment.status, new_status))
    return (new["updatedReplicas"] > old["updatedReplicas"] or new["readyReplicas"] > old["readyReplicas"]
            or new["replicas"] - new["updatedReplicas"] < old["replicas"] - old["updatedReplicas"]
            or new["availableReplicas"] > old["availableReplicas"])


def deployment_timed_out(deployment, progressing_condition: Mapping | None, now: float) -> bool:
    """``DeploymentTimedOut``: no progress for ``progressDeadlineSeconds`` (strictly more).

    ``progressing_condition`` is the Progressing condition of the status being
    computed (None: no base, no time-out). Its reason ``NewReplicaSetAvailable``
    means not timed out, ``ProgressDeadlineExceeded`` means timed out; else
    ``lastUpdateTime + progressDeadlineSeconds < now``. No deadline (absent or
    2**31-1) never times out.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"progressDeadlineSeconds": 10})
    >>> deployment_timed_out(d, {"type": "Progressing", "lastUpdateTime": 69.0}, 80.0)
    True
    """
    deadline = deployment.spec.get("progressDeadlineSeconds")
    if deadline is None or deadline == _MAX_INT32 or progressing_condition is None:
        return False
    reason = progressing_condition.get("reason")
    if reason == NEW_RS_AVAILABLE_REASON:
        return False
    if reason == TIMED_OUT_REASON:
        return True
    since = seconds(progressing_condition.get("lastUpdateTime"))
    return since is None or since + deadline < now  # Go's zero time is long past
