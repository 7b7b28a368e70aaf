"""What a front end may ask of a cluster: the :class:`Cluster` protocol, and the events it keeps.

The CLI, the notebook and (soon) the API server talk to a cluster only through these methods,
whatever runs its pods: the simulator (:class:`reconcile.sim.SimCluster`) or Ray
(:class:`cluster_ray.RayCluster`), both a :class:`~reconcile.controlplane.plane.ControlPlane`.
What differs between runtimes is said by capabilities, not by asking which runtime it is:

- ``can_fail_nodes``: ``fail_node``/``recover_node`` make a node's machine die and come back;
- ``has_logs``: the pods are real processes, ``logs`` reads their output;
- ``virtual_clock``: time moves only when asked (``advance``, ``settle``), so once ``settle``
  returns, waiting longer changes nothing.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, runtime_checkable

from reconcile.api.model import KObject

__all__ = ["Cluster", "ClusterEvent", "ClusterError", "Listeners"]


class ClusterError(RuntimeError):
    """What the cluster cannot do as asked (a capability it lacks, a pod not running yet)."""


class ClusterEvent(tuple):
    """``(time, type, reason, message, regarding)``: an event of the cluster, as ``kubectl get events``
    lists them. ``time`` is in seconds from the cluster's ``epoch`` (the simulator's start; the Unix
    epoch on the wall clock); ``regarding`` is the object's ``(kind, namespace, name)`` or None.

    >>> e = ClusterEvent(1.5, "Normal", "Scheduled", "Successfully assigned default/a to n1", ("Pod", "default", "a"))
    >>> e.reason, e.time
    ('Scheduled', 1.5)
    """

    __slots__ = ()

    def __new__(cls, time, type_, reason, message, regarding):
        return tuple.__new__(cls, (time, type_, reason, message, regarding))

    time = property(lambda self: self[0])
    type = property(lambda self: self[1])
    reason = property(lambda self: self[2])
    message = property(lambda self: self[3])
    regarding = property(lambda self: self[4])


class Listeners:
    """Functions to call after a change; one that raises is left out of the caller's work.

    >>> heard = []
    >>> listeners = Listeners()
    >>> stop = listeners.add(heard.append)
    >>> listeners.call("first"); stop(); listeners.call("second")
    >>> heard
    ['first']
    """

    def __init__(self):
        self._fns: list[Callable] = []

    def add(self, fn: Callable) -> Callable[[], None]:
        """Listen with ``fn``; returns the function that stops it."""
        self._fns.append(fn)
        return lambda: self._fns.remove(fn) if fn in self._fns else None

    def call(self, arg) -> None:
        for fn in list(self._fns):
            try:
                fn(arg)
            except Exception:           # a broken listener must not break the cluster
                pass

    def __len__(self) -> int:
        return len(self._fns)

    def __contains__(self, fn) -> bool:
        return fn in self._fns


@runtime_checkable
class Cluster(Protocol):
    """A running cluster, as its clients see it (``kubectl``'s verbs)."""

    can_fail_nodes: bool
    has_logs: bool
    virtual_clock: bool
    epoch: float

    def clock(self) -> float: ...

    def describe(self, brief: bool = False) -> str: ...

    def apply(self, manifest: Iterable[KObject]) -> list[tuple[str, str]]: ...

    def get(self, kind: str, name: str, namespace: str | None = "default") -> KObject: ...

    def list(self, kind: str, selector=None, namespace: str | None = None) -> list[KObject]: ...

    def delete(self, kind: str, name: str, namespace: str | None = "default") -> None: ...

    def scale(self, kind: str, name: str, replicas: int, namespace: str = "default") -> None: ...

    def rollout_restart(self, name: str, namespace: str = "default", kind: str = "Deployment") -> None: ...

    def rollout_undo(self, name: str, revision: int | None = None, namespace: str = "default") -> None: ...

    def cordon(self, name: str, on: bool = True) -> None: ...

    def uncordon(self, name: str) -> None: ...

    def drain(self, name: str) -> list[KObject]: ...

    def events(self) -> list[ClusterEvent]: ...

    def on_change(self, fn: Callable[["Cluster"], None]) -> Callable[[], None]: ...

    def logs(self, name: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None) -> str: ...

    def settle(self) -> None: ...

    def wait_until(self, predicate: Callable[["Cluster"], bool], timeout: float = 60.0,
                   what: str = "the condition") -> None: ...

    def start(self) -> None: ...

    def close(self) -> None: ...
