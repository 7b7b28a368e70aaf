"""The scheduler as a rule: bind the pending pods to nodes, or say why they cannot be.

The deciding is :mod:`reconcile.scheduler` (a pure function of the pods and
the nodes); this rule feeds it the snapshot and turns its answers into
``Bind`` actions or ``PodScheduled=False`` conditions with Kubernetes'
message ("0/3 nodes are available: ..."). Like kube-scheduler, one
scheduler takes its queue in order (higher ``spec.priority`` first, then
older first) and each pod sees the bindings made before it; its key is
:func:`scheduler_key`, so a burst of new pods is scheduled in one pass.

Which pods a pass takes is kube-scheduler's scheduling queue
(``pkg/scheduler/backend/queue/scheduling_queue.go``), kept from the events:
a new pod, or one updated in more than its status (``isPodUpdated``), is
*active*; a pod no node fits waits among the *unschedulable* until the
cluster changes in a way that can make room (a Node added, changed or
removed, a pod that held resources gone or finished:
``MoveAllToActiveOrBackoffQueue``); a pod the scheduler raised on
(``SchedulerError``) waits out a back-off of 1 s doubling to 10 s
(``podInitialBackoffDuration``, ``podMaxBackoffDuration``) while the others
are scheduled. So a pass costs the pods it tries, not every pending pod: a
ReplicaSet that adds 500 pods at a time to 40,000 pending ones costs each
pod one try, not one per burst. A snapshot the queue did not follow (a
test's, or after a gap in the events) gets a pass over every pending pod.
"""

from __future__ import annotations

from dataclasses import replace

from reconcile.api.conditions import set_condition
from reconcile.api.defaults import DEFAULT_SCHEDULER
from reconcile.engine import Bind, Emit, Result, Rule, UpdateStatus
from reconcile.scheduler import framework as _sched

__all__ = ["scheduling_rule", "scheduler_key"]

KIND = "Scheduler"     # the kind in a scheduler's work-queue key (not an object kind)
POD_INITIAL_BACKOFF = 1.0       # kube-scheduler's podInitialBackoffDuration...
POD_MAX_BACKOFF = 10.0          # ...doubling to podMaxBackoffDuration


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


def _updated(old, new) -> bool:
    """kube-scheduler's ``isPodUpdated``: the pod changed in more than its status, resourceVersion,
    generation and finalizers, so it may have become schedulable."""
    if new.spec is not old.spec and new.spec != old.spec:
        return True
    m, o = new.metadata, old.metadata
    return ((m.labels is not o.labels and m.labels != o.labels)
            or (m.annotations is not o.annotations and m.annotations != o.annotations)
            or (m.ownerReferences is not o.ownerReferences and m.ownerReferences != o.ownerReferences))


def _scheduler_name(pod) -> str:
    return pod.spec.get("schedulerName") or DEFAULT_SCHEDULER


def _failed(error: Exception):
    return _sched.Failed(f"{type(error).__name__}: {str(error)[:500]}", error)


def _carry_out(pod, decision, now: float, actions: list) -> tuple:
    """The actions for one pod's decision (appended to ``actions``); returns its outcome for the
    queue: ``(pod, "bind" | "unschedulable" | "failed", the conditions written or None)``."""
    ns, name = pod.metadata.namespace, pod.metadata.name
    if isinstance(decision, _sched.Binding):
        actions.append(Bind(ns, name, decision.node_name))
        actions.append(Emit("Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {decision.node_name}",
                            pod.key))
        return pod, "bind", None
    # kube-scheduler's handleSchedulingFailure: PodScheduled=False, reason Unschedulable for a
    # FitError, SchedulerError for any other error, and a FailedScheduling event
    outcome, reason = ("unschedulable", "Unschedulable") if isinstance(decision, _sched.Unschedulable) \
        else ("failed", "SchedulerError")
    try:
        conds = set_condition(pod.status.get("conditions"), "PodScheduled", "False", now, reason, decision.reason)
        if conds == pod.status.get("conditions"):
            return pod, outcome, None
        status = pod.status.update({"phase": "Pending", "conditions": conds})
    except Exception:       # conditions that cannot be set (malformed): the event still says why
        actions.append(Emit("Warning", "FailedScheduling", decision.reason, pod.key))
        return pod, outcome, None
    actions.append(UpdateStatus(pod.set(status=status)))
    actions.append(Emit("Warning", "FailedScheduling", decision.reason, pod.key))
    return pod, outcome, conds


def scheduling_rule(schedulers=None) -> Rule:
    if schedulers is None:
        default = _sched.Scheduler()
        schedulers = {default.name: default}

    cache = _NodeCache(_sched)
    queue = _PodQueue(schedulers)
    # kube-scheduler's nextStartNodeIndex, one per scheduler: where the next search starts, so that
    # large clusters are searched a slice at a time (deterministic: it follows the engine's order)
    cursors: dict = {}
    memos: dict = {}     # scheduler name -> its verdict memos (see schedule_many)

    def reconcile(snapshot, key, now: float) -> Result:
        name = key[2]
        sched = schedulers.get(name)
        if sched is None:
            return Result()
        follows = queue.follows(snapshot)
        if follows and name in queue.fresh:
            pods = queue.take(name, snapshot, now)
        else:       # every pending pod of this scheduler (and, if the queue follows, it starts afresh)
            pods = [p for p in snapshot.pods_on_node("") if _pending(p) and _scheduler_name(p) == name]
            if follows:
                pods = queue.restart(name, pods, now)
        ordered, decided = [], []
        for pod in pods:
            try:
                ordered.append((_queue_order(pod), pod))
            except Exception as e:      # a priority that is not a number, say
                decided.append((pod, _failed(e)))
        ordered.sort(key=lambda op: op[0])
        if ordered:
            in_order = [pod for _, pod in ordered]
            before = cache.infos(snapshot)
            decisions, after = _sched.schedule_many(in_order, before, sched,
                                                    cursors.setdefault(name, _sched.Cursor()),
                                                    memos.setdefault(name, {}), in_order=True)
            cache.assume(b for a, b in zip(before, after) if a is not b)
            decided[:0] = zip(in_order, decisions)
        actions: list = []
        outcomes: list = []
        for pod, decision in decided:
            outcomes.append(_carry_out(pod, decision, now, actions))
        return Result(tuple(actions), requeue_after=queue.settle(name, outcomes, now) if follows else None)

    def wake(event, snapshot):
        try:
            return queue.saw(event, cache)
        except Exception:           # the queue cannot be trusted: the next passes start afresh
            queue.lost()
            cache._synced = False
            return [scheduler_key(name) for name in schedulers]

    reconcile.node_cache = cache     # for tests: the kept view must equal one computed afresh
    reconcile.queue = queue          # for tests: what a pass takes

    def observe(event, snapshot):
        try:
            cache.saw(event)
            queue.seen(event)
        except Exception:
            queue.lost()
            cache._synced = False
            return [scheduler_key(name) for name in schedulers]
        return []

    return Rule("scheduler", reconcile, watches={"Node": wake, "Pod": wake, "*": observe}, priority=30)


class _PodQueue:
    """kube-scheduler's scheduling queue, one per scheduler name, kept from the store's events.

    ``active``: the pods the next pass tries (new, updated, or moved back), in arrival order;
    ``unschedulable``: tried, no node fits, waiting for the cluster to change; ``backoff``: the
    pods the scheduler raised on, by when they are tried again; ``errors``: how many times in a
    row it raised on each. ``written``: the last pass's outcomes, checked by the next pass (a
    binding or a condition whose batch failed is tried again, not lost; the events confirm
    the others). The queue *follows* a
    snapshot when it has seen every event up to that snapshot's revision; a scheduler is
    ``fresh`` when its queue was rebuilt from a whole pass since the events last had a gap.
    """

    def __init__(self, schedulers):
        self._names = tuple(schedulers)
        self.active: dict = {n: {} for n in self._names}
        self.unschedulable: dict = {n: {} for n in self._names}
        self.backoff: dict = {n: {} for n in self._names}
        self.errors: dict = {}
        self.written: dict = {n: {} for n in self._names}
        self.fresh: set = set()
        self._seen = -1             # revision of the last event seen

    # -- the events
    def follows(self, snapshot) -> bool:
        return snapshot.revision == self._seen

    def lost(self) -> None:
        self.fresh.clear()

    def seen(self, event) -> None:
        if self._seen >= 0 and event.revision != self._seen + 1:
            self.fresh.clear()      # a gap in the events: every scheduler starts afresh
        self._seen = event.revision

    def saw(self, event, cache) -> list:
        """Feed a Pod or Node event; the scheduler keys it wakes."""
        cache.saw(event)
        self.seen(event)
        o, old = event.object, event.old
        if o.kind == "Pod":
            name = _scheduler_name(o)
            if event.type == "DELETED" or not _pending(o):
                if old is None or _pending(old):
                    self.forget(o.key)      # (a pod bound before was forgotten then)
                    return []
                freed = old.spec.get("nodeName") and (
                    event.type == "DELETED" or o.metadata.deletionTimestamp is not None or _finished(o))
                return self.move_all() if freed else []
            if name not in self.active:
                return []           # no such scheduler: the pod stays pending
            if old is not None and _pending(old) and not _updated(old, o):
                # its status only (our own PodScheduled=False, say): where it is, it stays
                conds = self.written[name].get(o.key)
                if conds is not None and o.status.get("conditions") == conds:
                    self._confirmed(name, o.key)    # the condition the last pass wrote landed
                return [] if name in self.fresh else [scheduler_key(name)]
            if old is not None and _scheduler_name(old) != name:
                self.forget(o.key)
            if o.key not in self.backoff[name]:
                self.unschedulable[name].pop(o.key, None)
                self.active[name][o.key] = None
            return [scheduler_key(name)]
        return self.move_all()      # a Node added, changed or removed: room may have been made

    def forget(self, key) -> None:
        for name in self._names:
            self.active[name].pop(key, None)
            self.unschedulable[name].pop(key, None)
            self.backoff[name].pop(key, None)
            self._confirmed(name, key)
        self.errors.pop(key, None)

    def _confirmed(self, name: str, key) -> None:
        written = self.written[name]
        if written.pop(key, 0) != 0 and not written:
            self.written[name] = {}     # a new one: a dict emptied by pops keeps its size

    def move_all(self) -> list:
        """kube-scheduler's MoveAllToActiveOrBackoffQueue: every unschedulable pod is tried again."""
        woken = []
        for name in self._names:
            waiting = self.unschedulable[name]
            if waiting:
                self.active[name].update(waiting)
                waiting.clear()
            if self.active[name] or name not in self.fresh:
                woken.append(scheduler_key(name))
        return woken

    # -- the passes
    def take(self, name: str, snapshot, now: float) -> list:
        """The pods a pass of scheduler ``name`` tries: the active ones, those whose back-off is
        over, and those the last pass decided on whose writes did not land."""
        active = self.active[name]
        written = self.written[name]
        for key, conds in written.items() if written else ():   # not confirmed by the events: its batch failed
            pod = snapshot.get_key(key)
            if pod is not None and _pending(pod) and (conds is None or pod.status.get("conditions") != conds):
                self.unschedulable[name].pop(key, None)
                active[key] = None
        self.written[name] = {}
        backoff = self.backoff[name]
        for key in [k for k, until in backoff.items() if until <= now]:
            del backoff[key]
            active[key] = None
        keys = list(active)
        active.clear()
        pods = []
        for key in keys:
            pod = snapshot.get_key(key)
            if pod is not None and _pending(pod) and _scheduler_name(pod) == name:
                pods.append(pod)
        return pods

    def restart(self, name: str, pods: list, now: float) -> list:
        """A whole pass of scheduler ``name`` over ``pods`` (every pending one): its queue is
        rebuilt from it; the pods still in back-off wait."""
        backoff = self.backoff[name]
        self.active[name].clear()
        self.unschedulable[name].clear()
        self.written[name].clear()
        self.fresh.add(name)
        return [p for p in pods if backoff.get(p.key, now) <= now]

    def settle(self, name: str, outcomes: list, now: float) -> float | None:
        """Where each pod tried goes; returns when the next back-off ends (None: no pod waits)."""
        backoff, errors = self.backoff[name], self.errors
        written = self.written[name]
        for pod, outcome, conds in outcomes:
            key = pod.key
            if outcome == "failed":
                n = errors[key] = errors.get(key, 0) + 1
                backoff[key] = now + min(POD_INITIAL_BACKOFF * 2 ** min(n - 1, 16), POD_MAX_BACKOFF)
                continue
            errors.pop(key, None)
            backoff.pop(key, None)
            if outcome == "unschedulable":
                self.unschedulable[name][key] = None
                if conds is not None:
                    written[key] = conds
            else:
                written[key] = None
        if not backoff:
            return None
        return max(0.0, min(backoff.values()) - now)


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
