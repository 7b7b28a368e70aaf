"""The deterministic simulator: the real control plane on a virtual clock with simulated nodes.

:class:`SimCluster` is a :class:`~reconcile.controlplane.ControlPlane` (the
real store, engine, controllers and scheduler); only the kubelets are simulated (see :mod:`reconcile.sim.kubelet`). Time is
virtual: ``advance(600)`` runs ten minutes of the cluster in milliseconds,
and the same seed gives the same events.

>>> import dsl
>>> sim = SimCluster(seed=1)
>>> done = sim.apply(dsl.parse('''
... nodes worker x2 { capacity cpu=4 memory=8Gi pods=110 }
... replicaset web { replicas 3  labels app=web
...   container main { port http 8080  requests cpu=500m
...                    command serve } }'''))
>>> _ = sim.run_until_stable()
>>> sorted(p.status["phase"] for p in sim.list("Pod", "app=web"))
['Running', 'Running', 'Running']
"""

from __future__ import annotations

from typing import Iterable

from pyrsistent import pmap

from reconcile.api import labels as _labels
from reconcile.api.model import KObject, Node
from reconcile.api.quantity import human_duration
from reconcile.controlplane import ClusterEvent, ControlPlane
from reconcile.engine import Rule
from reconcile.sim.kubelet import EXITS, FAILED, READY, kubelet_rules

__all__ = ["SimCluster", "VirtualClock", "SimEvent", "default_nodes"]

SimEvent = ClusterEvent         # the simulator's events: times in seconds since it started


def default_nodes() -> list:
    """The nodes a simulation gets when its manifest has none: ``node-1..3``, 4 cpu, 8Gi, 110 pods."""
    return [Node.new(f"node-{i}", status={"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}})
            for i in range(1, 4)]


class VirtualClock:
    """Seconds since the simulation began (plus a fixed epoch, so times look real)."""

    EPOCH = 1_767_225_600.0   # 2026-01-01T00:00:00Z

    def __init__(self, start: float = EPOCH):
        self.now = start

    def __call__(self) -> float:
        return self.now


class SimCluster(ControlPlane):
    """A simulated cluster: a :class:`~reconcile.controlplane.ControlPlane` with simulated kubelets
    and a virtual clock. ``node_grace`` and ``eviction_timeout`` are the node lifecycle periods;
    ``rules`` the user's own rules."""

    can_fail_nodes = True
    virtual_clock = True
    epoch = VirtualClock.EPOCH

    def __init__(self, seed: int = 0, start_delay: float = 1.0, node_grace: float = 40.0,
                 eviction_timeout: float = 300.0, rules: Iterable[Rule] = (), max_firings: int = 1_000_000):
        self.seed = seed
        super().__init__(VirtualClock(), uid_seed=seed, node_grace=node_grace, eviction_timeout=eviction_timeout,
                         rules=rules, runtime_rules=kubelet_rules(seed=seed, start_delay=start_delay),
                         max_firings=max_firings)
        self._node_count = 0
        self.quiet = node_grace + eviction_timeout + 10.0

    def describe(self, brief: bool = False) -> str:
        if brief:
            return f"the simulator, its clock at {human_duration(self.now)}"
        return (f"the simulator (seed {self.seed}): a virtual clock, simulated nodes, "
                "every change run until the cluster settles")

    # -- time
    @property
    def now(self) -> float:
        """Seconds since the simulation started."""
        return self.clock.now - VirtualClock.EPOCH

    def advance(self, seconds: float) -> "SimCluster":
        """Run the cluster for ``seconds`` of virtual time."""
        with self.lock:
            end = self.clock.now + seconds
            self.engine.run()
            while True:
                due = self.engine.next_due()
                if due is None or due > end:
                    break
                self.clock.now = max(self.clock.now, due)
                self.engine.run()
            self.clock.now = end
            self.engine.run()
        self._notify()
        return self

    def run_until_stable(self, max_seconds: float = 3600.0, quiet: float | None = None) -> float:
        """Advance until nothing but heartbeats has changed for ``quiet`` seconds; returns when it settled.

        ``quiet`` defaults to the node grace period plus the eviction timeout
        plus 10 s: long enough for a failed node's pods to be evicted and
        come back elsewhere. Raises ``TimeoutError`` if the cluster is still
        changing after ``max_seconds`` of simulated time.
        """
        with self.lock:
            settled = self._run_until_stable(max_seconds, self.quiet if quiet is None else quiet)
        self._notify()
        return settled

    def _run_until_stable(self, max_seconds: float, quiet: float) -> float:
        start = self.clock.now
        self.engine.run()
        last_fp, last_change = self._fingerprint(), self.clock.now
        while self.clock.now - start < max_seconds:
            fp = self._fingerprint()
            if fp != last_fp:
                last_fp, last_change = fp, self.clock.now
            elif self.clock.now - last_change >= quiet:
                return last_change - start
            target = last_change + quiet
            due = self.engine.next_due()
            if due is not None and due < target:
                target = due
            self.clock.now = max(target, self.clock.now)
            self.engine.run()
        raise TimeoutError(f"the cluster was still changing after {max_seconds:g}s of simulated time")

    def _fingerprint(self):
        snap = self.store.snapshot()
        return tuple((kind, snap.objects[kind]) for kind in snap.kinds() if kind not in ("Lease",))

    def settle(self) -> None:
        """Run until the cluster settles (:meth:`run_until_stable`)."""
        self.run_until_stable()

    def wait_until(self, predicate, timeout: float = 60.0, what: str = "the condition") -> None:
        """Settle, then check ``predicate(cluster)`` once: the virtual clock waits for no one."""
        self.settle()
        if not predicate(self):
            raise TimeoutError(f"{what} does not hold once the simulator has settled")

    # -- nodes
    def _prepare_nodes(self, objects: list[KObject]) -> list[KObject]:
        return [self._sim_node(o) if o.kind == "Node" else o for o in objects]

    def _sim_node(self, node: KObject) -> KObject:
        self._node_count += 1
        annotations = node.metadata.annotations.set("sim.reconcile.dev/index", str(self._node_count))
        status = node.status
        if not status.get("allocatable"):
            cap = pmap({"cpu": "4", "memory": "8Gi", "pods": "110"})
            status = status.update({"capacity": status.get("capacity") or cap,
                                    "allocatable": status.get("capacity") or cap})
        status = status.set("hostIP", f"192.168.{self._node_count // 256}.{self._node_count % 256}")
        return node.set(metadata=node.metadata.set(annotations=annotations), status=status)

    def default_nodes_for(self, manifest: Iterable[KObject]) -> list[KObject]:
        """:func:`default_nodes` when neither the cluster nor ``manifest`` has a Node."""
        if self.store.snapshot().count("Node") or any(o.kind == "Node" for o in manifest):
            return []
        return default_nodes()

    def list(self, kind: str, selector: str | _labels.Selector | None = None,
             namespace: str | None = None) -> list[KObject]:
        return self.store.list(kind, namespace, selector)

    def pods_by_node(self) -> dict[str, list[str]]:
        out: dict = {n.name: [] for n in self.store.list("Node")}
        for p in self.store.list("Pod"):
            out.setdefault(p.spec.get("nodeName") or "<pending>", []).append(p.name)
        return out

    # -- what tests do to a cluster
    def _annotate(self, kind, name, namespace, key, value):
        self._write(kind, name, namespace, lambda o: o.set(metadata=o.metadata.set(
            annotations=o.metadata.annotations.set(key, value))))

    def fail_node(self, name: str) -> None:
        """The node's machine dies: its kubelet stops (no heartbeats, no pod updates)."""
        self._annotate("Node", name, None, FAILED, "true")

    def recover_node(self, name: str) -> None:
        self._write("Node", name, None, lambda o: o.set(metadata=o.metadata.set(
            annotations=o.metadata.annotations.discard(FAILED))))

    def node_failed(self, name: str) -> bool:
        n = self.store.snapshot().get("Node", name, None)
        return n is not None and n.metadata.annotations.get(FAILED) == "true"

    def crash_pod(self, name: str, namespace: str = "default") -> None:
        """The pod's containers exit with an error, code 1 (its restart policy decides what follows)."""
        self.complete_pod(name, namespace, 1)

    def complete_pod(self, name: str, namespace: str = "default", exit_code: int = 0) -> None:
        """The pod's containers exit now with ``exit_code`` (0: success); the restart policy decides
        what follows: ``Never`` finishes the pod (``Succeeded`` for 0, else ``Failed``),
        ``OnFailure`` finishes it for 0 and restarts it (after the back-off) otherwise, ``Always``
        restarts it. For pods that finish by themselves, give them (or their template) the
        annotation ``sim.reconcile.dev/run-seconds`` (and ``sim.reconcile.dev/exit-code``).

        >>> from reconcile.api.model import Node, Pod
        >>> sim = SimCluster()
        >>> _ = sim.apply([Node.new("n1"), Pod.new("once", "default", spec={
        ...     "restartPolicy": "Never", "containers": [{"name": "c"}]})])
        >>> _ = sim.advance(5)
        >>> sim.complete_pod("once")
        >>> p = sim.get("Pod", "once")
        >>> p.status["phase"], p.status["containerStatuses"][0]["state"]["terminated"]["exitCode"]
        ('Succeeded', 0)
        """
        before = self.store.get("Pod", name, namespace).metadata.annotations.get(EXITS)
        self._annotate("Pod", name, namespace, EXITS, f"{before},{int(exit_code)}" if before else str(int(exit_code)))

    def set_ready(self, name: str, ready: bool, namespace: str = "default") -> None:
        """Make the pod's readiness probe pass or fail."""
        self._annotate("Pod", name, namespace, READY, "true" if ready else "false")
