"""The cluster's brain: one store, one engine with the built-in and the user's rules, one event log.

A :class:`ControlPlane` is what the simulator and the Ray runtime share: they differ only in
their kubelets (rules of the engine in the simulator, Ray actors on Ray) and their clock (virtual
or the wall clock), which they give it. Its methods are the :class:`~reconcile.controlplane.cluster.Cluster`
protocol: ``kubectl``'s verbs, each a write through the store followed by the engine's fixpoint.

>>> from reconcile.api import Deployment, Node
>>> plane = ControlPlane(clock=lambda: 100.0)
>>> plane.apply([Node.new("n1"), Deployment.new("web", spec={
...     "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
...     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}})])
[('created', 'node/n1'), ('created', 'deployment/web')]
>>> sorted(p.spec["nodeName"] for p in plane.list("Pod"))       # made and scheduled; no kubelet runs them
['n1', 'n1']
>>> plane.scale("Deployment", "web", 3)
>>> len(plane.list("Pod"))
3
"""

from __future__ import annotations

import threading
from typing import Callable, Iterable

from reconcile.api.model import KObject
from reconcile.controllers import default_rules
from reconcile.controllers.deployment import restart_template, rollback_template
from reconcile.controllers.workloads import controller_of
from reconcile.controlplane.cluster import ClusterError, ClusterEvent, Listeners
from reconcile.engine import Emit, Engine, Rule
from reconcile.state.store import Store, apply_object

__all__ = ["ControlPlane"]

_NOT_WATCHED = ("Lease",)      # heartbeats: a change to them alone is not a change of the cluster


class ControlPlane:
    """The store, the engine, the built-in rules, the user's ``rules``, and the events they emit.

    ``clock`` gives the time in seconds; ``backend`` persists the store (None: in memory);
    ``node_grace`` and ``eviction_timeout`` are the node lifecycle periods; ``runtime_rules`` are
    the runtime's own rules (the simulator's kubelets), registered between the built-in and the
    user's. ``lock`` serialises the writes of clients and of a runtime's rounds.
    """

    can_fail_nodes = False
    has_logs = False
    virtual_clock = False
    epoch = 0.0                 # events' times count from here

    def __init__(self, clock: Callable[[], float], *, backend=None, uid_seed: int = 0,
                 node_grace: float = 40.0, eviction_timeout: float = 300.0, rules: Iterable[Rule] = (),
                 runtime_rules: Iterable[Rule] = (), max_firings: int = 1_000_000):
        self.clock = clock
        self.lock = threading.RLock()
        self.store = Store(clock=clock, backend=backend, uid_seed=uid_seed)
        self._events: list[ClusterEvent] = []
        self._listeners = Listeners()
        self._seen: tuple = ()
        self.engine = Engine(self.store, clock=clock, max_firings=max_firings, on_event=self._record)
        rules = tuple(rules)
        for rule in (*default_rules(node_grace=node_grace, eviction_timeout=eviction_timeout),
                     *runtime_rules, *rules):
            self.engine.add(rule)
        self.user_rules = tuple(r.name for r in rules)

    def describe(self, brief: bool = False) -> str:
        """What this cluster is, in a phrase ("connected to ..."; ``brief``: for a header)."""
        return "a control plane with no kubelets"

    # -- events
    def _record(self, now: float, emit: Emit) -> None:
        self._events.append(ClusterEvent(round(now - self.epoch, 6), emit.type, emit.reason, emit.message,
                                         emit.regarding))

    def record_event(self, type_: str, reason: str, message: str, regarding: tuple | None = None) -> None:
        """An event of the runtime's own (a kubelet's report, a failed round), beside the controllers'."""
        self._record(self.clock(), Emit(type_, reason, message, regarding))

    def events(self) -> list[ClusterEvent]:
        """Every event so far, in order: (time, type, reason, message, regarding)."""
        return list(self._events)

    # -- watching
    def on_change(self, fn: Callable[["ControlPlane"], None]) -> Callable[[], None]:
        """Call ``fn(cluster)`` after a change of the cluster (heartbeats alone are not one); returns
        the function that stops it. A listener that raises is left out of the cluster's work."""
        return self._listeners.add(fn)

    def _notify(self) -> None:
        snap = self.store.snapshot()
        now = tuple((k, snap.objects[k]) for k in snap.kinds() if k not in _NOT_WATCHED)
        last = self._seen
        if len(now) == len(last) and all(a[0] == b[0] and a[1] is b[1] for a, b in zip(now, last)):
            return
        self._seen = now
        self._listeners.call(self)

    def _changed(self) -> None:
        """After a client's write: the engine to its fixpoint (a runtime adds its own work)."""
        self.engine.run()
        self._notify()

    # -- reading
    def get(self, kind: str, name: str, namespace: str | None = "default") -> KObject:
        return self.store.get(kind, name, namespace)

    def list(self, kind: str, selector=None, namespace: str | None = None) -> list[KObject]:
        return self.store.list(kind, namespace, selector)

    def logs(self, name: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None) -> str:
        raise ClusterError("this cluster runs no processes, so its pods have no logs")

    def fail_node(self, name: str) -> None:
        raise ClusterError("this cluster cannot fail a node's machine")

    def recover_node(self, name: str) -> None:
        raise ClusterError("this cluster cannot bring a node's machine back")

    def node_failed(self, name: str) -> bool:
        """Whether the node's machine was failed (``fail_node``) and not recovered."""
        return False

    # -- writing (kubectl's verbs)
    def apply(self, manifest: Iterable[KObject]) -> list[tuple[str, str]]:
        """Create or update every object (like ``kubectl apply``); returns (action, object) pairs."""
        done = []
        objects = sorted(manifest, key=lambda o: (o.kind != "Namespace", o.kind != "Node"))
        with self.lock:
            objects = self._prepare_nodes(objects)
            with self.store.batch():
                for obj in objects:
                    done.append((apply_object(self.store, obj), f"{obj.kind.lower()}/{obj.name}"))
            self._changed()
        return done

    def _prepare_nodes(self, objects: list[KObject]) -> list[KObject]:
        """The manifest's objects with its Nodes made ready for this runtime (its kubelets' marks)."""
        return objects

    def default_nodes_for(self, manifest: Iterable[KObject]) -> list[KObject]:
        """Nodes to add so that ``manifest``'s pods have somewhere to run (none: the runtime has its own)."""
        return []

    def _write(self, kind: str, name: str, namespace: str | None, change: Callable[[KObject], KObject]) -> KObject:
        with self.lock:
            obj = self.store.get(kind, name, namespace)
            new = self.store.update(change(obj))
            self._changed()
        return new

    def scale(self, kind: str, name: str, replicas: int, namespace: str = "default") -> None:
        """``kubectl scale``: the workload's ``spec.replicas``."""
        self._write(kind, name, namespace, lambda o: o.set(spec=o.spec.set("replicas", replicas)))

    def rollout_restart(self, name: str, namespace: str = "default", kind: str = "Deployment") -> None:
        """``kubectl rollout restart``: the same pods again, by a rolling update."""
        self._write(kind, name, namespace,
                    lambda o: o.set(spec=o.spec.set("template", restart_template(o, self.clock()))))

    def rollout_undo(self, name: str, revision: int | None = None, namespace: str = "default") -> None:
        """``kubectl rollout undo [--to-revision N]``: a Deployment back to an earlier pod template."""
        self._write("Deployment", name, namespace, lambda d: d.set(spec=d.spec.set(
            "template", rollback_template(self.store.snapshot(), d, revision))))

    def cordon(self, name: str, on: bool = True) -> None:
        """``kubectl cordon``: no new pods on the node (``on=False`` uncordons it)."""
        self._write("Node", name, None, lambda n: n.set(
            spec=n.spec.set("unschedulable", True) if on else n.spec.discard("unschedulable")))

    def uncordon(self, name: str) -> None:
        self.cordon(name, on=False)

    def drain(self, name: str) -> list[KObject]:
        """``kubectl drain --ignore-daemonsets``: cordon the node, then evict its pods (their owners
        make them again elsewhere); DaemonSet pods stay. Returns the pods evicted."""
        evicted = []
        with self.lock:
            self.cordon(name)
            for p in self.store.snapshot().pods_on_node(name):
                owner = controller_of(p)
                if (owner is not None and owner.kind == "DaemonSet") or p.metadata.deletionTimestamp is not None:
                    continue
                self.store.delete("Pod", p.name, p.metadata.namespace)
                evicted.append(p)
            self._changed()
        return evicted

    def delete(self, kind: str, name: str, namespace: str | None = "default") -> None:
        """``kubectl delete``: the object, and (through the garbage collector) what it owns."""
        with self.lock:
            self.store.delete(kind, name, namespace)
            self._changed()

    # -- running
    def settle(self) -> None:
        """Bring the cluster to rest after a change, where its clock can be run (the simulator's);
        on the wall clock the runtime's rounds do that as time goes by."""
        self._notify()

    def wait_until(self, predicate: Callable[["ControlPlane"], bool], timeout: float = 60.0,
                   what: str = "the condition") -> None:
        """Return once ``predicate(cluster)`` holds; ``TimeoutError`` if it does not in time."""
        if not predicate(self):
            raise TimeoutError(f"{what} does not hold")

    def start(self) -> None:
        """Keep the cluster running by itself (on the wall clock, in a thread) until :meth:`close`."""

    def close(self) -> None:
        """Let the cluster go: its durable store is closed."""
        if self.store.backend is not None:
            self.store.backend.close()
            self.store.backend = None
