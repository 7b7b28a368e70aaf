"""The deterministic simulator: the real control plane on a virtual clock with simulated nodes.

:class:`SimCluster` runs the real store, engine, controllers and scheduler;
only the kubelets are simulated (see :mod:`reconcile.sim.kubelet`). Time is
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
from reconcile.controllers import default_rules
from reconcile.engine import Engine, Rule
from reconcile.api.model import KObject
from reconcile.sim.kubelet import EXITS, FAILED, READY, kubelet_rules
from reconcile.state.store import Store, apply_object

__all__ = ["SimCluster", "VirtualClock", "SimEvent", "default_nodes"]


def default_nodes() -> list:
    """The nodes a simulation gets when its manifest has none: ``node-1..3``, 4 cpu, 8Gi, 110 pods."""
    from reconcile.api.model import Node
    return [Node.new(f"node-{i}", status={"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}})
            for i in range(1, 4)]


class VirtualClock:
    """Seconds since the simulation began (plus a fixed epoch, so times look real)."""

    EPOCH = 1_767_225_600.0   # 2026-01-01T00:00:00Z

    def __init__(self, start: float = EPOCH):
        self.now = start

    def __call__(self) -> float:
        return self.now


class SimEvent(tuple):
    """``(time, type, reason, message, regarding)``; time in seconds since the start."""

    __slots__ = ()

    def __new__(cls, time, type_, reason, message, regarding):
        return tuple.__new__(cls, (time, type_, reason, message, regarding))

    time = property(lambda self: self[0])
    type = property(lambda self: self[1])
    reason = property(lambda self: self[2])
    message = property(lambda self: self[3])
    regarding = property(lambda self: self[4])


class SimCluster:
    """A simulated cluster. ``node_grace`` and ``eviction_timeout`` are the node lifecycle periods."""

    def __init__(self, seed: int = 0, start_delay: float = 1.0, node_grace: float = 40.0,
                 eviction_timeout: float = 300.0, rules: Iterable[Rule] = (), max_firings: int = 1_000_000):
        self.seed = seed
        self.clock = VirtualClock()
        self.store = Store(clock=self.clock, uid_seed=seed)
        self._events: list[SimEvent] = []
        self.engine = Engine(self.store, clock=self.clock, max_firings=max_firings, on_event=self._record)
        for rule in (*default_rules(node_grace=node_grace, eviction_timeout=eviction_timeout),
                     *kubelet_rules(seed=seed, start_delay=start_delay), *rules):
            self.engine.add(rule)
        self._node_count = 0
        self.quiet = node_grace + eviction_timeout + 10.0

    # -- time
    @property
    def now(self) -> float:
        """Seconds since the simulation started."""
        return self.clock.now - VirtualClock.EPOCH

    def _record(self, now: float, emit) -> None:
        self._events.append(SimEvent(round(now - VirtualClock.EPOCH, 6), emit.type, emit.reason,
                                     emit.message, emit.regarding))

    def advance(self, seconds: float) -> "SimCluster":
        """Run the cluster for ``seconds`` of virtual time."""
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
        return self

    def run_until_stable(self, max_seconds: float = 3600.0, quiet: float | None = None) -> float:
        """Advance until nothing but heartbeats has changed for ``quiet`` seconds; returns when it settled.

        ``quiet`` defaults to the node grace period plus the eviction timeout
        plus 10 s: long enough for a failed node's pods to be evicted and
        come back elsewhere. Raises ``TimeoutError`` if the cluster is still
        changing after ``max_seconds`` of simulated time.
        """
        quiet = self.quiet if quiet is None else quiet
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

    # -- the API of the cluster
    def apply(self, manifest: Iterable[KObject]) -> list[tuple[str, str]]:
        """Create or update every object (like ``kubectl apply``); returns (action, object) pairs."""
        done = []
        objects = sorted(manifest, key=lambda o: (o.kind != "Namespace", o.kind != "Node"))
        with self.store.batch():
            for obj in objects:
                if obj.kind == "Node":
                    obj = self._sim_node(obj)
                done.append((apply_object(self.store, obj), f"{obj.kind.lower()}/{obj.name}"))
        self.engine.run()
        return done

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

    def get(self, kind: str, name: str, namespace: str | None = "default") -> KObject:
        return self.store.get(kind, name, namespace)

    def list(self, kind: str, selector: str | _labels.Selector | None = None,
             namespace: str | None = None) -> list[KObject]:
        return self.store.list(kind, namespace, selector)

    def events(self) -> list[SimEvent]:
        """Every event so far, in order: (time, type, reason, message, regarding)."""
        return list(self._events)

    def pods_by_node(self) -> dict[str, list[str]]:
        out: dict = {n.name: [] for n in self.store.list("Node")}
        for p in self.store.list("Pod"):
            out.setdefault(p.spec.get("nodeName") or "<pending>", []).append(p.name)
        return out

    # -- what tests do to a cluster
    def _annotate(self, kind, name, namespace, key, value):
        obj = self.store.get(kind, name, namespace)
        self.store.update(obj.set(metadata=obj.metadata.set(
            annotations=obj.metadata.annotations.set(key, value))))
        self.engine.run()

    def fail_node(self, name: str) -> None:
        """The node's machine dies: its kubelet stops (no heartbeats, no pod updates)."""
        self._annotate("Node", name, None, FAILED, "true")

    def recover_node(self, name: str) -> None:
        obj = self.store.get("Node", name, None)
        self.store.update(obj.set(metadata=obj.metadata.set(annotations=obj.metadata.annotations.discard(FAILED))))
        self.engine.run()

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
        pod = self.store.get("Pod", name, namespace)
        before = pod.metadata.annotations.get(EXITS)
        self._annotate("Pod", name, namespace, EXITS, f"{before},{int(exit_code)}" if before else str(int(exit_code)))

    def set_ready(self, name: str, ready: bool, namespace: str = "default") -> None:
        """Make the pod's readiness probe pass or fail."""
        self._annotate("Pod", name, namespace, READY, "true" if ready else "false")

    def cordon(self, name: str, on: bool = True) -> None:
        node = self.store.get("Node", name, None)
        self.store.update(node.set(spec=node.spec.set("unschedulable", True) if on
                                   else node.spec.discard("unschedulable")))
        self.engine.run()

    def rollout_restart(self, name: str, namespace: str = "default") -> None:
        """``kubectl rollout restart``: the same pods again, by a rolling update."""
        from reconcile.controllers.deployment import restart_template
        d = self.store.get("Deployment", name, namespace)
        self.store.update(d.set(spec=d.spec.set("template", restart_template(d, self.clock.now))))
        self.engine.run()

    def rollout_undo(self, name: str, revision: int | None = None, namespace: str = "default") -> None:
        """``kubectl rollout undo [--to-revision N]``: back to an earlier pod template."""
        from reconcile.controllers.deployment import rollback_template
        d = self.store.get("Deployment", name, namespace)
        template = rollback_template(self.store.snapshot(), d, revision)
        self.store.update(d.set(spec=d.spec.set("template", template)))
        self.engine.run()

    def scale(self, kind: str, name: str, replicas: int, namespace: str = "default") -> None:
        obj = self.store.get(kind, name, namespace)
        self.store.update(obj.set(spec=obj.spec.set("replicas", replicas)))
        self.engine.run()
