"""Build states for controller table tests: objects in a store, read back as a snapshot."""

from pyrsistent import pmap, pvector

from reconcile.model import pod_from_template
from reconcile.store import Store


class State:
    def __init__(self, now=1000.0):
        self.now = now
        self.store = Store(clock=lambda: self.now, policies=False)

    def add(self, obj):
        return self.store.create(obj)

    def status(self, obj, **status):
        cur = self.store.get(obj.kind, obj.name, obj.metadata.namespace)
        return self.store.update_status(cur.set(status=cur.status.update(status)))

    def pod(self, owner, name, node=None, phase=None, ready=False, ready_since=None, restarts=0, labels=None):
        template = owner.spec.get("template") if owner is not None else pmap({"spec": pmap({"containers": pvector()})})
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
