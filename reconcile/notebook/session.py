"""A connection to a cluster, and the commands the notebook front ends share.

:class:`Session` is what a ``reconcile`` kernel (or the ``%%cluster`` magic)
holds: the cluster it is connected to (the simulator by default, a local
Ray, or a Ray cluster) and one method per command of the language
(``apply``, ``plan``, ``get``, ``describe``, ``scale``, ``rollout``,
``logs``, ``delete``, ``events``, ``cordon``, ``drain``, ...). The widgets
call the same methods, so a slider and ``scale web 3`` do the same thing.

In the simulator, every change runs the cluster until it settles (on its
virtual clock, in milliseconds), so a command's answer is the converged
state. On Ray a background thread runs the control plane's rounds, and
the commands that wait (``scale``, ``rollout``) report their progress
through the ``progress`` callback they are given.

>>> s = Session()
>>> for result in s.run_all('''
... deployment web {
...   replicas 2
...   labels app=web
...   container main { command python -m http.server }
... }
... get deployments'''):
...     print(result)
(no nodes yet: the simulator added node-1, node-2 and node-3, 4 cpu, 8Gi and 110 pods each)
node/node-1 created
node/node-2 created
node/node-3 created
deployment.apps/web created
NAME   READY   UP-TO-DATE   AVAILABLE   AGE
web    2/2     2            2           26s
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

import yaml

import dsl
from dsl import DslError
from reconcile.errors import ReconcileError
from reconcile.model import KObject, ModelError, Node, kind_class, thaw
from reconcile.notebook.commands import Command, CommandError, parse_command, split_cell
from reconcile.notebook.display import Table, Text, age

__all__ = ["Session", "SessionError", "rollout_status", "pod_status", "pod_ready", "node_status"]

Progress = Callable[[str], None]
WAIT_TIMEOUT = 300.0          # seconds a command waits on Ray before giving up


class SessionError(ReconcileError):
    """A command that cannot be carried out (an unknown object, a command the cluster cannot do).
    ``at`` names the argument it is about (``"kind"``, ``"name"``), for the error's column."""

    def __init__(self, message: str, at: str = "name"):
        super().__init__(message)
        self.at = at


def _no_progress(message: str) -> None:
    pass


class Session:
    """The cluster a front end is connected to. ``target``: ``"sim"`` (the default), ``"local"``
    (a local Ray started for it) or a Ray address (``ray://HOST:PORT`` or ``HOST:PORT``)."""

    def __init__(self, target: str = "sim", *, seed: int = 0, num_cpus: int | None = None):
        self.lock = threading.RLock()
        self.seed = seed
        self.num_cpus = num_cpus
        self.cluster = None
        self.target = None
        self._listeners: list[Callable[["Session"], None]] = []
        self.dashboards: list = []          # the dashboards the ``dashboard`` command made, newest last
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self.connect(target)

    # -- connection
    @property
    def simulated(self) -> bool:
        return self.target == "sim"

    def connect(self, target: str) -> Text:
        """Connect to another cluster (the one before is let go; a local Ray it started is stopped)."""
        self.close()
        if target == "sim":
            from reconcile.sim import SimCluster
            self.cluster = SimCluster(seed=self.seed, node_grace=10.0, eviction_timeout=5.0)
            self.target = "sim"
            message = (f"connected to the simulator (seed {self.seed}): a virtual clock, "
                       "simulated nodes, every change run until the cluster settles")
        else:
            address = None if target == "local" else target
            if address is not None:         # a Ray started by `ray start` wants its token (before ray is imported)
                from cluster_ray.local import use_token_auth
                use_token_auth()
            from cluster_ray.runtime import RayCluster
            self.cluster = RayCluster(address=address, num_cpus=self.num_cpus)
            self.target = target
            self._stop = threading.Event()
            self._loop = threading.Thread(target=self._run_loop, name="reconcile-control-plane", daemon=True)
            self._loop.start()
            self.wait_until(lambda s: all(node_status(n) == "Ready" for n in s.cluster.list("Node")),
                            timeout=120, what="every node Ready")
            nodes = ", ".join(n.name for n in self.cluster.list("Node"))
            where = "a local Ray" if address is None else f"the Ray cluster at {address}"
            message = f"connected to {where}: nodes {nodes}"
        self._notify()
        return Text(message)

    def close(self) -> None:
        """Let the cluster go: stop the control plane's thread, and bring down a Ray it started."""
        if self._loop is not None:
            self._stop.set()
            self._loop.join(timeout=30)
            self._loop = None
        if self.cluster is not None and not self.simulated:
            with self.lock:
                self.cluster.down()
        self.cluster = None

    def _run_loop(self) -> None:
        last: tuple = ()
        while not self._stop.wait(self.cluster.period):
            with self.lock:
                try:
                    self.cluster.step()
                except Exception as e:          # a round that failed: the next one tries again
                    self.cluster._events.append((time.time(), "Warning", "ControlPlaneRound", repr(e)[:500], None))
            # listeners hear of changes to the cluster, not of the nodes' heartbeats (Leases)
            snap = self.snapshot()
            now = tuple((k, snap.objects[k]) for k in snap.kinds() if k != "Lease")
            if len(now) != len(last) or any(a[0] != b[0] or a[1] is not b[1] for a, b in zip(now, last)):
                last = now
                self._notify()

    # -- watching
    def on_change(self, fn: Callable[["Session"], None]) -> Callable[[], None]:
        """Call ``fn(session)`` after every change of the cluster; returns the function that stops it."""
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _notify(self) -> None:
        for fn in list(self._listeners):
            try:
                fn(self)
            except Exception:               # a broken listener must not break the cluster
                pass

    def _settle(self) -> None:
        """After a change: in the simulator, run until it settles; then tell the listeners."""
        if self.simulated:
            with self.lock:
                self.cluster.run_until_stable()
        self._notify()

    # -- reading
    @property
    def store(self):
        return self.cluster.store

    def now(self) -> float:
        return self.cluster.clock() if self.simulated else time.time()

    def snapshot(self):
        return self.cluster.store.snapshot()

    def find(self, kind: str, name: str, namespace: str | None = None) -> KObject:
        """The object of ``kind`` named ``name``: in ``namespace``, or in the only namespace that has one."""
        cls = self._kind(kind)
        snap = self.snapshot()
        if namespace is not None or not cls.NAMESPACED:
            obj = snap.get(cls.KIND, name, namespace if cls.NAMESPACED else None)
            if obj is None:
                raise SessionError(f'{cls.PLURAL} "{name}" not found' +
                                   (f" in namespace {namespace}" if cls.NAMESPACED else ""))
            return obj
        found = [o for o in snap.list(cls.KIND) if o.name == name]
        if not found:
            raise SessionError(f'{cls.PLURAL} "{name}" not found')
        if len(found) > 1:
            spaces = ", ".join(sorted(o.metadata.namespace for o in found))
            raise SessionError(f'{cls.PLURAL} "{name}" is in several namespaces ({spaces}): add -n NAMESPACE')
        return found[0]

    @staticmethod
    def _kind(kind: str):
        try:
            return kind_class(kind)
        except ModelError as e:
            raise SessionError(str(e), at="kind") from None

    def names(self, kind: str | None = None) -> list[str]:
        """Object names (of one kind, or of every kind but the bookkeeping ones), sorted."""
        snap = self.snapshot()
        kinds = [self._kind(kind).KIND] if kind else [k for k in snap.kinds() if k not in _HIDDEN]
        return sorted({o.name for k in kinds for o in snap.list(k)})

    def labels(self) -> dict[str, set[str]]:
        """Every label key in the cluster with the values it has."""
        out: dict[str, set[str]] = {}
        snap = self.snapshot()
        for k in snap.kinds():
            for o in snap.list(k):
                for key, value in o.metadata.labels.items():
                    out.setdefault(key, set()).add(value)
        return out

    def object_yaml(self, name: str) -> str | None:
        """YAML of the object named ``name`` (workloads first), or None."""
        snap = self.snapshot()
        for kind in _INSPECT_ORDER + [k for k in snap.kinds() if k not in _INSPECT_ORDER]:
            for o in snap.list(kind):
                if o.name == name:
                    return to_yaml(o)
        return None

    # -- running a cell
    def run(self, text: str, path: str = "<cell>", progress: Progress | None = None, first_line: int = 1):
        """Run a cell of the language: its definitions are applied (or planned, when a ``plan``
        follows them), its commands carried out in order. Returns what the last step produced
        (or the list of all, see :meth:`run_all`)."""
        results = self.run_all(text, path, progress, first_line)
        return results[-1] if results else None

    def run_all(self, text: str, path: str = "<cell>", progress: Progress | None = None,
                first_line: int = 1, on_result: Callable[[object], None] | None = None) -> list:
        """Every step's result, in order (``on_result`` hears each as soon as it is made)."""
        steps = split_cell(text)
        for s in steps:
            if s.kind == "python":
                raise CommandError("a %python line runs in the reconcile kernel only", s.line + first_line - 1,
                                   1, path, text.splitlines()[s.line - 1])
        # read everything first: a cell with an error anywhere changes nothing
        parsed = []
        for s in steps:
            line = s.line + first_line - 1
            if s.kind == "definitions":
                parsed.append(("definitions", dsl.parse("\n" * (line - 1) + s.text, path)))
            else:
                parsed.append(("command", parse_command(s.text, line, path)))
        results, pending = _Results(on_result), []
        for what, item in parsed:
            if what == "definitions":
                pending.extend(item)
                continue
            if item.name == "plan":
                if not pending:
                    raise CommandError("plan shows what the definitions above it in the cell would change, "
                                       "and this cell has none", item.line, 1, path, item.text)
                results.append(self.plan(pending))
                pending = []
                continue
            if pending:
                results.append(self.apply(pending))
                pending = []
            results.append(self.command(item, progress, path))
        if pending:
            results.append(self.apply(pending))
        return list(results)

    def command(self, cmd: Command, progress: Progress | None = None, path: str | None = None):
        """Carry out one parsed command; a :class:`SessionError` becomes a :class:`CommandError`
        at the command's line."""
        a = dict(cmd.args)
        try:
            if cmd.name in ("scale", "rollout"):
                a["progress"] = progress
            if cmd.name == "apply":
                return self.apply(_load(a["path"]))
            if cmd.name == "connect":
                return self.connect(a["target"])
            if cmd.name == "dashboard":
                from reconcile.notebook.widgets import Dashboard
                self.dashboards.append(Dashboard(self))
                return self.dashboards[-1]
            return getattr(self, _METHODS.get(cmd.name, cmd.name))(**a)
        except (SessionError, ReconcileError, ValueError) as e:
            if isinstance(e, DslError):
                raise
            first = a.get(getattr(e, "at", "name"))
            word = next((w for w in (first, a.get("name"), a.get("kind"), a.get("pod"), a.get("node")) if w), None)
            column = cmd.text.find(word, len(cmd.name)) + 1 if word and word in cmd.text else 1
            raise CommandError(getattr(e, "message", None) or str(e), cmd.line, max(column, 1), path,
                               cmd.text) from None

    def wait_until(self, predicate: Callable[["Session"], bool], timeout: float = WAIT_TIMEOUT,
                   what: str = "the condition") -> None:
        """Wait until ``predicate(session)`` holds: on Ray, as the control plane's rounds go by; in
        the simulator, once it has settled (its clock does not wait for anyone)."""
        if self.simulated:
            self._settle()
            if not predicate(self):
                raise SessionError(f"{what} does not hold once the simulator has settled")
            return
        end = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > end:
                raise SessionError(f"{what} did not hold within {timeout:g}s")
            time.sleep(0.25)

    # -- the commands
    def apply(self, manifest: Iterable[KObject]) -> Text:
        """``kubectl apply``: create or update every object; returns a line per object."""
        manifest = list(manifest)
        lines = []
        with self.lock:
            if self.simulated and not self.cluster.list("Node") and not any(o.kind == "Node" for o in manifest):
                manifest = [*_default_nodes(), *manifest]
                lines.append("(no nodes yet: the simulator added node-1, node-2 and node-3, "
                             "4 cpu, 8Gi and 110 pods each)")
            done = self.cluster.apply(manifest)
        for action, ref in done:
            kind, _, name = ref.partition("/")
            lines.append(f"{_resource(kind)}/{name} {action}")
        self._settle()
        return Text("\n".join(lines))

    def plan(self, manifest: Iterable[KObject]) -> Text:
        """What applying ``manifest`` would change (``terraform plan``): nothing is applied."""
        from reconcile.plan import plan
        changes = [c for c in plan(list(manifest), self.snapshot()) if c.action != "unchanged"]
        counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "delete")}
        lines = []
        for c in changes:
            lines.append(str(c))
            lines += [f"      {p}: {_show(old)} -> {_show(new)}" for p, old, new in c.fields]
        lines.append(f"Plan: {counts['create']} to create, {counts['update']} to change, "
                     f"{counts['delete']} to delete.")
        return Text("\n".join(lines))

    def get(self, kind: str, name: str | None = None, namespace: str | None = None,
            selector: str | None = None) -> Table:
        """``kubectl get KIND``: a table of the objects, filtered by name, namespace and selector."""
        cls = self._kind(kind)
        sel = dsl.parse_selector("where " + selector) if selector else None
        objs = self.cluster.store.list(cls.KIND, namespace if cls.NAMESPACED else None, sel)
        if name is not None:
            objs = [o for o in objs if o.name == name]
            if not objs:
                raise SessionError(f'{cls.PLURAL} "{name}" not found')
        columns, row = _COLUMNS.get(cls.KIND, _COLUMNS[None])
        now = self.now()
        rows = [row(self, o, now) for o in objs]
        spaces = {o.metadata.namespace for o in objs}
        if cls.NAMESPACED and len(spaces) > 1:
            columns = ["NAMESPACE", *columns]
            rows = [[o.metadata.namespace, *r] for o, r in zip(objs, rows)]
        where = f" in namespace {namespace}" if namespace else ""
        return Table(columns, rows, empty=f"No resources found{where}.", title=cls.PLURAL)

    def describe(self, kind: str, name: str, namespace: str | None = None) -> Text:
        """``kubectl describe``: the object as YAML, then the events about it."""
        obj = self.find(kind, name, namespace)
        events = [e for e in self._events() if tuple(e[4] or ()) == obj.key]
        text = to_yaml(obj) + "\nEvents:\n"
        if events:
            text += "\n".join("  " + line for line in str(self._event_table(events)).splitlines())
        else:
            text += "  <none>"
        return Text(text)

    def scale(self, name: str, replicas: int, kind: str | None = None, namespace: str | None = None,
              progress: Progress | None = None) -> Text:
        """``kubectl scale``, then waits until the replicas are ready (showing progress on Ray)."""
        if replicas < 0:
            raise SessionError("the number of replicas cannot be negative")
        obj = self._scalable(name, kind, namespace)
        with self.lock:
            obj = self.store.get(obj.kind, obj.name, obj.metadata.namespace)
            self.store.update(obj.set(spec=obj.spec.set("replicas", replicas)))
        self._settle()
        done = self._wait_rollout(obj, progress)
        return Text(f"{_resource(obj.kind)}/{obj.name} scaled to {replicas}\n{done}")

    def _scalable(self, name: str, kind: str | None, namespace: str | None) -> KObject:
        kinds = [kind] if kind else ["Deployment", "StatefulSet", "ReplicaSet"]
        for k in kinds:
            cls = self._kind(k)
            if cls.KIND not in ("Deployment", "StatefulSet", "ReplicaSet"):
                raise SessionError(f"{cls.PLURAL} cannot be scaled (deployments, statefulsets and replicasets can)",
                                   at="kind")
            try:
                return self.find(k, name, namespace)
            except SessionError:
                if kind:
                    raise
        raise SessionError(f'no deployment, statefulset or replicaset named "{name}"')

    def rollout(self, action: str, name: str, kind: str | None = None, revision: int | None = None,
                namespace: str | None = None, progress: Progress | None = None) -> Text | Table:
        """``kubectl rollout status|restart|undo|history``."""
        kinds = [kind] if kind else ["Deployment", "StatefulSet", "DaemonSet"]
        obj = None
        for k in kinds:
            try:
                obj = self.find(k, name, namespace)
                break
            except SessionError:
                if kind:
                    raise
        if obj is None:
            raise SessionError(f'no deployment, statefulset or daemonset named "{name}"')
        if action == "history":
            return self._history(obj)
        if action == "restart":
            from reconcile.controllers.deployment import restart_template
            with self.lock:
                obj = self.store.get(obj.kind, obj.name, obj.metadata.namespace)
                self.store.update(obj.set(spec=obj.spec.set("template", restart_template(obj, self.now()))))
            self._settle()
            first = f"{_resource(obj.kind)}/{obj.name} restarted"
        elif action == "undo":
            if obj.kind != "Deployment":
                raise SessionError("rollout undo works on deployments")
            from reconcile.controllers.deployment import rollback_template
            with self.lock:
                obj = self.store.get(obj.kind, obj.name, obj.metadata.namespace)
                template = rollback_template(self.snapshot(), obj, revision)
                self.store.update(obj.set(spec=obj.spec.set("template", template)))
            self._settle()
            first = f"{_resource(obj.kind)}/{obj.name} rolled back"
        else:
            first = None
        done = self._wait_rollout(obj, progress)
        return Text(done if first is None else f"{first}\n{done}")

    def _history(self, d: KObject) -> Table:
        if d.kind != "Deployment":
            raise SessionError("rollout history works on deployments")
        snap = self.snapshot()
        rows = []
        for rs in snap.owned_by(d.metadata.uid, "ReplicaSet"):
            rev = rs.metadata.annotations.get("deployment.kubernetes.io/revision")
            if rev is not None:
                cause = rs.metadata.annotations.get("kubernetes.io/change-cause", "<none>")
                rows.append((int(rev), cause))
        return Table(["REVISION", "CHANGE-CAUSE"], [[str(r), c] for r, c in sorted(rows)],
                     title=f"{_resource(d.kind)}/{d.name}")

    def _wait_rollout(self, obj: KObject, progress: Progress | None) -> str:
        """Wait until the workload's rollout is done (kubectl's rollout status messages)."""
        progress = progress or _no_progress
        end = time.monotonic() + WAIT_TIMEOUT
        last = None
        while True:
            current = self.snapshot().get(obj.kind, obj.name, obj.metadata.namespace)
            if current is None:
                raise SessionError(f'{_resource(obj.kind)} "{obj.name}" was deleted')
            done, message = rollout_status(current)
            if done or self.simulated:          # (the simulator has settled: this is the end)
                return message
            if message != last:
                progress(message)
                last = message
            if time.monotonic() > end:
                raise SessionError(f"timed out after {WAIT_TIMEOUT:g}s: {message}")
            time.sleep(0.25)

    def logs(self, pod: str, container: str | None = None, tail: int | None = None,
             namespace: str | None = None) -> Text:
        """``kubectl logs``: a pod's container log (a real one: on Ray)."""
        p = self.find("Pod", pod, namespace)
        if self.simulated:
            raise SessionError("the simulator runs no processes, so its pods have no logs: "
                               "'connect local' runs the pods for real")
        try:
            return Text(self.cluster.logs(p.name, p.metadata.namespace, container, tail))
        except RuntimeError as e:
            raise SessionError(str(e)) from None

    def delete(self, kind: str, name: str, namespace: str | None = None) -> Text:
        """``kubectl delete``: the object, and (through the garbage collector) what it owns."""
        obj = self.find(kind, name, namespace)
        with self.lock:
            self.store.delete(obj.kind, obj.name, obj.metadata.namespace)
        self._settle()
        return Text(f'{_resource(obj.kind)} "{obj.name}" deleted')

    def events(self, limit: int = 20) -> Table:
        """The cluster's last ``limit`` events, oldest first."""
        return self._event_table(self._events()[-limit:] if limit else [])

    def _events(self) -> list:
        return list(self.cluster.events())

    def _event_table(self, events) -> Table:
        now = self.now()
        start = now - self.cluster.now if self.simulated else 0.0     # sim events count from its start
        rows = []
        for e in events:
            regarding = e[4] or ()
            obj = f"{regarding[0].lower()}/{regarding[2]}" if len(regarding) == 3 else ""
            rows.append([age(now - (start + e[0])), e[1], e[2], obj, e[3]])
        return Table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows, empty="No events.",
                     title="events")

    def cordon(self, node: str, on: bool = True) -> Text:
        """``kubectl cordon``: no new pods on the node (``uncordon`` undoes it)."""
        n = self.find("Node", node)
        with self.lock:
            n = self.store.get("Node", n.name, None)
            spec = n.spec.set("unschedulable", True) if on else n.spec.discard("unschedulable")
            self.store.update(n.set(spec=spec))
        self._settle()
        return Text(f"node/{n.name} {'cordoned' if on else 'uncordoned'}")

    def uncordon(self, node: str) -> Text:
        return self.cordon(node, on=False)

    def drain(self, node: str) -> Text:
        """``kubectl drain --ignore-daemonsets``: cordon the node, then evict its pods (their
        owners make them again elsewhere); DaemonSet pods stay."""
        lines = [str(self.cordon(node))]
        with self.lock:
            for p in self.snapshot().pods_on_node(node):
                owner = next((o for o in p.metadata.ownerReferences if o.controller), None)
                if owner is not None and owner.kind == "DaemonSet":
                    continue
                if p.metadata.deletionTimestamp is None:
                    self.store.delete("Pod", p.name, p.metadata.namespace)
                    lines.append(f"evicting pod {p.metadata.namespace}/{p.name}")
        self._settle()
        lines.append(f"node/{node} drained")
        return Text("\n".join(lines))

    def fail(self, node: str) -> Text:
        """The simulator only: the node's machine dies (its pods come back elsewhere after the
        node's grace period and the eviction timeout)."""
        self._simulator_only("fail", "on Ray, stop the machine's Ray node ('ray stop') to fail it")
        self.find("Node", node)
        with self.lock:
            self.cluster.fail_node(node)
        self._settle()
        return Text(f"node/{node} failed")

    def recover(self, node: str) -> Text:
        self._simulator_only("recover", "on Ray, start the machine's Ray node again")
        self.find("Node", node)
        with self.lock:
            self.cluster.recover_node(node)
        self._settle()
        return Text(f"node/{node} recovered")

    def advance(self, duration: str | float) -> Text:
        """The simulator only: run its clock ``duration`` (``30s``, ``5m``) further."""
        self._simulator_only("advance", "Ray runs on the wall clock")
        from reconcile.quantity import DurationError, parse_duration
        try:
            seconds = float(duration) if isinstance(duration, (int, float)) else float(parse_duration(duration))
        except DurationError as e:
            raise SessionError(f"expected a duration such as 30s or 5m: {e}") from None
        with self.lock:
            self.cluster.advance(seconds)
        self._notify()
        return Text(f"advanced {duration}: the simulator's clock is at {self.cluster.now:g}s")

    def failed(self, node: str) -> bool:
        """Whether the simulator's node was failed (``fail``) and not recovered."""
        if not self.simulated:
            return False
        from reconcile.sim.kubelet import FAILED
        n = self.snapshot().get("Node", node, None)
        return n is not None and n.metadata.annotations.get(FAILED) == "true"

    def _simulator_only(self, what: str, instead: str) -> None:
        if not self.simulated:
            raise SessionError(f"{what} is for the simulator: {instead}")


class _Results(list):
    def __init__(self, on_result):
        super().__init__()
        self.on_result = on_result

    def append(self, result) -> None:
        super().append(result)
        if self.on_result is not None:
            self.on_result(result)


def rollout_status(obj: KObject) -> tuple[bool, str]:
    """kubectl's rollout status viewers: (done, message) for a Deployment, StatefulSet or DaemonSet.

    >>> from reconcile.model import Deployment
    >>> d = Deployment.new("web", spec={"replicas": 3}, status={"observedGeneration": 1, "replicas": 3,
    ...                    "updatedReplicas": 1, "availableReplicas": 3})
    >>> rollout_status(d.set(metadata=d.metadata.set(generation=1)))
    (False, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...')
    """
    st, spec, name = obj.status, obj.spec, obj.name
    observed = st.get("observedGeneration") or 0
    if obj.kind == "Deployment":
        if obj.metadata.generation > observed:
            return False, "Waiting for deployment spec update to be observed..."
        for c in st.get("conditions") or ():
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise SessionError(f'deployment "{name}" exceeded its progress deadline')
        want = spec.get("replicas", 1)
        updated, total, available = (st.get("updatedReplicas", 0), st.get("replicas", 0),
                                     st.get("availableReplicas", 0))
        wait = f'Waiting for deployment "{name}" rollout to finish: '
        if updated < want:
            return False, wait + f"{updated} out of {want} new replicas have been updated..."
        if total > updated:
            return False, wait + f"{total - updated} old replicas are pending termination..."
        if available < updated:
            return False, wait + f"{available} of {updated} updated replicas are available..."
        return True, f'deployment "{name}" successfully rolled out'
    if obj.kind == "StatefulSet":
        if observed == 0 or obj.metadata.generation > observed:
            return False, "Waiting for statefulset spec update to be observed..."
        want, ready = spec.get("replicas", 1), st.get("readyReplicas", 0)
        if ready < want:
            return False, f"Waiting for {want - ready} pods to be ready..."
        if st.get("updateRevision") != st.get("currentRevision"):
            return False, (f"waiting for statefulset rolling update to complete {st.get('updatedReplicas', 0)} "
                           f"pods at revision {st.get('updateRevision')}...")
        return True, f"statefulset rolling update complete {want} pods at revision {st.get('currentRevision')}..."
    if obj.kind == "DaemonSet":
        if obj.metadata.generation > observed:
            return False, "Waiting for daemon set spec update to be observed..."
        want = st.get("desiredNumberScheduled", 0)
        updated, available = st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0)
        if updated < want:
            return False, (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {want} new pods '
                           "have been updated...")
        if available < want:
            return False, (f'Waiting for daemon set "{name}" rollout to finish: {available} of {want} updated '
                           "pods are available...")
        return True, f'daemon set "{name}" successfully rolled out'
    return True, f"{obj.kind.lower()}/{name}"


# -- helpers

_HIDDEN = {"Lease", "Endpoints", "ControllerRevision"}
_INSPECT_ORDER = ["Deployment", "StatefulSet", "DaemonSet", "Job", "Service", "Pod", "Node", "Namespace"]
_METHODS = {"fail": "fail", "recover": "recover"}


def to_yaml(obj: KObject) -> str:
    return yaml.safe_dump(thaw(obj.to_dict()), sort_keys=False, default_flow_style=False)


def _show(value) -> str:
    import json
    return "(none)" if value is None else json.dumps(value)


def _load(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SessionError(f"cannot read {path}: {e.strerror}") from None
    if path.endswith((".yaml", ".yml")):
        return dsl.load_yaml(text)
    return dsl.parse(text, path)


def _resource(kind: str) -> str:
    """kubectl's resource name of a kind: ``deployment.apps``, ``job.batch``, ``service``."""
    cls = kind_class(kind)
    group = cls.API_VERSION.split("/")[0] if "/" in cls.API_VERSION else ""
    return f"{cls.KIND.lower()}.{group}" if group else cls.KIND.lower()


def _default_nodes() -> list[KObject]:
    cap = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return [Node.new(f"node-{i}", status={"capacity": cap}) for i in range(1, 4)]


def pod_ready(obj) -> bool:
    """Whether the object's ``Ready`` condition is True."""
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in obj.status.get("conditions") or ())


def pod_status(p: KObject) -> str:
    """kubectl's STATUS column of a pod."""
    if p.metadata.deletionTimestamp is not None:
        return "Terminating"
    for c in p.status.get("containerStatuses") or ():
        state = c.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            return state["waiting"]["reason"]
        if "terminated" in state and p.status.get("phase") not in ("Succeeded", "Failed"):
            return state["terminated"].get("reason") or "Error"
    if p.status.get("phase") == "Succeeded":
        return "Completed"
    return p.status.get("phase") or "Pending"


def _age(o, now):
    created = o.metadata.creationTimestamp
    return age(now - created) if created is not None else "<unknown>"


def _pod_row(s, p, now):
    cs = p.status.get("containerStatuses") or ()
    n = len(p.spec.get("containers") or ())
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in cs)
    return [p.name, f"{ready}/{n}", pod_status(p), str(restarts), _age(p, now), p.spec.get("nodeName") or "<none>"]


def node_status(node: KObject) -> str:
    """kubectl's STATUS of a node: ``Ready``, ``NotReady`` or ``Unknown``, then ``,SchedulingDisabled``
    when it is cordoned."""
    ready = next((c.get("status") for c in node.status.get("conditions") or () if c.get("type") == "Ready"), None)
    text = {"True": "Ready", "Unknown": "Unknown"}.get(ready, "NotReady")
    return text + (",SchedulingDisabled" if node.spec.get("unschedulable") else "")


def _node_row(s, n, now):
    pods = sum(1 for _ in s.snapshot().pods_on_node(n.name))
    return [n.name, node_status(n), str(pods), _age(n, now)]


def _deployment_row(s, d, now):
    st = d.status
    return [d.name, f"{st.get('readyReplicas', 0)}/{d.spec.get('replicas', 1)}", str(st.get("updatedReplicas", 0)),
            str(st.get("availableReplicas", 0)), _age(d, now)]


def _replicaset_row(s, r, now):
    st = r.status
    return [r.name, str(r.spec.get("replicas", 1)), str(st.get("replicas", 0)), str(st.get("readyReplicas", 0)),
            _age(r, now)]


def _statefulset_row(s, o, now):
    return [o.name, f"{o.status.get('readyReplicas', 0)}/{o.spec.get('replicas', 1)}", _age(o, now)]


def _daemonset_row(s, o, now):
    st = o.status
    return [o.name, *(str(st.get(k, 0)) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                                  "updatedNumberScheduled", "numberAvailable")), _age(o, now)]


def _job_row(s, j, now):
    st = j.status
    conds = {c.get("type") for c in st.get("conditions") or () if c.get("status") == "True"}
    status = "Complete" if "Complete" in conds else "Failed" if "Failed" in conds else (
        "Suspended" if j.spec.get("suspend") else "Running")
    return [j.name, status, f"{st.get('succeeded', 0)}/{j.spec.get('completions', 1)}", _age(j, now)]


def _service_row(s, o, now):
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in o.spec.get("ports") or ())
    ingress = ((o.status.get("loadBalancer") or {}).get("ingress") or [None])[0]
    external = ",".join(f"{ingress['ip']}:{p['port']}" for p in ingress.get("ports") or ()) if ingress else "<none>"
    return [o.name, o.spec.get("type", "ClusterIP"), external, ports or "<none>", _age(o, now)]


def _namespace_row(s, o, now):
    return [o.name, "Terminating" if o.metadata.deletionTimestamp else "Active", _age(o, now)]


_COLUMNS = {
    "Pod": (["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"], _pod_row),
    "Node": (["NAME", "STATUS", "PODS", "AGE"], _node_row),
    "Deployment": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], _deployment_row),
    "ReplicaSet": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], _replicaset_row),
    "StatefulSet": (["NAME", "READY", "AGE"], _statefulset_row),
    "DaemonSet": (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], _daemonset_row),
    "Job": (["NAME", "STATUS", "COMPLETIONS", "AGE"], _job_row),
    "Service": (["NAME", "TYPE", "EXTERNAL-IP", "PORT(S)", "AGE"], _service_row),
    "Namespace": (["NAME", "STATUS", "AGE"], _namespace_row),
    None: (["NAME", "AGE"], lambda s, o, now: [o.name, _age(o, now)]),
}
