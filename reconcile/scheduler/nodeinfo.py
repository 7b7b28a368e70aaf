"""What the scheduler knows of pods and nodes: a pod's requests and a node's allocatable and requested
resources (``NodeInfo``), shared by the framework, its plugins and the controllers that place pods.

>>> from reconcile.api.model import Node
>>> info = NodeInfo.from_node(Node.new("n", status={"allocatable": {"cpu": "2", "memory": "1Gi"}}))
>>> info.allocatable
(2000, 1073741824, 110)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, NamedTuple, Sequence

from reconcile.api.memo import IdentityMemo
from reconcile.api.model import EMPTY_MAP
from reconcile.api.quantity import Quantity

__all__ = ["PodRequests", "pod_requests", "NodeInfo", "DEFAULT_MILLI_CPU_REQUEST", "DEFAULT_MEMORY_REQUEST",
           "DEFAULT_MAX_PODS"]

DEFAULT_MILLI_CPU_REQUEST = 100                 # schedutil.DefaultMilliCPURequest (scoring only)
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024      # schedutil.DefaultMemoryRequest (scoring only)
DEFAULT_MAX_PODS = 110                          # kubelet's maxPods, for a node that states no "pods"


# ------------------------------------------------------------------ requests

@lru_cache(maxsize=4096)
def _quantity(value, milli: bool = False) -> int:
    q = Quantity(value if isinstance(value, (str, int)) else str(value))
    return q.milli_value() if milli else q.value_int()


class PodRequests(NamedTuple):
    """What a pod asks of a node: ``(milli_cpu, memory, pods)`` to fit, and the
    ``non_zero_*`` values that scoring uses (a container that states no cpu or
    memory request counts 100m or 200Mi there, as in Kubernetes)."""

    milli_cpu: int
    memory: int
    pods: int = 1
    non_zero_milli_cpu: int = 0
    non_zero_memory: int = 0


def _container(c: Mapping) -> tuple[int, int, int, int]:
    req = (c.get("resources") or EMPTY_MAP).get("requests") or EMPTY_MAP
    cpu, mem = req.get("cpu"), req.get("memory")
    m_cpu = 0 if cpu is None else _quantity(cpu, True)
    b_mem = 0 if mem is None else _quantity(mem)
    return (m_cpu, b_mem, DEFAULT_MILLI_CPU_REQUEST if cpu is None else m_cpu,
            DEFAULT_MEMORY_REQUEST if mem is None else b_mem)


def _add(a, b) -> tuple:
    return tuple(map(int.__add__, a, b))


def pod_requests(pod) -> PodRequests:
    """The pod's requests as Kubernetes' ``resourcehelper.PodRequests`` computes
    them: the containers' sum, at least the largest init container (plus the
    sidecars, ``restartPolicy: Always``, started before it), plus ``spec.overhead``.

    >>> from reconcile.api.model import Pod
    >>> pod_requests(Pod.new("q", spec={"containers": [{"name": "c"}]}))
    PodRequests(milli_cpu=0, memory=0, pods=1, non_zero_milli_cpu=100, non_zero_memory=209715200)
    """
    spec = pod.spec        # a template's pods share their containers: summed once
    return _REQUESTS.get(lambda: _pod_requests(spec), spec.get("containers"), spec.get("initContainers"),
                         spec.get("overhead"))


_REQUESTS = IdentityMemo()


def _pod_requests(spec) -> PodRequests:
    total = sidecars = largest_init = (0, 0, 0, 0)
    for c in spec.get("containers") or ():
        total = _add(total, _container(c))
    for c in spec.get("initContainers") or ():
        r = _container(c)
        if c.get("restartPolicy") == "Always":      # a sidecar runs beside everything after it
            total, sidecars = _add(total, r), _add(sidecars, r)
            r = sidecars
        else:
            r = _add(r, sidecars)
        largest_init = tuple(map(max, largest_init, r))
    cpu, mem, nz_cpu, nz_mem = map(max, total, largest_init)
    overhead = spec.get("overhead")
    if overhead:
        o_cpu, o_mem = _quantity(overhead.get("cpu", 0), True), _quantity(overhead.get("memory", 0))
        cpu, mem, nz_cpu, nz_mem = cpu + o_cpu, mem + o_mem, nz_cpu + o_cpu, nz_mem + o_mem
    return PodRequests(cpu, mem, 1, nz_cpu, nz_mem)


# ------------------------------------------------------------------ nodes

@dataclass(frozen=True, slots=True)
class NodeInfo:
    """What the scheduler knows of one node: ``allocatable`` and ``requested``
    are ``(milli_cpu, memory bytes, pods)``; ``non_zero_requested`` is the
    ``(milli_cpu, memory)`` that scoring counts (see :class:`PodRequests`)."""

    name: str
    labels: Mapping = EMPTY_MAP
    allocatable: tuple = (0, 0, DEFAULT_MAX_PODS)
    requested: tuple = (0, 0, 0)
    non_zero_requested: tuple = (0, 0)
    taints: tuple = ()
    unschedulable: bool = False

    @classmethod
    def from_node(cls, node, pods_on_node: Sequence = ()) -> "NodeInfo":
        """Summarise a Node and the pods bound to it (finished pods hold nothing);
        a node that states no ``pods`` in ``status.allocatable`` (else ``capacity``) takes 110."""
        a = node.status.get("allocatable") or node.status.get("capacity") or EMPTY_MAP
        info = cls(node.name, node.metadata.labels,
                   (_quantity(a.get("cpu", 0), True), _quantity(a.get("memory", 0)),
                    _quantity(a.get("pods", DEFAULT_MAX_PODS))),
                   taints=tuple(node.spec.get("taints") or ()), unschedulable=bool(node.spec.get("unschedulable")))
        for p in pods_on_node:
            if p.status.get("phase") not in ("Succeeded", "Failed"):
                info = info.add_pod(p)
        return info

    def add_pod(self, pod, requests: PodRequests | None = None) -> "NodeInfo":
        """This node with one more pod bound to it; O(1) when ``requests`` is given."""
        r = pod_requests(pod) if requests is None else requests
        q, nz = self.requested, self.non_zero_requested
        return NodeInfo(self.name, self.labels, self.allocatable, (q[0] + r[0], q[1] + r[1], q[2] + r[2]),
                        (nz[0] + r[3], nz[1] + r[4]), self.taints, self.unschedulable)

    def remove_pod(self, pod, requests: PodRequests | None = None) -> "NodeInfo":
        """This node with one pod fewer (the inverse of :meth:`add_pod`)."""
        r = pod_requests(pod) if requests is None else requests
        q, nz = self.requested, self.non_zero_requested
        return NodeInfo(self.name, self.labels, self.allocatable, (q[0] - r[0], q[1] - r[1], q[2] - r[2]),
                        (nz[0] - r[3], nz[1] - r[4]), self.taints, self.unschedulable)
