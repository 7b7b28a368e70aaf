"""Admission on every write: whole-object validation, the server's uid, and policies on quantities."""

from __future__ import annotations

import pytest
from pyrsistent import pmap

from reconcile.api.errors import Forbidden, Invalid
from reconcile.api.model import DaemonSet, Deployment, Pod, Policy, freeze
from reconcile.state.store import Store, apply_object


class Clock:
    def __call__(self):
        return 100.0


@pytest.fixture
def store():
    return Store(clock=Clock())


def pod(name, *requests, labels=None):
    """A pod with one container per entry of ``requests`` (a cpu quantity, or None for no requests)."""
    containers = [{"name": f"c{i}", **({"resources": {"requests": {"cpu": cpu}}} if cpu is not None else {})}
                  for i, cpu in enumerate(requests)]
    return Pod.new(name, "default", labels=labels or {}, spec={"containers": containers})


def deployment(name="web", replicas=1, cpu="100m"):
    return Deployment.new(name, "default", spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}}})


# -- item 6: validation of the whole object on every write

def test_a_bad_quantity_is_refused_with_its_field_path_and_not_stored(store):
    with pytest.raises(Invalid) as e:
        store.create(deployment(cpu="12x"))
    assert str(e.value).startswith('Deployment.apps "web" is invalid: spec.template.spec.containers[0].resources.'
                                   'requests.cpu: Invalid value: "12x": quantities must match the regular expression')
    assert store.list("Deployment") == [] and store.revision == 0


def test_a_billion_replicas_are_refused_on_create_update_and_patch(store):
    with pytest.raises(Invalid, match="spec.replicas: Invalid value: 1000000000: must be less than or equal to"):
        store.create(deployment(replicas=1_000_000_000))
    d = store.create(deployment())
    with pytest.raises(Invalid, match="spec.replicas"):
        store.update(d.set(spec=d.spec.set("replicas", 1_000_000_000)))
    with pytest.raises(Invalid, match="spec.replicas"):
        store.patch("Deployment", "web", patch={"spec": {"replicas": 1_000_000_000}})
    with pytest.raises(Invalid, match="spec.replicas"):
        apply_object(store, deployment(replicas=-1))
    assert store.get("Deployment", "web").spec["replicas"] == 1 and store.revision == 1


def test_a_namespace_that_leaves_the_directory_is_refused(store):
    p = pod("a", "1")
    with pytest.raises(Invalid, match=r'metadata.namespace: Invalid value: "\.\./\.\./x"'):
        store.create(p.set(metadata=p.metadata.set(namespace="../../x")))
    with pytest.raises(Invalid, match=r'spec.containers\[0\].name: Invalid value: "\.\./x"'):
        store.create(p.set(spec=p.spec.set("containers", freeze([{"name": "../x"}]))))
    assert store.revision == 0


def test_a_daemonset_without_a_selector_is_refused(store):
    ds = DaemonSet.new("agent", "default", spec={"template": {"metadata": {"labels": {"app": "agent"}},
                                                              "spec": {"containers": [{"name": "c"}]}}})
    with pytest.raises(Invalid, match=r'^DaemonSet.apps "agent" is invalid: spec.selector: Required value$'):
        store.create(ds)


def test_a_status_write_is_not_refused_for_the_spec_it_keeps(store):
    """A status update keeps the stored spec, so it validates nothing of it (as the status subresource)."""
    p = store.create(pod("a", "1"))
    assert store.update_status(p.set(status=pmap({"phase": "Running"}))).status["phase"] == "Running"


def test_a_client_set_uid_is_ignored_on_create(store):
    p = pod("a", "1")
    created = store.create(p.set(metadata=p.metadata.set(uid="../../../etc")))
    assert created.metadata.uid != "../../../etc" and created.metadata.uid == store.get("Pod", "a").metadata.uid
    other = store.create(pod("b", "1").set(metadata=p.metadata.set(name="b", uid=created.metadata.uid)))
    assert other.metadata.uid != created.metadata.uid        # no stealing another object's uid (and its pods)


# -- item 13: policies compare quantities as quantities

@pytest.fixture
def limited(store):
    store.create(Policy.new("cpu-cap", spec={"deny": {"kind": "Pod", "where": "requests.cpu > 4"},
                                             "message": "at most 4 cpus"}))
    return store


@pytest.mark.parametrize("requests", [("8000m",), ("4500m",), ("8.5",), ("5",), ("3", "2"), ("8", None),
                                      (None, "4500m")])
def test_more_than_four_cpus_in_any_spelling_is_denied(limited, requests):
    with pytest.raises(Forbidden, match="denied by policy cpu-cap: at most 4 cpus"):
        limited.create(pod("big", *requests))
    assert limited.list("Pod") == []


@pytest.mark.parametrize("requests", [("4",), ("4000m",), ("2", "2"), ("500m", None), (None,)])
def test_four_cpus_or_fewer_are_allowed(limited, requests):
    assert limited.create(pod("ok", *requests)).name == "ok"


def test_a_policy_applies_on_update_patch_and_apply_and_to_workload_templates(limited):
    p = limited.create(pod("a", "1"))
    big = freeze([{"name": "c0", "resources": {"requests": {"cpu": "4500m"}}}])
    with pytest.raises(Forbidden):
        limited.update(p.set(spec=p.spec.set("containers", big)))
    with pytest.raises(Forbidden):
        limited.patch("Pod", "a", patch={"spec": {"containers": [{"name": "c0",
                                                                  "resources": {"requests": {"cpu": "8000m"}}}]}})
    with pytest.raises(Forbidden):
        apply_object(limited, pod("a", "8.5"))
    assert limited.get("Pod", "a").spec == p.spec
    limited.create(Policy.new("deploy-cap", spec={"deny": {"kind": "Deployment", "where": "requests.cpu>4"}}))
    with pytest.raises(Forbidden):
        limited.create(deployment(cpu="4500m"))


def test_every_container_must_set_a_request_for_the_bare_key(store):
    store.create(Policy.new("require-cpu", spec={"deny": {"kind": "Pod", "where": "!requests.cpu"}}))
    with pytest.raises(Forbidden):
        store.create(pod("half", "1", None))        # one container lacking requests does not escape
    assert store.create(pod("all", "1", "250m")).name == "all"


def test_equality_compares_quantities(store):
    store.create(Policy.new("exactly-four", spec={"deny": {"kind": "Pod", "where": "requests.cpu in (4, 8)"}}))
    with pytest.raises(Forbidden):
        store.create(pod("a", "4000m"))
    with pytest.raises(Forbidden):
        store.create(pod("b", "6", "2"))
    assert store.create(pod("c", "3")).name == "c"
