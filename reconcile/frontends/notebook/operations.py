"""The commands of a :class:`~reconcile.frontends.notebook.session.Session` that change workloads (``scale``,
``rollout``) and nodes (``cordon``, ``drain``, and the simulator's ``fail``, ``recover``, ``advance``).

They are mixed into ``Session``: each reads and writes through the session's store under its
lock, and lets the cluster settle (``_settle``) as every command does.
"""

from __future__ import annotations

import time
from typing import Callable

from reconcile.controllers.deployment import revision_history
from reconcile.api.model import KObject
from reconcile.frontends.notebook.commands import SessionError
from reconcile.frontends.notebook.display import Table, Text
from reconcile.frontends.notebook.views import resource_name, rollout_status

__all__ = ["WorkloadCommands", "NodeCommands", "WAIT_TIMEOUT"]

Progress = Callable[[str], None]
WAIT_TIMEOUT = 300.0          # seconds a command waits on Ray before giving up


def _no_progress(message: str) -> None:
    pass


class WorkloadCommands:
    """``scale`` and ``rollout``, waiting as ``kubectl rollout status`` does."""

    def scale(self, name: str, replicas: int, kind: str | None = None, namespace: str | None = None,
              progress: Progress | None = None) -> Text:
        """``kubectl scale``, then waits until the replicas are ready (showing progress on Ray)."""
        if replicas < 0:
            raise SessionError("the number of replicas cannot be negative")
        obj = self._scalable(name, kind, namespace)
        self.cluster.scale(obj.kind, obj.name, replicas, obj.metadata.namespace)
        self._settle()
        done = self._wait_rollout(obj, progress)
        return Text(f"{resource_name(obj.kind)}/{obj.name} scaled to {replicas}\n{done}")

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
            self.cluster.rollout_restart(obj.name, obj.metadata.namespace, kind=obj.kind)
            self._settle()
            first = f"{resource_name(obj.kind)}/{obj.name} restarted"
        elif action == "undo":
            if obj.kind != "Deployment":
                raise SessionError("rollout undo works on deployments")
            self.cluster.rollout_undo(obj.name, revision, obj.metadata.namespace)
            self._settle()
            first = f"{resource_name(obj.kind)}/{obj.name} rolled back"
        else:
            first = None
        done = self._wait_rollout(obj, progress)
        return Text(done if first is None else f"{first}\n{done}")

    def _history(self, d: KObject) -> Table:
        if d.kind != "Deployment":
            raise SessionError("rollout history works on deployments")
        rows = [[str(rev), rs.metadata.annotations.get("kubernetes.io/change-cause", "<none>")]
                for rev, rs in revision_history(self.snapshot(), d)]
        return Table(["REVISION", "CHANGE-CAUSE"], rows, title=f"{resource_name(d.kind)}/{d.name}")

    def _wait_rollout(self, obj: KObject, progress: Progress | None) -> str:
        """Wait until the workload's rollout is done (kubectl's rollout status messages)."""
        progress = progress or _no_progress
        end = time.monotonic() + WAIT_TIMEOUT
        last = None
        while True:
            current = self.snapshot().get(obj.kind, obj.name, obj.metadata.namespace)
            if current is None:
                raise SessionError(f'{resource_name(obj.kind)} "{obj.name}" was deleted')
            done, message = rollout_status(current)
            if done or self.cluster.virtual_clock:      # (it has settled: waiting changes nothing)
                return message
            if message != last:
                progress(message)
                last = message
            if time.monotonic() > end:
                raise SessionError(f"timed out after {WAIT_TIMEOUT:g}s: {message}")
            time.sleep(0.25)


class NodeCommands:
    """``cordon``, ``uncordon``, ``drain``; in the simulator ``fail``, ``recover``, ``advance``."""

    def cordon(self, node: str, on: bool = True) -> Text:
        """``kubectl cordon``: no new pods on the node (``uncordon`` undoes it)."""
        n = self.find("Node", node)
        self.cluster.cordon(n.name, on)
        self._settle()
        return Text(f"node/{n.name} {'cordoned' if on else 'uncordoned'}")

    def uncordon(self, node: str) -> Text:
        return self.cordon(node, on=False)

    def drain(self, node: str) -> Text:
        """``kubectl drain --ignore-daemonsets``: cordon the node, then evict its pods (their
        owners make them again elsewhere); DaemonSet pods stay."""
        lines = [str(self.cordon(node))]
        evicted = self.cluster.drain(node)
        lines += [f"evicting pod {p.metadata.namespace}/{p.name}" for p in evicted]
        self._settle()
        lines.append(f"node/{node} drained")
        return Text("\n".join(lines))

    def fail(self, node: str) -> Text:
        """The simulator only: the node's machine dies (its pods come back elsewhere after the
        node's grace period and the eviction timeout)."""
        return self._machine(node, "fail", "failed", "on Ray, stop the machine's Ray node ('ray stop') to fail it")

    def recover(self, node: str) -> Text:
        return self._machine(node, "recover", "recovered", "on Ray, start the machine's Ray node again")

    def _machine(self, node: str, verb: str, done: str, on_ray: str) -> Text:
        """The cluster's ``fail_node`` or ``recover_node`` of ``node``, and the settled cluster."""
        if not self.cluster.can_fail_nodes:
            raise SessionError(f"{verb} is for the simulator: {on_ray}")
        self.find("Node", node)
        getattr(self.cluster, f"{verb}_node")(node)
        self._settle()
        return Text(f"node/{node} {done}")

    def advance(self, duration: str | float) -> Text:
        """The simulator only: run its clock ``duration`` (``30s``, ``5m``) further."""
        if not self.cluster.virtual_clock:
            raise SessionError("advance is for the simulator: Ray runs on the wall clock")
        from reconcile.api.quantity import DurationError, parse_duration
        try:
            seconds = float(duration) if isinstance(duration, (int, float)) else float(parse_duration(duration))
        except DurationError as e:
            raise SessionError(f"expected a duration such as 30s or 5m: {e}") from None
        self.cluster.advance(seconds)
        self._notify()
        return Text(f"advanced {duration}: the simulator's clock is at {self.cluster.now:g}s")

    def failed(self, node: str) -> bool:
        """Whether the node's machine was failed (``fail``) and not recovered."""
        return self.cluster.node_failed(node)
