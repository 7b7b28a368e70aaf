"""The scheduler as a rule: bind the pending pods to nodes, or say why they cannot be.

The deciding is :mod:`reconcile.scheduler` (a pure function of the pods and
the nodes); this rule feeds it the snapshot and turns its answers into
``Bind`` actions or ``PodScheduled=False`` conditions with Kubernetes'
message ("0/3 nodes are available: ..."). Like kube-scheduler, one
scheduler takes its queue in order (higher ``spec.priority`` first, then
older first) and each pod sees the bindings made before it; its key is
:func:`scheduler_key`, so a burst of new pods is scheduled in one pass.
Unschedulable pods are tried again when nodes change or pods go away.
"""

from __future__ import annotations

from reconcile.actions import Bind, Emit, Result, UpdateStatus
from reconcile.controllers._common import set_condition
from reconcile.engine import Rule

__all__ = ["scheduling_rule", "scheduler_key"]

KIND = "Scheduler"     # the kind in a scheduler's work-queue key (not an object kind)


def scheduler_key(name: str | None = None) -> tuple:
    """The engine key of the scheduler named ``name`` (the default scheduler when None)."""
    from reconcile._defaults import DEFAULT_SCHEDULER
    return (KIND, None, name or DEFAULT_SCHEDULER)


def _queue_order(pod) -> tuple:
    """kube-scheduler's PrioritySort: higher priority first, then the older pod."""
    m = pod.metadata
    return (-(pod.spec.get("priority") or 0), m.creationTimestamp or 0, m.namespace or "", m.name)


def _pending(pod) -> bool:
    return (not pod.spec.get("nodeName") and pod.metadata.deletionTimestamp is None
            and pod.status.get("phase") not in ("Succeeded", "Failed"))


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
        sched = schedulers.get(key[2])
        if sched is None:
            return Result()
        queue = sorted((p for p in snapshot.pods_on_node("")
                        if _pending(p) and _sched.pick_scheduler(p, schedulers) is sched), key=_queue_order)
        if not queue:
            return Result()
        decisions, _ = _sched.schedule_many(queue, node_infos(snapshot), sched,
                                            cursors.setdefault(sched.name, _sched.Cursor()))
        actions: list = []
        for pod, decision in zip(queue, decisions):
            ns, name = pod.metadata.namespace, pod.metadata.name
            if isinstance(decision, _sched.Binding):
                actions.append(Bind(ns, name, decision.node_name))
                actions.append(Emit("Normal", "Scheduled",
                                    f"Successfully assigned {ns}/{name} to {decision.node_name}", pod.key))
                continue
            conds = set_condition(pod.status.get("conditions"), "PodScheduled", "False", now,
                                  "Unschedulable", decision.reason)
            if conds == pod.status.get("conditions"):
                continue
            status = pod.status.update({"phase": "Pending", "conditions": conds})
            actions.append(UpdateStatus(pod.set(status=status)))
            actions.append(Emit("Warning", "FailedScheduling", decision.reason, pod.key))
        return Result(tuple(actions))

    def wake(event, snapshot):
        o = event.object
        if o.kind == "Pod":
            if event.type != "DELETED" and _pending(o):
                return [scheduler_key(o.spec.get("schedulerName"))]      # a pod joins the queue
            old = event.old
            freed = old is not None and old.spec.get("nodeName") and (
                event.type == "DELETED" or o.metadata.deletionTimestamp is not None
                or o.status.get("phase") in ("Succeeded", "Failed"))
            if not freed:
                return []
        # room may have been made (a pod went away, a node changed): retry the queue
        if not snapshot.by_node.get(""):
            return []
        return [scheduler_key(name) for name in schedulers]

    return Rule("scheduler", reconcile, watches={"Node": wake, "Pod": wake}, priority=30)
