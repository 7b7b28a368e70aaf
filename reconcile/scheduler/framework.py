"""The scheduler: a pure function from a pending pod and the nodes to a binding or a reason.

kube-scheduler's default profile cut down to the plugins used here, each ported
from ``pkg/scheduler/framework/plugins`` (they live in
:mod:`reconcile.scheduler.plugins` and are re-exported here). Filters, in Kubernetes' order:
:func:`node_unschedulable`, :func:`taint_toleration`, :func:`node_selector`
(NodeAffinity), :func:`fit_resources` (NodeResourcesFit). Scores, weight 1 each:
:func:`least_allocated`, :func:`balanced_allocation`. A filter is ``(pod,
requests, node_info) -> None | reason | reasons`` and the first one that fails
gives a node's reasons; a score is ``(pod, requests, node_info) -> 0..100``;
the node with the highest weighted sum wins.

>>> from reconcile.api.model import Node, Pod
>>> small = Node.new("small", status={"allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"}})
>>> big = Node.new("big", status={"allocatable": {"cpu": "4", "memory": "4Gi", "pods": "10"}})
>>> nodes = [NodeInfo.from_node(small), NodeInfo.from_node(big)]
>>> def pod(cpu):
...     return Pod.new("p", spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]})
>>> Scheduler().schedule(pod("500m"), nodes)
Binding(node_name='big', score=184)
>>> Scheduler().schedule(pod("8"), nodes).reason
'0/2 nodes are available: 2 Insufficient cpu.'

Unlike kube-scheduler, on purpose: ties go to the node whose name sorts first
(Kubernetes picks one of the best at random); ``nextStartNodeIndex`` lives in a
:class:`Cursor` the caller owns (without one, every node is filtered); nodes
are filtered one at a time, so "stop after N feasible nodes" is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Mapping, Sequence

from reconcile.api.defaults import DEFAULT_SCHEDULER
from reconcile.scheduler.nodeinfo import NodeInfo, PodRequests, pod_requests
from reconcile.scheduler.plugins import (
    DEFAULT_FILTERS, DEFAULT_SCORES,
)

__all__ = ["Binding", "Unschedulable", "Failed", "Cursor", "Scheduler", "num_feasible_nodes_to_find",
           "pick_scheduler", "schedule_many"]

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODES_AVAILABLE = "no nodes available to schedule pods"
_MEMO_SHAPES = 8        # pod shapes whose verdicts schedule_many keeps



# ------------------------------------------------------------------ the scheduler

@dataclass(frozen=True, slots=True)
class Binding:
    """Bind the pod to ``node_name``; ``score`` is the node's weighted score."""

    node_name: str
    score: int = 0


@dataclass(frozen=True, slots=True)
class Unschedulable:
    """No node fits: Kubernetes' FitError message, and how many nodes gave each reason."""

    reason: str
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Failed:
    """Scheduling the pod raised (a plugin's bug, a malformed pod): kube-scheduler's ``SchedulerError``.
    ``reason`` says the error; the other pods are scheduled as if this one were not there."""

    reason: str
    error: BaseException | None = field(default=None, compare=False)


@dataclass(slots=True)
class Cursor:
    """kube-scheduler's ``nextStartNodeIndex``, the one mutable thing here, owned by
    the caller (one per node list): each search starts at it and moves it past
    the nodes it looked at, so pods spread over a large cluster."""

    next_start_node_index: int = 0


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many feasible nodes end a search (kube-scheduler's numFeasibleNodesToFind):
    all below 100 nodes, else ``percentage`` of them (0: ``50 - nodes/125``, at
    least 5), but at least 100.

    >>> [num_feasible_nodes_to_find(n) for n in (50, 100, 1000, 5000)]
    [50, 100, 420, 500]
    """
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def _fit_error(num_nodes: int, failures: list) -> Unschedulable:
    counts: dict[str, int] = {}
    for reasons in failures:
        for r in reasons:
            counts[r] = counts.get(r, 0) + 1
    histogram = sorted(f"{n} {r}" for r, n in counts.items())   # Go sorts the "3 reason" strings
    return Unschedulable(f"0/{num_nodes} nodes are available: {', '.join(histogram)}.", dict(sorted(counts.items())))


@dataclass(frozen=True)
class Scheduler:
    """One scheduler profile: filters, weighted scores (``(fn, weight)``, or a
    bare function for weight 1), the ``schedulerName`` it serves, and
    ``percentage_of_nodes_to_score`` (0: Kubernetes' adaptive default)."""

    filters: Sequence[Callable] = DEFAULT_FILTERS
    scores: Sequence = DEFAULT_SCORES
    name: str = DEFAULT_SCHEDULER
    percentage_of_nodes_to_score: int = 0
    shape_only: bool = field(init=False, repr=False, compare=False, default=False)
    reads: tuple | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        scores = tuple(s if isinstance(s, tuple) else (s, 1) for s in self.scores)
        plugins = list(chain(self.filters, (fn for fn, _ in scores)))
        object.__setattr__(self, "filters", tuple(self.filters))
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "shape_only", all(getattr(p, "shape_only", False) for p in plugins))
        if all(getattr(p, "reads", None) is not None for p in plugins):
            fields = sorted({f for p in plugins for f in p.reads} - {"requests"})
            object.__setattr__(self, "reads", tuple(fields))

    def shape(self, pod, requests: PodRequests):
        """What this scheduler's plugins read of ``pod`` (pods of one shape get one verdict
        per unchanged node), or None when a plugin may read anything."""
        if self.reads is not None:
            spec = pod.spec
            return (requests, *[spec.get(f) for f in self.reads])
        if self.shape_only:
            return (pod.metadata.namespace, pod.metadata.labels, pod.spec)
        return None

    def verdict(self, pod, requests: PodRequests, node: NodeInfo) -> Any:
        """A tuple of reasons if a filter rejects the node, else its weighted score."""
        for f in self.filters:
            if r := f(pod, requests, node):
                return (r,) if isinstance(r, str) else tuple(r)
        total = 0
        for fn, weight in self.scores:
            total += fn(pod, requests, node) * weight
        return total

    def schedule(self, pod, node_infos: Sequence[NodeInfo], cursor: Cursor | None = None,
                 requests: PodRequests | None = None) -> Binding | Unschedulable:
        """The best node for ``pod``, or why there is none. With a :class:`Cursor`,
        the search starts at its index and ends after :func:`num_feasible_nodes_to_find`
        feasible nodes (give the nodes in one order, by name); without, all are scored."""
        if not node_infos:
            return Unschedulable(NO_NODES_AVAILABLE)
        requests = pod_requests(pod) if requests is None else requests
        return self._search(pod, requests, node_infos, cursor)[0]

    def _search(self, pod, requests, nodes: Sequence[NodeInfo], cursor: Cursor | None,
                memo: "_Memo | None" = None, fresh: bool = False):
        """Filter round the nodes from the cursor until enough pass, scoring those that
        do; returns (result, index of the chosen node or -1). ``memo``: per position,
        the node info last judged and its verdict, reused while it is the same object;
        ``fresh``: every verdict in it is for the node now at its position."""
        n = len(nodes)
        start, wanted = (0, n) if cursor is None else (
            cursor.next_start_node_index % n, num_feasible_nodes_to_find(n, self.percentage_of_nodes_to_score))
        if fresh and memo.infeasible == 0:
            # every node fits: the window is the next `wanted` nodes; take its best score,
            # the first node by name among equals (what the loop below finds, at C speed)
            wanted = min(wanted, n)
            verdicts, end = memo.verdicts, start + wanted
            segments = ((start, end),) if end <= n else ((start, n), (0, end - n))
            best = max(max(verdicts[a:b]) for a, b in segments)
            index = min(verdicts.index(best, a, b) for a, b in segments if best in verdicts[a:b])
            if cursor is not None:
                cursor.next_start_node_index = end % n
            return Binding(nodes[index].name, best), index
        memo = memo or _Memo(n)
        seen, verdicts = memo.seen, memo.verdicts
        best_score, best_index, found, failures, processed = float("-inf"), -1, 0, [], n
        for i in chain(range(start, n), range(start)):
            node = nodes[i]
            if seen[i] is not node:
                memo.judge(self, pod, requests, nodes, i)
            v = verdicts[i]
            if v.__class__ is tuple:
                failures.append(v)
                continue
            if v > best_score or (v == best_score and node.name < nodes[best_index].name):
                best_score, best_index = v, i
            found += 1
            if found == wanted:
                processed = (i - start) % n + 1
                break
        if cursor is not None:
            cursor.next_start_node_index = (start + processed) % n
        if best_index < 0:
            return _fit_error(n, failures), -1
        return Binding(nodes[best_index].name, best_score), best_index


class _Memo:
    """One pod shape's verdicts, per node position: the node info judged, its verdict
    (reasons, a tuple, or a score) and how many verdicts are reasons."""

    __slots__ = ("seen", "verdicts", "infeasible")

    def __init__(self, n: int):
        self.seen: list = [None] * n
        self.verdicts: list = [None] * n
        self.infeasible = 0

    def judge(self, scheduler, pod, requests, nodes, i: int) -> None:
        node = nodes[i]
        v = scheduler.verdict(pod, requests, node)
        self.infeasible += (v.__class__ is tuple) - (self.verdicts[i].__class__ is tuple)
        self.seen[i], self.verdicts[i] = node, v

    def refresh(self, scheduler, pod, requests, nodes, indexes=None) -> None:
        """Judge again the nodes that changed: those at ``indexes``, or (None) any."""
        seen = self.seen
        if indexes is None:
            indexes = [i for i, node in enumerate(nodes) if seen[i] is not node]
        for i in indexes:
            if seen[i] is not nodes[i]:
                self.judge(scheduler, pod, requests, nodes, i)


def pick_scheduler(pod, schedulers: Mapping[str, Scheduler]) -> Scheduler | None:
    """The scheduler named by the pod's ``spec.schedulerName`` (default
    ``default-scheduler``); None when there is none: the pod stays pending."""
    return schedulers.get(pod.spec.get("schedulerName") or DEFAULT_SCHEDULER)


def schedule_many(pods: Sequence, node_infos: Sequence[NodeInfo], scheduler: Scheduler,
                  cursor: Cursor | None = None, memos: dict | None = None,
                  in_order: bool = False) -> tuple[list, list[NodeInfo]]:
    """Schedule pods one after another, each seeing the bindings before it.

    Returns a :class:`Binding`, :class:`Unschedulable` or (the scheduler raised on
    that pod) :class:`Failed` per pod, and the node infos, by name, with the bound
    pods added. The nodes are searched in name
    order from ``cursor`` (a fresh one when None), as :meth:`Scheduler.schedule`;
    ``in_order=True`` says they are given sorted by name already.

    Verdicts are reused: a node that has not changed judges pods of one
    :meth:`Scheduler.shape` alike, so a deployment's replicas cost little.
    ``memos`` (a dict the caller keeps) carries them over to the next call,
    for the nodes that are still the same objects.

    >>> from reconcile.api.model import Node, Pod
    >>> nodes = [NodeInfo.from_node(Node.new(f"n{i}", status={"allocatable": {"cpu": "1", "pods": "2"}}))
    ...          for i in range(2)]
    >>> p = Pod.new("p", spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": "300m"}}}]})
    >>> results, nodes = schedule_many([p] * 5, nodes, Scheduler())
    >>> [getattr(r, "node_name", None) for r in results], [n.requested[2] for n in nodes]
    (['n0', 'n1', 'n0', 'n1', None], [2, 2])
    >>> results[-1].reason
    '0/2 nodes are available: 2 Too many pods.'
    """
    nodes = list(node_infos) if in_order else sorted(node_infos, key=lambda ni: ni.name)
    n, cursor = len(nodes), Cursor() if cursor is None else cursor
    memos = {} if memos is None else memos          # pod shape -> memo, for the last _MEMO_SHAPES shapes
    if memos.get(None) != n:                        # memos are by node position: a new node count voids them
        memos.clear()
        memos[None] = n
    results: list = []
    last_spec, last = None, None
    bound: list = []            # node positions given a pod in this call, in order
    caught_up: dict = {}        # memo -> how much of `bound` it has judged again
    for pod in pods:
        if n == 0:
            results.append(Unschedulable(NO_NODES_AVAILABLE))
            continue
        try:
            spec = pod.spec
            if spec is last_spec:                       # a template's pods share their spec
                requests, shape = last
            else:
                requests = pod_requests(pod)
                shape = scheduler.shape(pod, requests)
                last_spec, last = spec, (requests, shape)
            memo = None
            if shape is not None:
                memo = memos.pop(shape, None)
                if memo is None:
                    memo = _Memo(n)
                memos[shape] = memo
                if len(memos) > _MEMO_SHAPES + 1:
                    del memos[next(k for k in memos if k is not None)]
                done = caught_up.get(memo)
                memo.refresh(scheduler, pod, requests, nodes, None if done is None else bound[done:])
                caught_up[memo] = len(bound)
            result, index = scheduler._search(pod, requests, nodes, cursor, memo, fresh=memo is not None)
        except Exception as e:      # this pod only (kube-scheduler: the pod to the back-off queue)
            results.append(Failed(f"{type(e).__name__}: {str(e)[:500]}", e))
            continue
        if index >= 0:
            nodes[index] = nodes[index].add_pod(pod, requests)
            bound.append(index)
        results.append(result)
    return results, nodes
