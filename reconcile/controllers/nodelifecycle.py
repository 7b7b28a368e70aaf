"""Node lifecycle: heartbeats (Leases), NotReady/Unknown nodes, taints, and eviction.

Kubernetes semantics (``pkg/controller/nodelifecycle``): every node's
kubelet renews a Lease in the ``kube-node-lease`` namespace; a node whose
lease is older than the grace period (40 s by default) gets its Ready
condition set to ``Unknown`` and the ``node.kubernetes.io/unreachable``
taint with effect ``NoExecute``; pods on it that do not tolerate that
taint are evicted once their toleration time is over (300 s by default,
which Kubernetes gives every pod). When the lease is renewed again the
taint is removed. Both periods are settings of :func:`rules`.
"""

from __future__ import annotations

from pyrsistent import pmap, pvector

from reconcile.engine.actions import Delete, Emit, Result, Update, UpdateStatus
from reconcile.api.conditions import condition, set_condition
from reconcile.engine import Rule
from reconcile.scheduler import tolerates_taint

__all__ = ["rules", "LEASE_NAMESPACE", "UNREACHABLE", "tolerated_for"]

LEASE_NAMESPACE = "kube-node-lease"
UNREACHABLE = "node.kubernetes.io/unreachable"


def tolerated_for(pod, taint, default: float) -> float | None:
    """How long ``pod`` tolerates ``taint`` (None: forever; ``default`` when no toleration says)."""
    for t in pod.spec.get("tolerations") or ():
        if tolerates_taint(t, taint):
            secs = t.get("tolerationSeconds")
            return None if secs is None else float(secs)
    return default


def rules(grace: float = 40.0, eviction: float = 300.0) -> tuple[Rule, ...]:
    def reconcile_node(snapshot, key, now: float) -> Result:
        _, _, name = key
        node = snapshot.get("Node", name, None)
        if node is None:
            return Result()
        lease = snapshot.get("Lease", name, LEASE_NAMESPACE)
        renew = lease.spec.get("renewTime") if lease is not None else None
        if renew is None:
            return Result()              # no kubelet has reported yet: nothing to judge
        taints = list(node.spec.get("taints") or ())
        has_taint = any(t.get("key") == UNREACHABLE for t in taints)
        expired = renew + grace <= now
        actions: list = []
        if expired:
            ready = condition(node, "Ready")
            if ready is None or ready.get("status") != "Unknown":
                conds = set_condition(node.status.get("conditions"), "Ready", "Unknown", now,
                                      "NodeStatusUnknown", "Kubelet stopped posting node status.")
                actions.append(UpdateStatus(node.set(status=node.status.set("conditions", conds))))
                actions.append(Emit("Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady",
                                    node.key))
            if not has_taint:
                # the status write above bumps the resourceVersion; this write is in the same batch
                taint = pmap({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": now})
                tainted = node.set(spec=node.spec.set("taints", pvector(taints + [taint])),
                                   metadata=node.metadata.set(resourceVersion="") if actions else node.metadata)
                actions.append(Update(tainted))
            return Result(tuple(actions))
        if has_taint:
            kept = pvector(t for t in taints if t.get("key") != UNREACHABLE)
            actions.append(Update(node.set(spec=node.spec.set("taints", kept))))
        return Result(tuple(actions), requeue_after=renew + grace - now)

    def evict(snapshot, key, now: float) -> Result:
        _, _, name = key
        node = snapshot.get("Node", name, None)
        if node is None:
            return Result()
        taints = [t for t in node.spec.get("taints") or () if t.get("effect") == "NoExecute"]
        if not taints:
            return Result()
        actions: list = []
        wake = None
        for pod in snapshot.pods_on_node(name):
            if pod.metadata.deletionTimestamp is not None:
                continue
            deadline = None
            for t in taints:
                secs = tolerated_for(pod, t, eviction)
                if secs is None:
                    continue
                at = (t.get("timeAdded") or now) + secs
                deadline = at if deadline is None else min(deadline, at)
            if deadline is None:
                continue
            if deadline <= now:
                actions.append(Delete("Pod", pod.name, pod.metadata.namespace))
                actions.append(Emit("Normal", "TaintManagerEviction",
                                    f"Marking for deletion Pod {pod.metadata.namespace}/{pod.name}", pod.key))
            else:
                wake = deadline if wake is None else min(wake, deadline)
        return Result(tuple(actions), None if wake is None else wake - now)

    def lease_to_node(event, snapshot):
        o = event.object
        return [("Node", None, o.name)] if o.metadata.namespace == LEASE_NAMESPACE else []

    def pod_to_node(event, snapshot):
        name = event.object.spec.get("nodeName")
        node = snapshot.get("Node", name, None) if name else None
        if node is None or not node.spec.get("taints"):
            return []       # nothing to evict from an untainted node; a new taint wakes the node itself
        return [node.key]

    return (
        Rule("node-lifecycle-controller", reconcile_node, primary="Node", watches={"Lease": lease_to_node},
             priority=10),
        Rule("taint-eviction-controller", evict, primary="Node", watches={"Pod": pod_to_node}, priority=11),
    )
