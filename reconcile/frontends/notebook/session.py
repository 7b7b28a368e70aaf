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
from typing import Callable, Iterable

import dsl
from dsl import DslError
from reconcile.controllers.workloads import is_ready
from reconcile.controlplane import ClusterError, Listeners
from reconcile.api.errors import ReconcileError
from reconcile.api.model import KObject, ModelError, kind_class
from reconcile.frontends.notebook.commands import Command, CommandError, SessionError, parse_command, split_cell
from reconcile.frontends.notebook.display import Table, Text, age
from reconcile.frontends.notebook.operations import WAIT_TIMEOUT, NodeCommands, Progress, WorkloadCommands
from reconcile.frontends.notebook.views import (
    COLUMNS, node_status, pod_ready, pod_status, resource_name, rollout_status, to_yaml,
)

__all__ = ["Session", "SessionError", "rollout_status", "pod_status", "pod_ready", "node_status"]


class Session(WorkloadCommands, NodeCommands):
    """The cluster a front end is connected to. ``target``: ``"sim"`` (the default), ``"local"``
    (a local Ray started for it) or a Ray address (``ray://HOST:PORT`` or ``HOST:PORT``)."""

    def __init__(self, target: str = "sim", *, seed: int = 0, num_cpus: int | None = None):
        self.seed = seed
        self.num_cpus = num_cpus
        self.cluster = None
        self.target = None
        self._listeners = Listeners()
        self._unsubscribe: Callable[[], None] = lambda: None
        self.dashboards: list = []          # the dashboards the ``dashboard`` command made, newest last
        self.connect(target)

    # -- connection
    @property
    def lock(self):
        """The cluster's lock: held while a command writes (a runtime's rounds hold it too)."""
        return self.cluster.lock if self.cluster is not None else _NO_CLUSTER_LOCK

    def connect(self, target: str) -> Text:
        """Connect to another cluster (the one before is let go; a local Ray it started is stopped):
        ``sim``, ``local`` or a Ray address. The cluster runs by itself until the next connect."""
        self.close()
        if target == "sim":
            from reconcile.sim import SimCluster
            cluster = SimCluster(seed=self.seed, node_grace=10.0, eviction_timeout=5.0)
        else:
            address = None if target == "local" else target
            if address is not None:         # a Ray started by `ray start` wants its token (before ray is imported)
                from cluster_ray.local import use_token_auth
                use_token_auth()
            from cluster_ray import RayCluster
            cluster = RayCluster(address=address, num_cpus=self.num_cpus)
        self.cluster, self.target = cluster, target
        self._unsubscribe = cluster.on_change(lambda _: self._notify())
        cluster.start()
        self.wait_until(lambda s: all(is_ready(n) for n in s.cluster.list("Node")),
                        timeout=120, what="every node Ready")
        self._notify()
        return Text(f"connected to {cluster.describe()}")

    def close(self) -> None:
        """Let the cluster go: stop its rounds, and bring down a Ray it started."""
        if self.cluster is not None:
            self._unsubscribe()
            self.cluster.close()
        self.cluster = None

    # -- watching
    def on_change(self, fn: Callable[["Session"], None]) -> Callable[[], None]:
        """Call ``fn(session)`` after every change of the cluster; returns the function that stops it."""
        return self._listeners.add(fn)

    def _notify(self) -> None:
        self._listeners.call(self)

    def _settle(self) -> None:
        """After a change: let the cluster settle where its clock can be run (the simulator's);
        then tell the listeners."""
        self.cluster.settle()
        self._notify()

    # -- reading
    @property
    def store(self):
        return self.cluster.store

    def now(self) -> float:
        return self.cluster.clock()

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
                from reconcile.frontends.notebook.widgets import Dashboard
                self.dashboards.append(Dashboard(self))
                return self.dashboards[-1]
            return getattr(self, cmd.name)(**a)
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
        """Wait until ``predicate(session)`` holds: on the wall clock, as the control plane's rounds go
        by; on a virtual clock, once the cluster has settled (its clock does not wait for anyone)."""
        try:
            self.cluster.wait_until(lambda _: predicate(self), timeout, what)
        except TimeoutError as e:
            raise SessionError(str(e)) from None

    # -- the commands
    def apply(self, manifest: Iterable[KObject]) -> Text:
        """``kubectl apply``: create or update every object; returns a line per object."""
        manifest = list(manifest)
        lines = []
        with self.lock:
            nodes = self.cluster.default_nodes_for(manifest)
            if nodes:
                manifest = [*nodes, *manifest]
                lines.append(_added_nodes(nodes))
            done = self.cluster.apply(manifest)
        for action, ref in done:
            kind, _, name = ref.partition("/")
            lines.append(f"{resource_name(kind)}/{name} {action}")
        self._settle()
        return Text("\n".join(lines))

    def plan(self, manifest: Iterable[KObject]) -> Text:
        """What applying ``manifest`` would change (``terraform plan``): nothing is applied."""
        from reconcile.frontends.plan import format_plan, plan
        return Text("\n".join(format_plan(plan(list(manifest), self.snapshot()))))

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
        columns, row = COLUMNS.get(cls.KIND, COLUMNS[None])
        now = self.now()
        snap = self.snapshot()
        rows = [row(snap, o, now) for o in objs]
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

    def logs(self, pod: str, container: str | None = None, tail: int | None = None,
             namespace: str | None = None) -> Text:
        """``kubectl logs``: a pod's container log (a real one: on Ray)."""
        p = self.find("Pod", pod, namespace)
        if not self.cluster.has_logs:
            raise SessionError("the simulator runs no processes, so its pods have no logs: "
                               "'connect local' runs the pods for real")
        try:
            return Text(self.cluster.logs(p.name, p.metadata.namespace, container, tail))
        except ClusterError as e:
            raise SessionError(str(e)) from None

    def delete(self, kind: str, name: str, namespace: str | None = None) -> Text:
        """``kubectl delete``: the object, and (through the garbage collector) what it owns."""
        obj = self.find(kind, name, namespace)
        self.cluster.delete(obj.kind, obj.name, obj.metadata.namespace)
        self._settle()
        return Text(f'{resource_name(obj.kind)} "{obj.name}" deleted')

    def events(self, limit: int = 20) -> Table:
        """The cluster's last ``limit`` events, oldest first."""
        return self._event_table(self._events()[-limit:] if limit else [])

    def _events(self) -> list:
        return list(self.cluster.events())

    def _event_table(self, events) -> Table:
        now = self.now()
        start = self.cluster.epoch                  # (the simulator's events count from its start)
        rows = []
        for e in events:
            regarding = e[4] or ()
            obj = f"{regarding[0].lower()}/{regarding[2]}" if len(regarding) == 3 else ""
            rows.append([age(now - (start + e[0])), e[1], e[2], obj, e[3]])
        return Table(["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], rows, empty="No events.",
                     title="events")

class _Results(list):
    def __init__(self, on_result):
        super().__init__()
        self.on_result = on_result

    def append(self, result) -> None:
        super().append(result)
        if self.on_result is not None:
            self.on_result(result)


# -- helpers

_NO_CLUSTER_LOCK = threading.RLock()


def _added_nodes(nodes) -> str:
    """The line that says which nodes a cluster with none was given ("node-1, node-2 and node-3")."""
    names = [n.name for n in nodes]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    cap = nodes[0].status.get("capacity") or {}
    return (f"(no nodes yet: the simulator added {listed}, {cap.get('cpu')} cpu, {cap.get('memory')} and "
            f"{cap.get('pods')} pods each)")

_HIDDEN = {"Lease", "Endpoints", "ControllerRevision"}
_INSPECT_ORDER = ["Deployment", "StatefulSet", "DaemonSet", "Job", "Service", "Pod", "Node", "Namespace"]


def _load(path: str):
    """The file's objects (``dsl.load_file``: the errors the command line prints, naming the file)."""
    return dsl.load_file(path)
