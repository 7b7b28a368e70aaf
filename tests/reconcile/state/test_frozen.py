"""Objects are frozen at the store's door: what a caller still holds cannot change a stored object."""

from pyrsistent import PMap, PVector, pmap

from reconcile.api.model import Deployment, Pod
from reconcile.state.durable import SqliteBackend
from reconcile.state.store import Store


def _deployment():
    return Deployment.new("web", "default", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "c", "command": ["serve"]}]}}})


def _with_ports(d, ports):
    """``d`` with a plain list put deep inside its frozen spec, as ``.set`` allows."""
    t = d.spec["template"]
    c = t["spec"]["containers"][0].set("ports", ports)
    return d.set(spec=d.spec.set("template", t.set("spec", t["spec"].set("containers", t["spec"]["containers"].set(0, c)))))


def _ports(obj):
    return obj.spec["template"]["spec"]["containers"][0]["ports"]


def test_a_list_put_into_an_object_and_changed_after_create_does_not_change_the_stored_object():
    s = Store(clock=lambda: 1.0)
    ports = [{"containerPort": 80}]
    created = s.create(_with_ports(_deployment(), ports))
    ports.append({"containerPort": 81})
    ports[0]["containerPort"] = 1
    stored = s.get("Deployment", "web")
    assert [p["containerPort"] for p in _ports(stored)] == [80] == [p["containerPort"] for p in _ports(created)]
    assert isinstance(_ports(stored), PVector) and isinstance(_ports(stored)[0], PMap)
    assert s.revision == 1


def test_update_update_status_and_patch_freeze_what_they_are_given_too():
    s = Store(clock=lambda: 1.0)
    d = s.create(_deployment())
    ports = [{"containerPort": 80}]
    updated = s.update(_with_ports(d, ports))      # the stored object, as a watch sees it at its revision
    conditions = [{"type": "Available", "status": "True"}]
    d = s.get("Deployment", "web")
    s.update_status(d.set(status=d.status.set("conditions", conditions)))
    labels = {"tier": "front"}
    d = s.get("Deployment", "web")
    s.update(d.set(metadata=d.metadata.set(labels=labels)))         # a plain dict as the labels
    command = ["serve", "--fast"]       # a list inside a map inside the patch's list
    s.patch("Deployment", "web", patch={"spec": {"template": {"spec": {"containers": [
        pmap({"name": "c", "command": command})]}}}})
    ports.append({"containerPort": 81})
    conditions.clear()
    labels["tier"] = "back"
    command.append("--debug")
    stored = s.get("Deployment", "web")
    assert [c["type"] for c in stored.status["conditions"]] == ["Available"]
    assert dict(stored.metadata.labels) == {"tier": "front"} and isinstance(stored.metadata.labels, PMap)
    assert list(stored.spec["template"]["spec"]["containers"][0]["command"]) == ["serve", "--fast"]
    assert [p["containerPort"] for p in _ports(updated)] == [80]
    assert [p["containerPort"] for p in _ports(s.watch(1)[0].object)] == [80]


def test_a_frozen_object_is_stored_as_it_is_sharing_its_parts():
    s = Store(clock=lambda: 1.0)
    p = Pod.new("a", "default", spec={"containers": [{"name": "c"}]}, status={"phase": "Pending"})
    created = s.create(p)
    assert created.spec is p.spec and created.status is p.status


def test_memory_and_disk_agree_after_the_callers_list_changes(tmp_path):
    path = str(tmp_path / "state.db")
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    ports = [{"containerPort": 80}]
    s.create(_with_ports(_deployment(), ports))
    ports.append({"containerPort": 81})
    memory = s.get("Deployment", "web")
    s.close()
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    assert s.get("Deployment", "web") == memory
    s.close()
