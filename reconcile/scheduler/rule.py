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

from dataclasses import replace

from reconcile.api.conditions import set_condition
from reconcile.api.defaults import DEFAULT_SCHEDULER
from reconcile.engine import Bind, Emit, Result, Rule, UpdateStatus
from reconcile.scheduler import framework as _sched

__all__ = ["scheduling_rule", "scheduler_key"]

KIND = "Scheduler"     # the kind in a scheduler's work-queue key (not an object kind)


def scheduler_key(name: str | None = None) -> tuple:
    """The engine key of the scheduler named ``name`` (the default scheduler when None)."""
    return (KIND, None, name or DEFAULT_SCHEDULER)


def _queue_order(pod) -> tuple:
    """kube-scheduler's PrioritySort: higher priority first, then the older pod."""
    m = pod.metadata
    return (-(pod.spec.get("priority") or 0), m.creationTimestamp or 0, m.namespace or "", m.name)


def _finished(pod) -> bool:
    return pod.status.get("phase") in ("Succeeded", "Failed")


def _pending(pod) -> bool:
    return (not pod.spec.get("nodeName") and pod.metadata.deletionTimestamp is None
            and pod.status.get("phase") not in ("Succeeded", "Failed"))


def scheduling_rule(schedulers=None) -> Rule:
    if schedulers is None:
        default = _sched.Scheduler()
        schedulers = {default.name: default}

    cache = _NodeCache(_sched)
    # kube-scheduler's nextStartNodeIndex, one per scheduler: where the next search starts, so that
    # large clusters are searched a slice at a time (deterministic: it follows the engine's order)
    cursors: dict = {}
    memos: dict = {}     # scheduler name -> its verdict memos (see schedule_many)

    def reconcile(snapshot, key, now: float) -> Result:
        sched = schedulers.get(key[2])
        if sched is None:
            return Result()
        queue = sorted((p for p in snapshot.pods_on_node("")
                        if _pending(p) and _sched.pick_scheduler(p, schedulers) is sched), key=_queue_order)
        if not queue:
            return Result()
        before = cache.infos(snapshot)
        decisions, after = _sched.schedule_many(queue, before, sched,
                                                cursors.setdefault(sched.name, _sched.Cursor()),
                                                memos.setdefault(sched.name, {}), in_order=True)
        cache.assume(b for a, b in zip(before, after) if a is not b)
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
        cache.saw(event)
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

    reconcile.node_cache = cache     # for tests: the kept view must equal one computed afresh

    def observe(event, snapshot):
        cache.saw(event)
        return []

    return Rule("scheduler", reconcile, watches={"Node": wake, "Pod": wake, "*": observe}, priority=30)


class _NodeCache:
    """The scheduler's view of the nodes (kube-scheduler's cache): a NodeInfo per node, by name.

    A memo of a pure function of the snapshot, kept up to date as kube-scheduler
    keeps its cache: the rule's watches feed it every event, and a pod bound,
    finished or deleted adds or removes its requests on its node. When a
    snapshot is the one right after the events seen, the kept list is it; any
    other snapshot (a test's, say, or after a gap) gets every node summed again.
    """

    def __init__(self, sched):
        self._sched = sched
        self._names: list = []
        self._infos: list = []
        self._index: dict = {}
        self._assumed: dict = {}    # node name -> its info once the bindings just decided land
        self._seen = -1             # revision of the last event seen
        self._synced = False        # the list matches the snapshot at revision _seen

    def saw(self, event) -> None:
        if self._seen >= 0 and event.revision != self._seen + 1:
            self._synced = False    # a gap in the events: trust nothing
        self._seen = event.revision
        if not self._synced:
            return
        o, old = event.object, event.old
        if o.kind == "Pod":
            new = o if event.type != "DELETED" else None
            was, now = _counted(old), _counted(new)
            if was == now:
                return
            if was is not None:
                self._change(was, lambda info: info.remove_pod(old))
            if now is not None:
                self._change(now, lambda info: info.add_pod(new))
        elif o.kind == "Node":
            i = self._index.get(o.name)
            if old is None or event.type == "DELETED" or i is None:
                self._synced = False        # the set of nodes changed
                return
            info = self._infos[i]
            self._infos[i] = replace(self._sched.NodeInfo.from_node(o), requested=info.requested,
                                     non_zero_requested=info.non_zero_requested)

    def assume(self, infos) -> None:
        """The node infos the scheduler computed for its bindings (kube-scheduler's assumed
        pods): when the events bring a node to an equal info, that very object is kept, so
        verdicts remembered for it stay valid."""
        for info in infos:
            self._assumed[info.name] = info
        if len(self._assumed) > 4 * len(self._names) + 64:
            self._assumed.clear()

    def _change(self, node: str, how) -> None:
        i = self._index.get(node)
        if i is None:
            self._synced = False            # a pod on a node we do not know: sum again
            return
        info = how(self._infos[i])
        assumed = self._assumed.get(node)
        if assumed is not None and assumed == info:
            info = assumed
            del self._assumed[node]
        self._infos[i] = info

    def infos(self, snapshot) -> list:
        """NodeInfo for every node, in name order."""
        if self._synced and snapshot.revision == self._seen:
            return self._infos
        nodes = snapshot.objects.get("Node")
        if not nodes:
            return []
        names = [name for _, name in sorted(nodes)]
        from_node = self._sched.NodeInfo.from_node
        self._names, self._index = names, {name: i for i, name in enumerate(names)}
        self._infos = [from_node(nodes[(None, name)], snapshot.pods_on_node(name)) for name in names]
        self._synced = snapshot.revision == self._seen
        return self._infos


def _counted(pod) -> str | None:
    """The node whose resources the pod holds (bound, not finished), else None."""
    if pod is None:
        return None
    node = pod.spec.get("nodeName")
    return node if node and not _finished(pod) else None
