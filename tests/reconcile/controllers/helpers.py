"""Build states for controller table tests: objects in a store, read back as a snapshot."""

from pyrsistent import pmap, pvector

from reconcile.api.model import pod_from_template
from reconcile.state.store import Store


class State:
    def __init__(self, now=1000.0):
        self.now = now
        self.store = Store(clock=lambda: self.now, policies=False)

    def add(self, obj):
        return self.store.create(obj)

    def add_unvalidated(self, obj):
        """Store an object that validation refuses today (one written before validation existed, restored
        from an older state file), to test that a controller copes with it."""
        from unittest import mock
        from reconcile.state import admission
        with mock.patch.object(admission, "validate", lambda obj: None):
            return self.store.create(obj)

    def status(self, obj, **status):
        cur = self.store.get(obj.kind, obj.name, obj.metadata.namespace)
        return self.store.update_status(cur.set(status=cur.status.update(status)))

    def pod(self, owner, name, node=None, phase=None, ready=False, ready_since=None, restarts=0, labels=None):
        template = owner.spec.get("template") if owner is not None else \
            pmap({"spec": pmap({"containers": pvector([pmap({"name": "c"})])})})
        p = pod_from_template(template, name, "default", owner=owner)
        if labels is not None:
            p = p.set(metadata=p.metadata.set(labels=pmap(labels)))
        if node:
            p = p.set(spec=p.spec.set("nodeName", node))
        p = self.add(p)
        if phase:
            conds = [{"type": "Ready", "status": "True" if ready else "False",
                      "lastTransitionTime": ready_since if ready_since is not None else self.now}]
            p = self.status(p, phase=phase, conditions=conds,
                            containerStatuses=[{"name": "c", "restartCount": restarts}])
        return p

    @property
    def snapshot(self):
        return self.store.snapshot()


def kinds(result):
    return [type(a).__name__ for a in result.actions]


def apply(state, result):
    """Carry out a controller's actions on the state's store, as the engine would."""
    from reconcile.engine.actions import apply_action
    for a in result.actions:
        apply_action(state.store, a, state.now, lambda *_: None)


def settle(state, reconcile, key, after=None, rounds=20):
    """Run ``reconcile`` on ``key`` and carry out its actions (then ``after(state)``, standing in
    for the rest of the cluster) until it asks for nothing but events; returns that last result."""
    for _ in range(rounds):
        result = reconcile(state.snapshot, key, state.now)
        if all(type(a).__name__ == "Emit" for a in result.actions):
            return result
        apply(state, result)
        if after is not None:
            after(state)
    raise AssertionError(f"{key} did not settle in {rounds} rounds")


def words(result, create=lambda obj: "Create", update=lambda obj: f"Update {obj.name}"):
    """A result's actions as short words, to compare with a table's: ``create(obj)``,
    ``Delete <name>``, ``update(obj)``, ``Status``, ``Event <reason>``."""
    out = []
    for a in result.actions:
        kind = type(a).__name__
        if kind == "Create":
            out.append(create(a.object))
        elif kind == "Delete":
            out.append(f"Delete {a.name}")
        elif kind == "Update":
            out.append(update(a.object))
        elif kind == "UpdateStatus":
            out.append("Status")
        elif kind == "Emit":
            out.append(f"Event {a.reason}")
    return out
