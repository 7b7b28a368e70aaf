"""ReplicaSet controller, (state) -> actions."""

from reconcile.engine.actions import Create, Delete, Update, UpdateStatus
from reconcile.controllers.replicaset import deletion_order, reconcile_replicaset
from reconcile.api.model import ReplicaSet

from tests.reconcile.controllers.helpers import State

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}


def rs_with(state, replicas, min_ready=0):
    return state.add(ReplicaSet.new("web", "default", spec={
        "replicas": replicas, "minReadySeconds": min_ready,
        "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}))


def run(state, rs):
    return reconcile_replicaset(state.snapshot, rs.key, state.now)


def test_creates_missing_pods_from_the_template():
    s = State()
    rs = rs_with(s, 3)
    result = run(s, rs)
    creates = [a.object for a in result.actions if isinstance(a, Create)]
    assert len(creates) == 3 and len({p.name for p in creates}) == 3
    assert all(p.spec is rs.spec["template"]["spec"] for p in creates)       # shared, not copied
    assert all(p.metadata.ownerReferences[0].uid == rs.metadata.uid for p in creates)


def test_do_nothing_when_converged():
    s = State()
    rs = rs_with(s, 2)
    for name in ("a", "b"):
        s.pod(rs, name, node="n1", phase="Running", ready=True)
    s.status(rs, replicas=2, fullyLabeledReplicas=2, readyReplicas=2, availableReplicas=2,
             observedGeneration=1)
    assert run(s, rs).actions == ()


def test_scale_down_deletes_in_kubernetes_order():
    s = State()
    rs = rs_with(s, 2)
    s.pod(rs, "ready-old", node="n1", phase="Running", ready=True, ready_since=100)
    s.pod(rs, "ready-new", node="n1", phase="Running", ready=True, ready_since=900)
    s.pod(rs, "not-ready", node="n1", phase="Running", ready=False)
    s.pod(rs, "pending", node="n1", phase="Pending")
    s.pod(rs, "unscheduled")
    deletes = [a.name for a in run(s, rs).actions if isinstance(a, Delete)]
    assert deletes == ["unscheduled", "pending", "not-ready"]


def test_deletion_order_prefers_more_restarts_then_newer_pods():
    s = State()
    rs = rs_with(s, 0)
    a = s.pod(rs, "a", node="n1", phase="Running", ready=True, ready_since=500, restarts=0)
    s.now += 1
    b = s.pod(rs, "b", node="n1", phase="Running", ready=True, ready_since=500, restarts=0)
    c = s.pod(rs, "c", node="n1", phase="Running", ready=True, ready_since=500, restarts=4)
    snap = s.snapshot
    pods = [snap.get("Pod", n) for n in "abc"]
    assert [p.name for p in deletion_order(pods, s.now)] == ["c", "b", "a"]


def test_adopts_matching_orphans_and_releases_pods_that_stop_matching():
    s = State()
    rs = rs_with(s, 2)
    s.pod(None, "orphan", node="n1", phase="Running", ready=True, labels={"app": "web"})
    s.pod(rs, "strayed", node="n1", phase="Running", ready=True, labels={"app": "other"})
    s.pod(rs, "kept", node="n1", phase="Running", ready=True)
    result = run(s, rs)
    updates = {a.object.name: a.object for a in result.actions if isinstance(a, Update)}
    assert updates["orphan"].metadata.ownerReferences[0].uid == rs.metadata.uid
    assert list(updates["strayed"].metadata.ownerReferences) == []
    assert not [a for a in result.actions if isinstance(a, (Create, Delete))]   # orphan + kept = 2


def test_status_counts_ready_and_available_with_min_ready_seconds():
    s = State()
    rs = rs_with(s, 2, min_ready=30)
    s.pod(rs, "long", node="n1", phase="Running", ready=True, ready_since=s.now - 60)
    s.pod(rs, "just", node="n1", phase="Running", ready=True, ready_since=s.now - 5)
    result = run(s, rs)
    (status,) = [a.object.status for a in result.actions if isinstance(a, UpdateStatus)]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 1)
    assert result.requeue_after == 30.0
