"""Deployment controller, (state) -> actions, and the rollout arithmetic."""

import pytest
from pyrsistent import pmap

from reconcile.engine.actions import Create, Delete, Update
from reconcile.controllers.deployment import (
    REVISION, _new_replicaset, reconcile_deployment, resolve_fenceposts, template_hash,
)
from reconcile.api.model import Deployment

from tests.reconcile.controllers.helpers import State

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}}


@pytest.mark.parametrize("surge, unavailable, desired, expected", [
    ("25%", "25%", 10, (3, 2)), ("25%", "25%", 1, (1, 0)), ("0%", "0%", 5, (0, 1)),
    (0, 0, 5, (0, 1)), ("50%", 0, 3, (2, 0)), (1, "100%", 3, (1, 3)), ("10%", "10%", 0, (0, 1)),
])
def test_resolve_fenceposts(surge, unavailable, desired, expected):
    assert resolve_fenceposts(surge, unavailable, desired) == expected


def deployment(state, replicas=4, strategy=None, image="v1"):
    t = {"metadata": TEMPLATE["metadata"], "spec": {"containers": [{"name": "c", "image": image}]}}
    spec = {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": t}
    if strategy:
        spec["strategy"] = strategy
    return state.add(Deployment.new("web", "default", spec=spec))


def add_rs(state, d, template, revision, replicas, available):
    rs = state.add(_new_replicaset(d, pmap(template) if not hasattr(template, "set") else template,
                                   revision, replicas))
    return state.status(rs, replicas=replicas, readyReplicas=available, availableReplicas=available,
                        observedGeneration=rs.metadata.generation)


def run(state, d):
    d = state.store.get("Deployment", "web")
    return reconcile_deployment(state.snapshot, d.key, state.now)


def test_creates_the_first_replicaset_with_revision_1():
    s = State()
    d = deployment(s)
    (create,) = [a for a in run(s, d).actions if isinstance(a, Create)]
    rs = create.object
    assert rs.spec["replicas"] == 4 and rs.metadata.annotations[REVISION] == "1"
    h = template_hash(d.spec["template"])
    assert rs.name == f"web-{h}" and rs.spec["selector"]["matchLabels"]["pod-template-hash"] == h
    assert rs.spec["template"]["metadata"]["labels"]["pod-template-hash"] == h


def test_do_nothing_when_the_rollout_is_complete():
    s = State()
    d = deployment(s)
    add_rs(s, d, d.spec["template"], 1, 4, 4)
    first = run(s, d)
    s.store.update_status(first.actions[-1].object)       # the status it computed
    assert run(s, d).actions == ()


def test_a_new_template_starts_a_new_replicaset_within_max_surge():
    s = State()
    d = deployment(s, replicas=4)          # 25%/25%: surge 1, unavailable 1
    add_rs(s, d, d.spec["template"], 1, 4, 4)
    d = s.store.update(d.set(spec=d.spec.set("template", d.spec["template"].transform(
        ["spec", "containers", 0, "image"], "v2"))))
    (create,) = [a for a in run(s, d).actions if isinstance(a, Create)]
    assert create.object.spec["replicas"] == 1 and create.object.metadata.annotations[REVISION] == "2"


def test_old_replicaset_shrinks_only_as_far_as_max_unavailable_allows():
    s = State()
    d = deployment(s, replicas=4)
    old = add_rs(s, d, d.spec["template"], 1, 4, 4)
    d = s.store.update(d.set(spec=d.spec.set("template", d.spec["template"].transform(
        ["spec", "containers", 0, "image"], "v2"))))
    add_rs(s, d, d.spec["template"], 2, 1, 0)     # the new pod is not available yet
    scaled = {a.object.name: a.object.spec["replicas"] for a in run(s, d).actions if isinstance(a, Update)}
    # 5 pods, min available 3, new unavailable 1 -> at most 1 old pod goes
    assert scaled == {old.name: 3}


def test_recreate_scales_old_to_zero_before_the_new_one_grows():
    s = State()
    d = deployment(s, replicas=3, strategy={"type": "Recreate"})
    old = add_rs(s, d, d.spec["template"], 1, 3, 3)
    d = s.store.update(d.set(spec=d.spec.set("template", d.spec["template"].transform(
        ["spec", "containers", 0, "image"], "v2"))))
    new = add_rs(s, d, d.spec["template"], 2, 0, 0)
    scaled = {a.object.name: a.object.spec["replicas"] for a in run(s, d).actions if isinstance(a, Update)}
    assert scaled == {old.name: 0}
    s.store.update(s.store.get("ReplicaSet", old.name).set(spec=old.spec.set("replicas", 0)))
    s.status(old, replicas=0, availableReplicas=0, readyReplicas=0)
    scaled = {a.object.name: a.object.spec["replicas"] for a in run(s, d).actions if isinstance(a, Update)}
    assert scaled == {new.name: 3}


def test_old_empty_replicasets_beyond_the_history_limit_are_deleted():
    s = State()
    d = deployment(s, replicas=1)
    d = s.store.update(d.set(spec=d.spec.set("revisionHistoryLimit", 1)))
    for rev in (1, 2, 3):
        t = d.spec["template"].transform(["spec", "containers", 0, "image"], f"old{rev}")
        add_rs(s, d, t, rev, 0, 0)
    add_rs(s, d, d.spec["template"], 4, 1, 1)
    deleted = [a.name for a in run(s, d).actions if isinstance(a, Delete)]
    assert len(deleted) == 2


def test_no_progress_past_the_deadline_sets_progressing_false():
    s = State()
    d = deployment(s, replicas=2)
    d = s.store.update(d.set(spec=d.spec.set("progressDeadlineSeconds", 60)))
    add_rs(s, d, d.spec["template"], 1, 2, 0)          # pods never become available
    first = run(s, d)
    s.store.update_status(first.actions[-1].object)
    s.now += 61
    result = run(s, d)
    (cond,) = [c for c in result.actions[-1].object.status["conditions"] if c["type"] == "Progressing"]
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")


# -- proportional scaling (Kubernetes' docs: "Proportional scaling")

def _stalled_rollout(scale_to):
    """10 replicas, maxSurge 3, maxUnavailable 2, rolled to an image whose pods never get ready;
    then the replicas set to ``scale_to``. Returns (old, new) ReplicaSet sizes once settled."""
    from reconcile.api.model import Node
    from reconcile.sim import SimCluster
    sim = SimCluster(seed=1)
    sim.apply([Node.new(f"n{i}", status={"capacity": {"cpu": "64", "memory": "64Gi", "pods": "110"}})
               for i in range(3)])
    t = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}}
    sim.apply([Deployment.new("web", "default", spec={
        "replicas": 10, "selector": {"matchLabels": {"app": "web"}}, "template": t,
        "strategy": {"rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}})])
    sim.advance(30)
    d = sim.get("Deployment", "web")
    bad = d.spec["template"].set("metadata", d.spec["template"]["metadata"].set(
        "annotations", pmap({"sim.reconcile.dev/ready": "false"}))).set(
        "spec", d.spec["template"]["spec"].set("containers", d.spec["template"]["spec"]["containers"].set(
            0, d.spec["template"]["spec"]["containers"][0].set("image", "v2"))))
    sim.store.update(d.set(spec=d.spec.set("template", bad)))
    sim.advance(60)
    sizes = lambda: sorted((rs.metadata.annotations[REVISION], rs.spec["replicas"]) for rs in sim.list("ReplicaSet"))
    assert sizes() == [("1", 8), ("2", 5)]          # stalled: 13 pods (10 + 3), 8 available (10 - 2)
    before = len(sim.events())
    sim.scale("Deployment", "web", scale_to)
    first = [e.message for e in sim.events()[before:] if e.reason == "ScalingReplicaSet"][:2]
    sim.advance(60)
    return [n for _, n in sizes()], first


def test_scaling_up_mid_rollout_spreads_the_new_replicas_by_proportion():
    sizes, _ = _stalled_rollout(15)
    assert sizes == [11, 7]          # the docs' example: 3 more to the old, 2 to the new


def test_scaling_down_mid_rollout_takes_from_both_by_proportion():
    sizes, first = _stalled_rollout(5)
    # 13 -> 5 + maxSurge = 8: the old 8 gives 3 (round(8 * 8/13) = 5), the new 5 gives 2 (round(5 * 8/13) = 3)
    assert [m.rsplit(" ", 1)[1] for m in first] == ["5", "3"] and all("down" in m for m in first)
    # then the rollout goes on within the new bounds: the old shrinks as far as availability allows
    assert sizes == [3, 5]


def test_a_rollout_step_writes_the_desired_and_max_replicas_annotations():
    s = State()
    d = deployment(s, replicas=4)
    created = [a.object for a in reconcile_deployment(s.snapshot, d.key, s.now).actions if isinstance(a, Create)]
    assert created[0].metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "4"
    assert created[0].metadata.annotations["deployment.kubernetes.io/max-replicas"] == "5"
