"""The scheduler's plugins: filters and scores, each ported from kube-scheduler's
``pkg/scheduler/framework/plugins``.

A filter is ``(pod, requests, node_info) -> None | reason | reasons``; a
score is ``(pod, requests, node_info) -> 0..100``. Each built-in plugin says
what it reads of a pod (``reads``), so :mod:`reconcile.scheduler.framework` can judge
a node once per pod shape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Mapping

from reconcile.api import labels as _labels
from reconcile.api.model import EMPTY_MAP
from reconcile.scheduler.nodeinfo import NodeInfo, PodRequests

__all__ = ["tolerates_taint", "node_unschedulable", "taint_toleration", "node_selector", "fit_resources",
           "least_allocated", "balanced_allocation", "DEFAULT_FILTERS", "DEFAULT_SCORES",
           "MAX_NODE_SCORE", "REASON_UNSCHEDULABLE", "REASON_NODE_AFFINITY"]

MAX_NODE_SCORE = 100
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
_UNSCHEDULABLE_TAINT = EMPTY_MAP.update({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})


# ------------------------------------------------------------------ filters

def tolerates_taint(toleration: Mapping, taint: Mapping) -> bool:
    """Kubernetes' ``Toleration.ToleratesTaint``: an empty effect matches every
    effect, an empty key every key; ``Exists`` matches every value, ``Equal``
    (the default) the same value; ``Gt``/``Lt`` (an alpha gate, off) nothing.

    >>> tolerates_taint({"operator": "Exists"}, {"key": "gpu", "value": "x", "effect": "NoExecute"})
    True
    """
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return op == "Exists"


def _tolerated(tolerations, taint) -> bool:
    return any(tolerates_taint(t, taint) for t in tolerations or ())


def node_unschedulable(pod, requests, node: NodeInfo) -> str | None:
    """NodeUnschedulable: a cordoned node takes only pods that tolerate
    ``node.kubernetes.io/unschedulable:NoSchedule``."""
    if node.unschedulable and not _tolerated(pod.spec.get("tolerations"), _UNSCHEDULABLE_TAINT):
        return REASON_UNSCHEDULABLE
    return None


def taint_toleration(pod, requests, node: NodeInfo) -> str | None:
    """TaintToleration: every ``NoSchedule`` and ``NoExecute`` taint must be
    tolerated (not ``PreferNoSchedule``); the reason names the first that is not."""
    if not node.taints:
        return None
    tolerations = pod.spec.get("tolerations")
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerated(tolerations, taint):
            return f"node(s) had untolerated taint {{{taint.get('key') or ''}: {taint.get('value') or ''}}}"
    return None


_NODE_SELECTOR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!", "Gt": "gt", "Lt": "lt"}


def _term(term: Mapping) -> Callable[[NodeInfo], bool] | None:
    """One nodeSelectorTerm as a predicate; None when it matches no node (empty or invalid)."""
    exprs, fields = term.get("matchExpressions") or (), term.get("matchFields") or ()
    if not exprs and not fields:
        return None
    try:
        selector = _labels.Selector([_labels.Requirement(e.get("key") or "", _NODE_SELECTOR_OPS[e.get("operator")],
                                                         tuple(e.get("values") or ())) for e in exprs])
        names = []
        for f in fields:
            values = tuple(f.get("values") or ())
            if f.get("key") != "metadata.name" or f.get("operator") not in ("In", "NotIn") or len(values) != 1:
                return None
            names.append((values[0], f.get("operator") == "In"))
    except (KeyError, TypeError, ValueError):
        return None
    return lambda node: selector.matches(node.labels) and all((node.name == v) is want for v, want in names)


def _placement(spec: Mapping) -> tuple | None:
    """The pod's ``(nodeSelector items, required terms or None)``; None when it has neither."""
    node_selector, affinity = spec.get("nodeSelector"), spec.get("affinity")
    if node_selector is None and affinity is None:
        return None
    return _placement_of(node_selector, affinity)


@lru_cache(maxsize=1024)
def _placement_of(node_selector, affinity) -> tuple | None:
    selector = tuple((node_selector or EMPTY_MAP).items())
    node_affinity = (affinity or EMPTY_MAP).get("nodeAffinity") or EMPTY_MAP
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if required is not None:
        required = tuple(t for t in map(_term, required.get("nodeSelectorTerms") or ()) if t is not None)
    return (selector, required) if selector or required is not None else None


def node_selector(pod, requests, node: NodeInfo) -> str | None:
    """NodeAffinity's filter: the node has every ``spec.nodeSelector`` label, and
    one of the required nodeSelectorTerms (if any) matches: its matchExpressions
    (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``, ``Gt``, ``Lt``) and
    matchFields (``metadata.name``). An empty or invalid term matches no node."""
    placement = _placement(pod.spec)
    if placement is None:
        return None
    selector, required = placement
    labels = node.labels
    for k, v in selector:
        if labels.get(k) != v:
            return REASON_NODE_AFFINITY
    if required is not None and not any(t(node) for t in required):
        return REASON_NODE_AFFINITY
    return None


def fit_resources(pod, requests: PodRequests, node: NodeInfo) -> tuple[str, ...] | None:
    """NodeResourcesFit's filter: room for the pod and its cpu and memory
    requests; each resource that falls short is a reason."""
    alloc, used = node.allocatable, node.requested
    reasons: tuple[str, ...] = ("Too many pods",) if used[2] + 1 > alloc[2] else ()
    cpu, mem = requests[0], requests[1]
    if cpu == 0 and mem == 0:
        return reasons or None
    if alloc[0] < cpu + used[0]:
        reasons += ("Insufficient cpu",)
    if alloc[1] < mem + used[1]:
        reasons += ("Insufficient memory",)
    return reasons or None


# ------------------------------------------------------------------ scores

def least_allocated(pod, requests: PodRequests, node: NodeInfo) -> int:
    """NodeResourcesFit's LeastAllocated score: the mean share of cpu and of
    memory left free after the pod, counting missing requests as 100m/200Mi."""
    (a_cpu, a_mem, _), used = node.allocatable, node.non_zero_requested
    cpu, mem = used[0] + requests[3], used[1] + requests[4]
    return ((0 if cpu > a_cpu or not a_cpu else (a_cpu - cpu) * MAX_NODE_SCORE // a_cpu)
            + (0 if mem > a_mem or not a_mem else (a_mem - mem) * MAX_NODE_SCORE // a_mem)) // 2


def balanced_allocation(pod, requests: PodRequests, node: NodeInfo) -> int:
    """NodeResourcesBalancedAllocation: ``(1 - |cpu share - memory share| / 2) * 100``
    after the pod, by real requests; 0 for a best-effort pod (Kubernetes skips it)."""
    cpu, mem = requests[0], requests[1]
    if cpu == 0 and mem == 0:
        return 0
    (a_cpu, a_mem, _), used = node.allocatable, node.requested
    if not (a_cpu and a_mem):        # a resource the node lacks is left out; one share has no spread
        return MAX_NODE_SCORE
    f_cpu, f_mem = (used[0] + cpu) / a_cpu, (used[1] + mem) / a_mem
    std = abs(((f_cpu if f_cpu < 1.0 else 1.0) - (f_mem if f_mem < 1.0 else 1.0)) / 2)
    return int((1 - std) * MAX_NODE_SCORE)


# What each plugin reads of a pod: "requests" (its PodRequests) and the spec fields named.
# Two pods alike in all that a scheduler's plugins read get the same verdict from an
# unchanged node, so a scheduler whose plugins all say what they read judges each node
# once per such shape; a plugin that says only ``shape_only = True`` reads the pod's
# namespace, labels and spec; a plugin that says neither makes every pod be judged afresh.
for _plugin, _reads in ((fit_resources, ("requests",)), (least_allocated, ("requests",)),
                        (balanced_allocation, ("requests",)), (node_selector, ("nodeSelector", "affinity")),
                        (node_unschedulable, ("tolerations",)), (taint_toleration, ("tolerations",))):
    _plugin.shape_only = True
    _plugin.reads = _reads

DEFAULT_FILTERS = (node_unschedulable, taint_toleration, node_selector, fit_resources)
DEFAULT_SCORES = ((least_allocated, 1), (balanced_allocation, 1))
