"""The scheduler: a pure function from a pending pod and the nodes to a binding or a reason.

Filters (Kubernetes' plugins): resources fit (cpu, memory, pods), node
selector, unschedulable (cordoned) nodes, taints and tolerations. Scores:
least allocated and balanced allocation. Ties go to the first node by name
(Kubernetes picks one of the best at random; a simulator must not).

>>> from reconcile.model import Node, Pod
>>> n = Node.new("n1", status={"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}})
>>> p = Pod.new("p", "default", spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]})
>>> Scheduler().schedule(p, [NodeInfo.from_node(n, [])]).reason
'0/1 nodes are available: 1 Insufficient cpu.'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from reconcile.quantity import Quantity

__all__ = ["NodeInfo", "Binding", "Unschedulable", "Scheduler", "pick_scheduler", "pod_requests",
           "fit_resources", "node_selector", "node_unschedulable", "taint_toleration",
           "least_allocated", "balanced_allocation", "DEFAULT_FILTERS", "DEFAULT_SCORES"]

_DEFAULT_CPU, _DEFAULT_MEM = 100, 200 * 1024 * 1024     # non-zero defaults used for scoring only


def _q(v, milli=False) -> int:
    if v is None:
        return 0
    q = Quantity(str(v))
    return q.milli_value() if milli else q.value_int()


def pod_requests(pod) -> tuple[int, int, int]:
    """(milli-cpu, memory bytes, 1): the pod's requests as Kubernetes computes them."""
    def total(containers):
        cpu = mem = 0
        for c in containers or ():
            r = (c.get("resources") or {}).get("requests") or {}
            cpu += _q(r.get("cpu"), True)
            mem += _q(r.get("memory"))
        return cpu, mem
    cpu, mem = total(pod.spec.get("containers"))
    for c in pod.spec.get("initContainers") or ():
        icpu, imem = total([c])
        cpu, mem = max(cpu, icpu), max(mem, imem)
    return cpu, mem, 1


@dataclass(frozen=True)
class NodeInfo:
    name: str
    labels: Mapping
    allocatable: tuple          # (milli-cpu, memory, pods)
    requested: tuple = (0, 0, 0)
    taints: tuple = ()
    unschedulable: bool = False

    @classmethod
    def from_node(cls, node, pods_on_node: Sequence = ()) -> "NodeInfo":
        a = node.status.get("allocatable") or node.status.get("capacity") or {}
        req = [0, 0, 0]
        for p in pods_on_node:
            if p.status.get("phase") in ("Succeeded", "Failed"):
                continue
            r = pod_requests(p)
            req = [req[0] + r[0], req[1] + r[1], req[2] + r[2]]
        return cls(node.name, node.metadata.labels,
                   (_q(a.get("cpu"), True), _q(a.get("memory")), _q(a.get("pods")) or 110),
                   tuple(req), tuple(node.spec.get("taints") or ()), bool(node.spec.get("unschedulable")))

    def add_pod(self, requests: tuple) -> "NodeInfo":
        r = self.requested
        return NodeInfo(self.name, self.labels, self.allocatable,
                        (r[0] + requests[0], r[1] + requests[1], r[2] + requests[2]),
                        self.taints, self.unschedulable)


@dataclass(frozen=True)
class Binding:
    node_name: str
    score: int = 0


@dataclass(frozen=True)
class Unschedulable:
    reason: str
    counts: dict = field(default_factory=dict)


def fit_resources(pod, req, node: NodeInfo):
    reasons = []
    if node.requested[2] + 1 > node.allocatable[2]:
        reasons.append("Too many pods")
    if req[0] and node.requested[0] + req[0] > node.allocatable[0]:
        reasons.append("Insufficient cpu")
    if req[1] and node.requested[1] + req[1] > node.allocatable[1]:
        reasons.append("Insufficient memory")
    return reasons


def node_selector(pod, req, node: NodeInfo):
    sel = pod.spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in sel.items()):
        return ["node(s) didn't match Pod's node affinity/selector"]
    return []


def _tolerates(pod, taint) -> bool:
    for t in pod.spec.get("tolerations") or ():
        op = t.get("operator", "Equal")
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def node_unschedulable(pod, req, node: NodeInfo):
    if node.unschedulable and not _tolerates(pod, {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
        return ["node(s) were unschedulable"]
    return []


def taint_toleration(pod, req, node: NodeInfo):
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, taint):
            value = taint.get("value")
            shown = f"{{{taint.get('key')}: {value}}}" if value else f"{{{taint.get('key')}: }}"
            return [f"node(s) had untolerated taint {shown}"]
    return []


def _score_req(req):
    return (req[0] or _DEFAULT_CPU, req[1] or _DEFAULT_MEM)


def least_allocated(pod, req, node: NodeInfo) -> int:
    cpu, mem = _score_req(req)
    parts = []
    for used, want, cap in ((node.requested[0], cpu, node.allocatable[0]), (node.requested[1], mem, node.allocatable[1])):
        parts.append(0 if cap == 0 or used + want > cap else (cap - used - want) * 100 // cap)
    return sum(parts) // len(parts)


def balanced_allocation(pod, req, node: NodeInfo) -> int:
    cpu, mem = _score_req(req)
    fr = [min(1.0, (node.requested[0] + cpu) / node.allocatable[0]) if node.allocatable[0] else 1.0,
          min(1.0, (node.requested[1] + mem) / node.allocatable[1]) if node.allocatable[1] else 1.0]
    mean = sum(fr) / 2
    std = (sum((f - mean) ** 2 for f in fr) / 2) ** 0.5
    return int((1 - std) * 100)


DEFAULT_FILTERS = (node_unschedulable, node_selector, taint_toleration, fit_resources)
DEFAULT_SCORES = ((least_allocated, 1), (balanced_allocation, 1))


class Scheduler:
    def __init__(self, filters: Sequence[Callable] = DEFAULT_FILTERS, scores=DEFAULT_SCORES,
                 name: str = "default-scheduler"):
        self.filters = tuple(filters)
        self.scores = tuple(scores)
        self.name = name

    def schedule(self, pod, nodes: Sequence[NodeInfo], req: tuple | None = None):
        req = req or pod_requests(pod)
        best, best_score, counts = None, -1, {}
        for node in sorted(nodes, key=lambda n: n.name):
            reasons = []
            for f in self.filters:
                reasons = f(pod, req, node)
                if reasons:
                    break
            if reasons:
                for r in reasons:
                    counts[r] = counts.get(r, 0) + 1
                continue
            score = sum(fn(pod, req, node) * w for fn, w in self.scores)
            if score > best_score:
                best, best_score = node, score
        if best is not None:
            return Binding(best.name, best_score)
        detail = ", ".join(f"{n} {r}" for r, n in sorted(counts.items(), key=lambda x: x[0]))
        return Unschedulable(f"0/{len(nodes)} nodes are available" + (f": {detail}." if detail else "."), counts)


def pick_scheduler(pod, schedulers: Mapping[str, Scheduler]) -> Scheduler | None:
    return schedulers.get(pod.spec.get("schedulerName") or "default-scheduler")
