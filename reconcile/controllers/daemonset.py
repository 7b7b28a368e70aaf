"""The DaemonSet controller: one pod on every node that should run one.

Kubernetes semantics (``pkg/controller/daemon``): a node should run the
daemon pod when it matches the template's ``nodeName``, ``nodeSelector`` and
required node affinity and every ``NoSchedule``/``NoExecute`` taint on it is
tolerated; a pod already there keeps running unless the node stops matching
or gets a ``NoExecute`` taint it does not tolerate. Daemon pods get
Kubernetes' automatic tolerations (``not-ready`` and ``unreachable``
NoExecute; ``disk-pressure``, ``memory-pressure``, ``pid-pressure``,
``unschedulable`` and, with ``hostNetwork``, ``network-unavailable``
NoSchedule). Each pod is made for one node with the required node affinity
``matchFields metadata.name In [node]`` and left to the scheduler (as
Kubernetes does since 1.12).

On each node: a missing pod is created; of several, all but the oldest are
deleted; a Failed or Succeeded pod is deleted (and made again on the next
pass); pods on a node that should no longer run one are deleted, and so are
unscheduled pods meant for a node that is gone. Pods carry the template's
hash in ``controller-revision-hash``; ``RollingUpdate`` replaces old pods
within ``maxUnavailable`` (default 1), or with ``maxSurge`` a new pod first;
``OnDelete`` replaces a pod only when someone deletes it. The status counts
``desiredNumberScheduled``, ``currentNumberScheduled``,
``numberMisscheduled``, ``numberReady``, ``numberAvailable``,
``numberUnavailable`` and ``updatedNumberScheduled``.

Left out: ControllerRevision objects (the hash is of the template itself,
so ``kubectl rollout undo`` of a DaemonSet is not modelled), and the back-off
Kubernetes keeps in memory between deletions of failed pods on a node.
"""

from __future__ import annotations

from pyrsistent import pvector

from reconcile.controllers import workloads as _pods
from reconcile.api.memo import IdentityMemo
from reconcile.engine.actions import Create, Delete, Emit, Result, Update, UpdateStatus
from reconcile.controllers.workloads import (
    claim_pods, fresh_pod_names, with_owner, without_owner, workload_selector,
)
from reconcile.controllers.deployment import template_hash
from reconcile.controllers.replicaset import orphans_wake_matching
from reconcile.engine import Rule
from reconcile.api.model import EMPTY_MAP, freeze, pod_from_template
from reconcile.api.quantity import scaled_value_from_int_or_percent
from reconcile.controllers.rollout import rolling
from reconcile.scheduler import NodeInfo, node_selector, tolerates_taint

__all__ = ["reconcile_daemonset", "RULE", "HASH_LABEL", "DAEMON_TOLERATIONS", "node_should_run",
           "daemon_template", "target_node"]

HASH_LABEL = "controller-revision-hash"
BURST = 250          # the controller's burstReplicas: creations (and deletions) per sync
DAEMON_TOLERATIONS = tuple(freeze({"key": key, "operator": "Exists", "effect": effect}) for key, effect in (
    ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")))
_NETWORK_UNAVAILABLE = freeze({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                               "effect": "NoSchedule"})
_SELECTING_ALL = "This daemon set is selecting all pods. A non-empty selector is required."
_MISMATCH = "spec.selector does not match the template's labels: no pod would be kept"


# ---------------------------------------------------------------- the daemon pod

def daemon_template(template, hash_: str):
    """``CreatePodTemplate``: the template with the daemon tolerations (each added unless the same
    one is there) and the ``controller-revision-hash`` label."""
    return _TEMPLATES.get(lambda: _daemon_template(template, hash_), template)


_TEMPLATES = IdentityMemo()
_HASHES = IdentityMemo()


def _daemon_template(template, hash_: str):
    meta = template.get("metadata") or EMPTY_MAP
    spec = template.get("spec") or EMPTY_MAP
    tolerations = list(spec.get("tolerations") or ())
    wanted = DAEMON_TOLERATIONS + ((_NETWORK_UNAVAILABLE,) if spec.get("hostNetwork") else ())
    for t in wanted:
        if not any(_same_toleration(t, have) for have in tolerations):
            tolerations.append(t)
    labels = (meta.get("labels") or EMPTY_MAP).set(HASH_LABEL, hash_)
    return template.set("metadata", meta.set("labels", labels)).set(
        "spec", spec.set("tolerations", pvector(tolerations)))


def _same_toleration(a, b) -> bool:
    """``Toleration.MatchToleration``: same key, operator, value and effect."""
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "operator", "value", "effect"))


def _pinned(template, node: str):
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: the required node affinity becomes exactly
    ``matchFields metadata.name In [node]`` (the template's own terms were checked already)."""
    spec = template["spec"]
    affinity = spec.get("affinity") or EMPTY_MAP
    required = freeze({"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]})
    node_affinity = (affinity.get("nodeAffinity") or EMPTY_MAP).set(
        "requiredDuringSchedulingIgnoredDuringExecution", required)
    return template.set("spec", spec.set("affinity", affinity.set("nodeAffinity", node_affinity)))


def target_node(pod) -> str | None:
    """``GetTargetNodeName``: the node the pod is bound to, else the one its node affinity names."""
    name = pod.spec.get("nodeName")
    if name:
        return name
    required = ((pod.spec.get("affinity") or EMPTY_MAP).get("nodeAffinity") or EMPTY_MAP).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or EMPTY_MAP
    for term in required.get("nodeSelectorTerms") or ():
        for f in term.get("matchFields") or ():
            values = f.get("values") or ()
            if f.get("key") == "metadata.name" and f.get("operator") == "In":
                return values[0] if len(values) == 1 else None
    return None


def node_should_run(node, probe) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (whether ``node`` should run the daemon pod ``probe``, whether a
    pod already there should go on running).

    >>> from reconcile.api.model import Node, Pod
    >>> pod = Pod.new("p", spec={"nodeSelector": {"disk": "ssd"}, "tolerations": list(DAEMON_TOLERATIONS)})
    >>> node_should_run(Node.new("n", labels={"disk": "ssd"}), pod), node_should_run(Node.new("n"), pod)
    ((True, True), (False, False))
    >>> tainted = Node.new("n", labels={"disk": "ssd"}, spec={"taints": [{"key": "gpu", "effect": "NoSchedule"}]})
    >>> node_should_run(tainted, pod)
    (False, True)
    """
    wanted = probe.spec.get("nodeName")
    if wanted and wanted != node.name:
        return False, False
    if node_selector(probe, None, NodeInfo(node.name, node.metadata.labels)) is not None:
        return False, False
    tolerations = probe.spec.get("tolerations") or ()
    untolerated = [t for t in node.spec.get("taints") or () if t.get("effect") in ("NoSchedule", "NoExecute")
                   and not any(tolerates_taint(tol, t) for tol in tolerations)]
    if untolerated:
        return False, not any(t.get("effect") == "NoExecute" for t in untolerated)
    return True, True


def _oldest_first(pod) -> tuple:
    """``podByCreationTimestampAndPhase``: scheduled pods first, then the older, then by name."""
    return (not pod.spec.get("nodeName"), pod.metadata.creationTimestamp or 0.0, pod.name)


# ---------------------------------------------------------------- the controller

class _Plan:
    """One sync's view: the nodes (by name) with their verdicts, the daemon pods by target node,
    and the pods to create (by node) and delete decided so far."""

    def __init__(self, ds, nodes, pods, hash_: str, probe):
        self.ds, self.hash = ds, hash_
        self.verdicts = {n.name: node_should_run(n, probe) for n in nodes}
        self.by_node: dict = {}
        for p in pods:
            if p.metadata.deletionTimestamp is not None and p.status.get("phase") in ("Succeeded", "Failed"):
                continue
            node = target_node(p)
            if node is not None:
                self.by_node.setdefault(node, []).append(p)
        for group in self.by_node.values():
            group.sort(key=_oldest_first)
        self.create: list = []
        self.delete: list = []
        self.events: list = []

    def updated(self, pod) -> bool:
        return pod.metadata.labels.get(HASH_LABEL) == self.hash


def _surge(ds, desired: int) -> int:
    ru = rolling(ds, "updateStrategy")
    return 0 if ru is None or ru.get("maxSurge") is None else scaled_value_from_int_or_percent(
        ru["maxSurge"], desired, True)


def _manage(plan: _Plan, now: float) -> None:
    """``manage``/``podsShouldBeOnNode``, node by node."""
    ds, surge = plan.ds, _surge(plan.ds, 1) > 0
    min_ready = ds.spec.get("minReadySeconds") or 0
    for node, (run, keep) in plan.verdicts.items():
        pods = plan.by_node.get(node)
        if run and not pods:
            plan.create.append(node)
        elif keep:
            running = []
            for p in pods or ():
                phase = p.status.get("phase")
                if p.metadata.deletionTimestamp is not None:
                    continue
                if phase in ("Failed", "Succeeded"):
                    word, kind = ("failed", "Warning") if phase == "Failed" else ("succeeded", "Normal")
                    plan.delete.append(p)
                    plan.events.append(Emit(kind, f"{phase}DaemonPod", f"Found {word} daemon pod "
                                            f"{p.metadata.namespace}/{p.name} on node {node}, will try to "
                                            f"{'kill' if phase == 'Failed' else 'delete'} it", ds.key))
                else:
                    running.append(p)
            if not surge:
                plan.delete.extend(running[1:])         # keep the oldest
            elif not running:
                if run:
                    plan.create.append(node)
            elif len(running) > 1:
                _prune_surged(plan, running, min_ready, now)
        elif pods:
            plan.delete.extend(p for p in pods if p.metadata.deletionTimestamp is None)
    for node, pods in sorted(plan.by_node.items()):     # unscheduled pods for nodes that are gone
        if node not in plan.verdicts:
            plan.delete.extend(p for p in pods if not p.spec.get("nodeName"))


def _prune_surged(plan: _Plan, running, min_ready: int, now: float) -> None:
    """With surge, two pods may share a node: the oldest new one and the oldest old one, while the
    new one is not yet available and the old one is ready. Everything else goes."""
    newest = oldest_old = None
    for p in running:
        if plan.updated(p) and newest is None:
            newest = p
        elif not plan.updated(p) and oldest_old is None:
            oldest_old = p
        else:
            plan.delete.append(p)
    if newest is not None and oldest_old is not None and (
            not _pods.is_ready(oldest_old) or _pods.is_pod_available(newest, min_ready, now)):
        plan.delete.append(oldest_old)


def _updated_pods_on_node(plan: _Plan, pods):
    """``findUpdatedPodsOnNode``: (the new pod, the old pod, True), or False when there are more."""
    new = old = None
    for p in pods:
        if p.metadata.deletionTimestamp is not None:
            continue
        if plan.updated(p):
            if new is not None:
                return None, None, False
            new = p
        else:
            if old is not None:
                return None, None, False
            old = p
    return new, old, True


def _rolling_update(plan: _Plan, now: float) -> None:
    """``rollingUpdate``: without surge, delete old pods while no more than ``maxUnavailable`` nodes
    lack an available pod (the manage pass makes the new ones); with surge, make a new pod next
    to an old one on up to ``maxSurge`` nodes and delete the old once the new is available."""
    ds = plan.ds
    desired = sum(1 for run, _ in plan.verdicts.values() if run)
    nodes = dict(plan.by_node)
    for node, (run, _) in plan.verdicts.items():
        if run:
            nodes.setdefault(node, [])
    ru = rolling(ds, "updateStrategy")
    limit = ru.get("maxUnavailable")
    max_unavailable = scaled_value_from_int_or_percent(1 if limit is None else limit, desired, True)
    max_surge = _surge(ds, desired)
    if desired > 0 and max_unavailable == 0 and max_surge == 0:
        max_unavailable = 1
    min_ready = ds.spec.get("minReadySeconds") or 0
    available = lambda p: _pods.is_pod_available(p, min_ready, now)     # noqa: E731
    if max_surge == 0:
        unavailable, replace, candidates = 0, [], []
        for node in sorted(nodes):
            new, old, ok = _updated_pods_on_node(plan, nodes[node])
            if not ok or (new is None) == (old is None):
                unavailable += 1        # the manage pass is still at work on this node
            elif new is not None:
                unavailable += not available(new)
            elif not available(old):
                replace.append(old)
            elif unavailable < max_unavailable:
                candidates.append(old)
        plan.delete.extend(replace + candidates[:max(0, min(max_unavailable - unavailable, len(candidates)))])
        return
    surged, allowed, candidates = 0, [], []
    for node in sorted(nodes):
        new, old, ok = _updated_pods_on_node(plan, nodes[node])
        if not ok:
            surged += 1
        elif old is None:
            continue
        elif new is None:
            if not available(old):
                allowed.append(node)
            elif surged < max_surge:
                candidates.append(node)
        elif not available(new):
            surged += 1
        else:
            plan.delete.append(old)
    plan.create.extend(allowed + candidates[:max(0, min(max_surge - surged, len(candidates)))])


def _status(plan: _Plan, now: float) -> dict:
    """``updateDaemonSetStatus``: counted on each node's oldest daemon pod."""
    ds = plan.ds
    min_ready = ds.spec.get("minReadySeconds") or 0
    desired = current = misscheduled = ready = available = updated = 0
    for node, (run, _) in plan.verdicts.items():
        pods = plan.by_node.get(node)
        if not run:
            misscheduled += bool(pods)
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        oldest = pods[0]
        if _pods.is_ready(oldest):
            ready += 1
            available += _pods.is_pod_available(oldest, min_ready, now)
        updated += plan.updated(oldest)
    return {"desiredNumberScheduled": desired, "currentNumberScheduled": current,
            "numberMisscheduled": misscheduled, "numberReady": ready, "numberAvailable": available,
            "numberUnavailable": desired - available, "updatedNumberScheduled": updated,
            "observedGeneration": ds.metadata.generation}


def reconcile_daemonset(snapshot, key, now: float) -> Result:
    _, ns, name = key
    ds = snapshot.get("DaemonSet", name, ns)
    if ds is None or ds.metadata.deletionTimestamp is not None:
        return Result()
    selector = workload_selector(ds)
    if selector.is_empty():
        return Result((Emit("Warning", "SelectingAll", _SELECTING_ALL, ds.key),))
    template = ds.spec.get("template") or EMPTY_MAP
    if not selector.matches((template.get("metadata") or EMPTY_MAP).get("labels") or EMPTY_MAP):
        # Kubernetes' validation refuses this DaemonSet; its pods would be released as soon as made
        return Result((Emit("Warning", "SelectorMismatch", _MISMATCH, ds.key),))
    pods, adopt, release = claim_pods(snapshot, ds, selector.matches)
    if adopt or release:        # claim first; the pods' changes bring the DaemonSet back
        return Result(tuple([Update(without_owner(p, ds.metadata.uid)) for p in release]
                            + [Update(with_owner(p, ds)) for p in adopt]))
    hash_ = _HASHES.get(lambda: template_hash(template), template)
    daemon = daemon_template(template, hash_)
    plan = _Plan(ds, snapshot.list("Node"), pods, hash_, pod_from_template(daemon, "probe", ns))
    _manage(plan, now)
    if not plan.create and not plan.delete and rolling(ds, "updateStrategy") is not None:
        _rolling_update(plan, now)
    actions: list = list(plan.events)
    names = fresh_pod_names(snapshot, ds, len(pods))
    for node in plan.create[:BURST]:
        actions.append(Create(pod_from_template(_pinned(daemon, node), next(names), ns, owner=ds)))
    actions.extend(Delete("Pod", p.name, ns) for p in plan.delete[:BURST])
    status = _status(plan, now)
    if any(ds.status.get(k) != v for k, v in status.items()):
        actions.append(UpdateStatus(ds.set(status=ds.status.update(status))))
    min_ready = ds.spec.get("minReadySeconds") or 0
    requeue = float(min_ready) if min_ready and status["numberReady"] != status["numberAvailable"] else None
    return Result(tuple(actions), requeue)


def _nodes_to_daemonsets(event, snapshot):
    """A node added, removed, or changed in its labels or spec (taints, unschedulable) wakes every
    DaemonSet; a change of its status alone (conditions, addresses) does not."""
    node, old = event.object, event.old
    if event.type == "MODIFIED" and old is not None and old.metadata.labels == node.metadata.labels \
            and old.spec == node.spec:
        return []
    return [ds.key for ds in snapshot.list("DaemonSet")]


RULE = Rule("daemonset-controller", reconcile_daemonset, primary="DaemonSet", owns=("Pod",),
            watches={"Pod": orphans_wake_matching("DaemonSet"), "Node": _nodes_to_daemonsets}, priority=20,
            status_wakes=False)
