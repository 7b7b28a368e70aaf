"""The scheduler as a rule: bind each pending pod to a node, or say why it cannot be.

The deciding is :mod:`reconcile.scheduler` (a pure function of the pod and
the nodes); this rule feeds it the snapshot and turns its answer into a
``Bind`` action or a ``PodScheduled=False`` condition with Kubernetes'
message ("0/3 nodes are available: ..."). Unschedulable pods are tried
again when nodes change or pods go away, as kube-scheduler does.
"""

from __future__ import annotations

from reconcile.actions import Bind, Emit, Result, UpdateStatus
from reconcile.controllers._common import set_condition
from reconcile.engine import Rule

__all__ = ["scheduling_rule"]


def scheduling_rule(schedulers=None) -> Rule:
    from reconcile import scheduler as _sched
    if schedulers is None:
        default = _sched.Scheduler()
        schedulers = {default.name: default}

    memo: dict = {}      # node name -> (node, its pod set, NodeInfo): a cache of a pure function
    # kube-scheduler's nextStartNodeIndex, one per scheduler: where the next search starts, so that
    # large clusters are searched a slice at a time (deterministic: it follows the engine's order)
    cursors: dict = {}

    def node_infos(snapshot):
        """NodeInfo for every node; recomputed only for nodes whose object or pods changed."""
        out = []
        by_node = snapshot.by_node
        nodes = snapshot.objects.get("Node")
        if not nodes:
            return out
        for key in sorted(nodes):
            node = nodes[key]
            pods = by_node.get(node.name)
            hit = memo.get(node.name)
            if hit is not None and hit[0] is node and hit[1] is pods:
                out.append(hit[2])
                continue
            info = _sched.NodeInfo.from_node(node, snapshot.pods_on_node(node.name))
            memo[node.name] = (node, pods, info)
            out.append(info)
        return out

    def reconcile(snapshot, key, now: float) -> Result:
        _, ns, name = key
        pod = snapshot.get("Pod", name, ns)
        if pod is None or pod.spec.get("nodeName") or pod.metadata.deletionTimestamp is not None \
                or pod.status.get("phase") in ("Succeeded", "Failed"):
            return Result()
        sched = _sched.pick_scheduler(pod, schedulers)
        if sched is None:
            return Result()      # another scheduler's pod: it stays pending, as in Kubernetes
        decision = sched.schedule(pod, node_infos(snapshot), cursors.setdefault(sched.name, _sched.Cursor()))
        if isinstance(decision, _sched.Binding):
            return Result((Bind(ns, name, decision.node_name),
                           Emit("Normal", "Scheduled",
                                f"Successfully assigned {ns}/{name} to {decision.node_name}", pod.key)))
        conds = set_condition(pod.status.get("conditions"), "PodScheduled", "False", now,
                              "Unschedulable", decision.reason)
        if conds == pod.status.get("conditions"):
            return Result()
        status = pod.status.update({"phase": "Pending", "conditions": conds})
        return Result((UpdateStatus(pod.set(status=status)),
                       Emit("Warning", "FailedScheduling", decision.reason, pod.key)))

    def pending_pods(event, snapshot):
        o = event.object
        if o.kind == "Pod" and (event.type != "DELETED" and not (event.old is not None and
                                                                 event.old.spec.get("nodeName")
                                                                 and o.metadata.deletionTimestamp)):
            return []
        return [p.key for p in snapshot.pods_on_node("")]

    return Rule("scheduler", reconcile, primary="Pod",
                watches={"Node": pending_pods, "Pod": pending_pods}, priority=30)
