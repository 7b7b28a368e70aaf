"""Actions: what controllers ask for, as data. The engine carries them out.

A controller never writes; it returns these. ``apply_action`` (used only by
the engine) turns one into a store call.

>>> from reconcile.api.model import Namespace
>>> Create(Namespace.new("shop"))
Create(Namespace(shop))
"""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.api.model import KObject

__all__ = ["Action", "Create", "Update", "UpdateStatus", "Delete", "Bind", "Emit", "Result", "apply_action"]


class Action:
    """Base of the actions (frozen dataclasses)."""

    __slots__ = ()


class _OnObject(Action):
    """An action carrying a whole object; shown as ``Kind(object)``."""

    __slots__ = ()

    def __repr__(self):
        return f"{type(self).__name__}({self.object!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Create(_OnObject):
    object: KObject


@dataclass(frozen=True, slots=True, repr=False)
class Update(_OnObject):
    """Write metadata and spec; with the object's resourceVersion, a Conflict if it changed meanwhile."""

    object: KObject


@dataclass(frozen=True, slots=True, repr=False)
class UpdateStatus(_OnObject):
    """Write the status only."""

    object: KObject


@dataclass(frozen=True, slots=True)
class Delete(Action):
    kind: str
    name: str
    namespace: str | None = "default"
    propagation: str = "Background"
    resource_version: str | None = None   # a precondition: delete only this version

    def __repr__(self):
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"Delete({self.kind} {ns}{self.name})"


@dataclass(frozen=True, slots=True)
class Bind(Action):
    """Bind a pending pod to a node (what the scheduler does)."""

    namespace: str
    name: str
    node: str

    def __repr__(self):
        return f"Bind({self.namespace}/{self.name} -> {self.node})"


@dataclass(frozen=True, slots=True)
class Emit(Action):
    """Record a Kubernetes-style event (``Normal``/``Warning``, a reason, a message) about an object."""

    type: str
    reason: str
    message: str
    regarding: tuple = ()       # (kind, namespace, name)


@dataclass(frozen=True, slots=True)
class Result:
    """What a controller returns: actions, and optionally when to look at the key again."""

    actions: tuple = ()
    requeue_after: float | None = None


def apply_action(store, action: Action, now: float, emit) -> None:
    """Carry out one action through the store (the one place where controller effects happen)."""
    if isinstance(action, Create):
        store.create(action.object)
    elif isinstance(action, Update):
        store.update(action.object)
    elif isinstance(action, UpdateStatus):
        store.update_status(action.object)
    elif isinstance(action, Delete):
        store.delete(action.kind, action.name, action.namespace, propagation=action.propagation,
                     resource_version=action.resource_version)
    elif isinstance(action, Bind):
        store.bind(action.namespace, action.name, action.node)
    elif isinstance(action, Emit):
        emit(now, action)
    else:
        raise TypeError(f"not an action: {action!r}")
