"""Endpoints, garbage collection, namespaces, node lifecycle and scheduling, (state) -> actions."""

from pyrsistent import pmap

from reconcile.engine.actions import Bind, Create, Delete, Update, UpdateStatus
from reconcile.controllers import endpoints, gc, nodelifecycle
from reconcile.scheduler.rule import scheduler_key, scheduling_rule
from reconcile.api.model import Lease, Namespace, Node, Pod, ReplicaSet, Service

from tests.reconcile.controllers.helpers import State, kinds

TEMPLATE = {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}}


def web_rs(s):
    return s.add(ReplicaSet.new("rs", "default", spec={"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                                                      "template": TEMPLATE}))


# -- endpoints

def test_endpoints_list_ready_and_not_ready_pods_with_named_target_ports():
    s = State()
    rs = web_rs(s)
    svc = s.add(Service.new("web", "default", spec={"selector": {"app": "web"},
                                                   "ports": [{"port": 80, "targetPort": "http"}]}))
    a = s.pod(rs, "a", node="n1", phase="Running", ready=True)
    s.status(a, podIP="10.0.0.1")
    b = s.pod(rs, "b", node="n1", phase="Running", ready=False)
    s.status(b, podIP="10.0.0.2")
    s.pod(rs, "c")                                           # not scheduled: no address yet
    (create,) = endpoints.reconcile_endpoints(s.snapshot, svc.key, s.now).actions
    assert isinstance(create, Create)
    (subset,) = create.object.spec["subsets"]
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP"}]
    assert [x["ip"] for x in subset["addresses"]] == ["10.0.0.1"]
    assert [x["ip"] for x in subset["notReadyAddresses"]] == ["10.0.0.2"]


def test_endpoints_do_nothing_when_up_to_date():
    s = State()
    svc = s.add(Service.new("web", "default", spec={"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    (create,) = endpoints.reconcile_endpoints(s.snapshot, svc.key, s.now).actions
    s.add(create.object)
    assert endpoints.reconcile_endpoints(s.snapshot, svc.key, s.now).actions == ()


def test_endpoints_of_a_deleted_service_are_deleted():
    s = State()
    svc = s.add(Service.new("web", "default", spec={"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    s.add(endpoints.reconcile_endpoints(s.snapshot, svc.key, s.now).actions[0].object)
    s.store.delete("Service", "web")
    assert kinds(endpoints.reconcile_endpoints(s.snapshot, svc.key, s.now)) == ["Delete"]


# -- garbage collection

def test_dependents_of_a_deleted_owner_are_deleted():
    s = State()
    rs = web_rs(s)
    p = s.pod(rs, "a")
    assert gc.collect_garbage(s.snapshot, p.key, s.now).actions == ()          # owner alive: nothing
    s.store.delete("ReplicaSet", "rs")
    (d,) = gc.collect_garbage(s.snapshot, p.key, s.now).actions
    assert isinstance(d, Delete) and d.name == "a"


def test_a_dangling_owner_reference_is_dropped_while_another_owner_lives():
    s = State()
    rs = web_rs(s)
    other = s.add(ReplicaSet.new("other", "default", spec={
        "replicas": 0, "selector": {"matchLabels": {"app": "other"}},
        "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": [{"name": "c"}]}}}))
    p = s.pod(rs, "a")
    from reconcile.controllers.workloads import with_owner
    p = with_owner(s.store.get("Pod", "a"), other)     # a second owner, not the controller (only one may be)
    refs = p.metadata.ownerReferences
    refs = refs.set(1, refs[1].set(controller=False, blockOwnerDeletion=False))
    p = s.store.update(p.set(metadata=p.metadata.set(ownerReferences=refs)))
    s.store.delete("ReplicaSet", "rs")
    (u,) = gc.collect_garbage(s.snapshot, p.key, s.now).actions
    assert isinstance(u, Update) and [o.name for o in u.object.metadata.ownerReferences] == ["other"]


def test_foreground_deletion_waits_for_the_dependents():
    s = State()
    rs = web_rs(s)
    s.pod(rs, "a")
    s.store.delete("ReplicaSet", "rs", propagation="Foreground")
    owner = s.store.get("ReplicaSet", "rs")
    assert "foregroundDeletion" in owner.metadata.finalizers
    assert kinds(gc.finish_foreground(s.snapshot, owner.key, s.now)) == ["Delete"]
    s.store.delete("Pod", "a")
    (u,) = gc.finish_foreground(s.snapshot, owner.key, s.now).actions
    assert list(u.object.metadata.finalizers) == []


def test_a_terminating_namespace_is_emptied_then_released():
    s = State()
    ns = s.add(Namespace.new("shop"))
    (u,) = gc.finish_namespace(s.snapshot, ns.key, s.now).actions
    s.store.update(u.object)                                   # the finalizer is added first
    s.add(Pod.new("p", "shop", spec={"containers": [{"name": "c"}]}))
    s.store.delete("Namespace", "shop", None)
    assert [a.name for a in gc.finish_namespace(s.snapshot, ns.key, s.now).actions] == ["p"]
    s.store.delete("Pod", "p", "shop")
    (u,) = gc.finish_namespace(s.snapshot, ns.key, s.now).actions
    assert list(u.object.metadata.finalizers) == []


# -- node lifecycle

def node_with_lease(s, renew):
    n = s.add(Node.new("n1"))
    s.add(Lease.new("n1", nodelifecycle.LEASE_NAMESPACE, spec={"renewTime": renew}))
    return n


def test_a_fresh_lease_changes_nothing_and_checks_again_at_expiry():
    s = State()
    n = node_with_lease(s, s.now - 10)
    life, _ = nodelifecycle.rules(grace=40)
    result = life.reconcile(s.snapshot, n.key, s.now)
    assert result.actions == () and result.requeue_after == 30


def test_an_expired_lease_makes_the_node_unknown_and_tainted():
    s = State()
    n = node_with_lease(s, s.now - 41)
    life, _ = nodelifecycle.rules(grace=40)
    actions = life.reconcile(s.snapshot, n.key, s.now).actions
    status = [a for a in actions if isinstance(a, UpdateStatus)][0].object.status
    assert [c["status"] for c in status["conditions"]] == ["Unknown"]
    taints = [a for a in actions if isinstance(a, Update)][0].object.spec["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [(nodelifecycle.UNREACHABLE, "NoExecute")]


def test_pods_on_an_unreachable_node_are_evicted_after_their_toleration():
    s = State()
    n = node_with_lease(s, s.now - 100)
    s.store.update(n.set(spec=pmap({"taints": [pmap({"key": nodelifecycle.UNREACHABLE, "effect": "NoExecute",
                                                    "timeAdded": s.now - 50})]})))
    rs = web_rs(s)
    s.pod(rs, "a", node="n1", phase="Running", ready=True)
    s.add(Pod.new("b", "default", spec={"nodeName": "n1", "containers": [{"name": "c"}], "tolerations": [
        {"key": nodelifecycle.UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 600}]}))
    _, evict = nodelifecycle.rules(eviction=40)
    result = evict.reconcile(s.snapshot, n.key, s.now)
    assert [a.name for a in result.actions if isinstance(a, Delete)] == ["a"]
    assert result.requeue_after == 550                          # when b's toleration ends


# -- scheduling

def test_a_pending_pod_is_bound_to_the_least_allocated_node():
    s = State()
    for name, used in (("n1", "3"), ("n2", "1")):
        s.add(Node.new(name, status={"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}))
        s.add(Pod.new(f"busy-{name}", "default", spec={"nodeName": name, "containers": [
            {"name": "c", "resources": {"requests": {"cpu": used}}}]}))
    p = s.add(Pod.new("p", "default", spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}))
    result = scheduling_rule().reconcile(s.snapshot, scheduler_key(), s.now)
    assert result.actions[0] == Bind("default", "p", "n2")


def test_a_bound_pod_is_left_alone():
    s = State()
    s.add(Node.new("n1", status={"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}))
    p = s.add(Pod.new("p", "default", spec={"nodeName": "n1", "containers": [{"name": "c"}]}))
    assert scheduling_rule().reconcile(s.snapshot, scheduler_key(), s.now).actions == ()


def test_a_pod_for_another_scheduler_stays_pending():
    s = State()
    s.add(Node.new("n1", status={"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}))
    p = s.add(Pod.new("p", "default", spec={"schedulerName": "my-scheduler", "containers": [{"name": "c"}]}))
    assert scheduling_rule().reconcile(s.snapshot, scheduler_key(), s.now).actions == ()
