"""StatefulSet controller, (state) -> actions; and in the simulator."""

import pytest
from pyrsistent import pmap

import dsl
from reconcile.engine.actions import Create, Delete, Update, UpdateStatus, apply_action
from reconcile.controllers.statefulset import (
    POD_INDEX_LABEL, POD_NAME_LABEL, REVISION_LABEL, reconcile_statefulset, revision_hash,
)
from reconcile.api.model import ControllerRevision, StatefulSet, freeze, pod_from_template
from reconcile.sim import SimCluster

from tests.reconcile.controllers.helpers import State

SELECTOR = {"matchLabels": {"app": "web"}}


def template(image="v1"):
    return {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}


def new_template(s, image):
    """Change the set's template (with the defaults the API server would fill in)."""
    sts = s.store.get("StatefulSet", "web")
    t = StatefulSet.new("web", spec={"template": template(image)}).spec["template"]
    return s.store.update(sts.set(spec=sts.spec.set("template", t)))


def statefulset(s, replicas=3, **spec):
    return s.add(StatefulSet.new("web", "default", spec={
        "replicas": replicas, "serviceName": "web", "selector": SELECTOR, "template": template(), **spec}))


def revision_of(sts):
    return f"web-{revision_hash(sts.spec['template'])}"


def pod(s, sts, ordinal, how="ready", revision=None, labels=None, since=None, owned=True):
    """A pod of the set: ``how`` is pending, ready, unready, failed or deleting (ready, being deleted)."""
    name = f"web-{ordinal}"
    p = pod_from_template(sts.spec["template"], name, "default", owner=sts if owned else None)
    if labels is None:
        labels = {**p.labels, REVISION_LABEL: revision or revision_of(sts), POD_NAME_LABEL: name,
                  POD_INDEX_LABEL: str(ordinal)}
    finalizers = ["test/hold"] if how == "deleting" else []
    p = s.add(p.set(metadata=p.metadata.set(labels=pmap(labels), finalizers=freeze(finalizers))))
    phase = {"pending": "Pending", "failed": "Failed"}.get(how, "Running")
    ready = "True" if how in ("ready", "deleting") else "False"
    p = s.status(p, phase=phase, conditions=[{"type": "Ready", "status": ready,
                                              "lastTransitionTime": s.now - 100 if since is None else since}])
    if how == "deleting":
        s.store.delete("Pod", name)
    return p


def run(s):
    return reconcile_statefulset(s.snapshot, ("StatefulSet", "default", "web"), s.now)


def pod_actions(result):
    out = []
    for a in result.actions:
        if isinstance(a, (Create, Update)) and a.object.kind == "Pod":
            out.append(f"{type(a).__name__.lower()} {a.object.name}")
        elif isinstance(a, Delete) and a.kind == "Pod":
            out.append(f"delete {a.name}")
    return out


def apply(s, result, pods=True):
    """Carry out the actions, as the engine does (with ``pods=False``, all but those on pods)."""
    for a in result.actions:
        if pods or getattr(a, "kind", None) != "Pod" and getattr(getattr(a, "object", None), "kind", None) != "Pod":
            apply_action(s.store, a, s.now, lambda now, e: None)


def status_of(result):
    (st,) = [a.object.status for a in result.actions if isinstance(a, UpdateStatus)]
    return st


# -- scaling: (spec, pods) -> pod actions

PARALLEL = {"podManagementPolicy": "Parallel"}
READY3 = [(0, "ready"), (1, "ready"), (2, "ready")]

SCALING = {
    "creates_only_ordinal_0_first": ({}, [], ["create web-0"]),
    "creates_the_next_ordinal_once_the_previous_is_running_and_ready": ({}, [(0, "ready")], ["create web-1"]),
    "waits_while_a_lower_ordinal_is_not_ready": ({}, [(0, "unready")], []),
    "waits_while_a_lower_ordinal_is_pending": ({}, [(0, "ready"), (1, "pending")], []),
    "waits_while_a_lower_ordinal_is_being_deleted": ({}, [(0, "deleting")], []),
    "fills_a_gap_before_going_on": ({}, [(0, "ready"), (2, "ready")], ["create web-1"]),
    "parallel_creates_all_at_once": (PARALLEL, [], ["create web-0", "create web-1", "create web-2"]),
    "parallel_does_not_wait_for_readiness": (PARALLEL, [(0, "pending")], ["create web-1", "create web-2"]),
    "a_failed_pod_is_deleted_to_be_made_again": ({}, [(0, "ready"), (1, "failed"), (2, "ready")], ["delete web-1"]),
    "a_failed_pod_blocks_the_pods_above_it": ({}, [(0, "failed")], ["delete web-0"]),
    "parallel_deletes_failed_pods_and_creates_missing_ones": (
        PARALLEL, [(0, "failed")], ["delete web-0", "create web-1", "create web-2"]),
    "scale_down_deletes_the_highest_ordinal_first": ({"replicas": 1}, READY3, ["delete web-2"]),
    "scale_down_waits_for_an_unready_pod_it_keeps": (
        {"replicas": 1}, [(0, "unready"), (1, "ready"), (2, "ready")], []),
    "scale_down_waits_for_a_pod_being_deleted": ({"replicas": 1}, [(0, "ready"), (1, "ready"), (2, "deleting")], []),
    "scale_down_waits_for_an_unready_extra_pod_above_another": (
        {"replicas": 1}, [(0, "ready"), (1, "unready"), (2, "unready")], []),
    "scale_down_deletes_the_first_unready_extra_pod": ({"replicas": 1}, [(0, "ready"), (1, "unready")],
                                                      ["delete web-1"]),
    "scale_down_deletes_a_ready_pod_above_an_unready_extra_one": (
        {"replicas": 1}, [(0, "ready"), (1, "unready"), (2, "ready")], ["delete web-2"]),
    "parallel_scale_down_deletes_every_extra_pod": (
        {"replicas": 1, **PARALLEL}, [(0, "unready"), (1, "unready"), (2, "ready")], ["delete web-2", "delete web-1"]),
    "scale_to_zero_deletes_the_last_pod": ({"replicas": 0}, [(0, "ready")], ["delete web-0"]),
    "ordinals_start_where_the_spec_says": ({"ordinals": {"start": 5}}, [], ["create web-5"]),
    "pods_outside_the_ordinals_are_condemned": ({"replicas": 1, "ordinals": {"start": 1}}, [(0, "ready")],
                                                ["create web-1"]),
    "converged_does_nothing_to_pods": ({}, READY3, []),
}


@pytest.mark.parametrize("spec, pods, expected", list(SCALING.values()), ids=list(SCALING))
def test_scaling(spec, pods, expected):
    s = State()
    sts = statefulset(s, **spec)
    for ordinal, how in pods:
        pod(s, sts, ordinal, how)
    assert pod_actions(run(s)) == expected


def test_a_new_pod_has_its_identity_owner_and_revision():
    s = State()
    sts = statefulset(s)
    result = run(s)
    (p,) = [a.object for a in result.actions if isinstance(a, Create) and a.object.kind == "Pod"]
    (rev,) = [a.object for a in result.actions if isinstance(a, Create) and a.object.kind == "ControllerRevision"]
    assert p.name == "web-0" and p.spec["hostname"] == "web-0" and p.spec["subdomain"] == "web"
    assert dict(p.metadata.labels) == {"app": "web", POD_NAME_LABEL: "web-0", POD_INDEX_LABEL: "0",
                                       REVISION_LABEL: rev.name}
    assert rev.name == revision_of(sts) and rev.spec["revision"] == 1
    assert rev.spec["data"]["spec"]["template"]["spec"] == sts.spec["template"]["spec"]
    assert [(o.kind, o.uid, o.controller) for o in p.metadata.ownerReferences] == [
        ("StatefulSet", sts.metadata.uid, True)]
    assert [o.uid for o in rev.metadata.ownerReferences] == [sts.metadata.uid]


def test_a_pod_that_lost_its_identity_labels_gets_them_back():
    s = State()
    sts = statefulset(s, replicas=1)
    pod(s, sts, 0, labels={"app": "web", REVISION_LABEL: revision_of(sts)})
    (update,) = [a for a in run(s).actions if isinstance(a, Update)]
    assert update.object.metadata.labels[POD_NAME_LABEL] == "web-0"
    assert update.object.metadata.labels[POD_INDEX_LABEL] == "0"


def test_converged_yields_no_actions():
    s = State()
    sts = statefulset(s)
    for ordinal, how in READY3:
        pod(s, sts, ordinal, how)
    first = run(s)
    assert [type(a).__name__ for a in first.actions] == ["Create", "UpdateStatus"]     # its revision, its status
    apply(s, first)
    assert run(s).actions == ()


# -- adoption and release

def test_adopts_orphans_named_like_members_and_releases_pods_that_stop_matching():
    s = State()
    sts = statefulset(s, replicas=2)
    pod(s, sts, 0)
    orphan = pod(s, sts, 1, labels={"app": "web", REVISION_LABEL: revision_of(sts)}, owned=False)
    s.add(pod_from_template(sts.spec["template"], "web-extra", "default"))      # not a member's name
    strayed = pod(s, sts, 2, labels={"app": "other", POD_NAME_LABEL: "web-2", POD_INDEX_LABEL: "2"})
    result = run(s)
    updates = {a.object.name: a.object for a in result.actions if isinstance(a, Update)}
    assert sorted(updates) == ["web-1", "web-2"]
    adopted = updates["web-1"]                # one write: adopted, and its identity labels put back
    assert [o.uid for o in adopted.metadata.ownerReferences] == [sts.metadata.uid]
    assert adopted.metadata.labels[POD_NAME_LABEL] == "web-1"
    assert list(updates["web-2"].metadata.ownerReferences) == []
    assert strayed.metadata.resourceVersion == updates["web-2"].metadata.resourceVersion
    assert pod_actions(result) == ["update web-2", "update web-1"]     # nothing created or deleted
    assert list(orphan.metadata.ownerReferences) == []


# -- rolling update, partition, OnDelete

def rolled(s, replicas=3, pods=READY3, image="v2", **spec):
    """A set whose pods run template v1 (its current revision) and whose template is now ``image``."""
    sts = statefulset(s, replicas=replicas, **spec)
    for ordinal, how in pods:
        pod(s, sts, ordinal, how)
    apply(s, run(s), pods=False)            # the v1 revision made, the status written
    assert s.store.get("StatefulSet", "web").status["currentRevision"] == revision_of(sts)
    return new_template(s, image)


ROLLING = {
    "deletes_the_highest_ordinal_first": ({}, READY3, {}, ["delete web-2"]),
    "deletes_the_next_once_the_higher_one_is_updated_and_ready": (
        {}, READY3, {2: "ready"}, ["delete web-1"]),
    "waits_while_an_updated_pod_is_not_ready": ({}, READY3, {2: "unready"}, []),
    "makes_the_deleted_pod_again_at_the_new_revision": ({}, [(0, "ready"), (1, "ready")], {}, ["create web-2"]),
    "leaves_pods_below_the_partition": ({"partition": 2}, READY3, {2: "ready"}, []),
    "updates_at_and_above_the_partition": ({"partition": 1}, READY3, {2: "ready"}, ["delete web-1"]),
    "a_partition_above_every_pod_updates_nothing": ({"partition": 3}, READY3, {}, []),
    "max_unavailable_deletes_that_many_at_once": ({"maxUnavailable": 2}, READY3, {}, ["delete web-2", "delete web-1"]),
    "max_unavailable_counts_pods_already_unavailable": (
        {"maxUnavailable": 2, **PARALLEL}, READY3, {2: "unready"}, ["delete web-1"]),
    "max_unavailable_waits_when_as_many_are_unavailable": (
        {"maxUnavailable": 2, **PARALLEL}, [(0, "unready"), (1, "ready")], {2: "unready"}, []),
    "parallel_without_max_unavailable_does_not_wait_for_lower_pods": (
        PARALLEL, [(0, "unready"), (1, "ready"), (2, "ready")], {}, ["delete web-2"]),
    "ordered_ready_waits_for_any_unready_pod": ({}, [(0, "unready"), (1, "ready"), (2, "ready")], {}, []),
    "max_unavailable_percent_rounds_down_but_is_at_least_one": ({"maxUnavailable": "10%"}, READY3, {},
                                                                ["delete web-2"]),
}


@pytest.mark.parametrize("rolling, pods, updated, expected", list(ROLLING.values()), ids=list(ROLLING))
def test_rolling_update(rolling, pods, updated, expected):
    s = State()
    rolling = dict(rolling)
    policy = rolling.pop("podManagementPolicy", "OrderedReady")
    sts = rolled(s, pods=[(o, h) for o, h in pods if o not in updated], podManagementPolicy=policy,
                 updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0, **rolling}})
    for ordinal, how in updated.items():
        pod(s, sts, ordinal, how, revision=revision_of(sts))
    assert pod_actions(run(s)) == expected


def test_a_pod_deleted_below_the_partition_comes_back_at_the_current_revision():
    s = State()
    sts = rolled(s, pods=[(0, "ready"), (2, "ready")],
                 updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    result = run(s)
    (p,) = [a.object for a in result.actions if isinstance(a, Create) and a.object.kind == "Pod"]
    assert p.name == "web-1" and p.spec["containers"][0]["image"] == "v1"
    assert p.metadata.labels[REVISION_LABEL] == status_of(result)["currentRevision"] != revision_of(sts)


def test_on_delete_leaves_pods_until_someone_deletes_them():
    s = State()
    sts = rolled(s, updateStrategy={"type": "OnDelete"})
    assert pod_actions(run(s)) == []
    s.store.delete("Pod", "web-1")
    (p,) = [a.object for a in run(s).actions if isinstance(a, Create) and a.object.kind == "Pod"]
    assert p.name == "web-1" and p.spec["containers"][0]["image"] == "v2"
    assert p.metadata.labels[REVISION_LABEL] == revision_of(sts)


# -- status and revisions

def test_status_counts_ready_available_current_and_updated_pods():
    s = State()
    sts = rolled(s, pods=[(0, "ready")], minReadySeconds=30)
    new = revision_of(sts)
    pod(s, sts, 1, "ready", revision=new, since=s.now - 5)       # ready, not yet for 30s
    pod(s, sts, 2, "pending", revision=new)
    result = run(s)
    st = status_of(result)
    assert (st["replicas"], st["readyReplicas"], st["availableReplicas"]) == (3, 2, 1)
    assert (st["currentReplicas"], st["updatedReplicas"]) == (1, 2)
    assert st["updateRevision"] == new and st["currentRevision"] != new
    assert st["observedGeneration"] == sts.metadata.generation and st["collisionCount"] == 0
    assert result.requeue_after == 30.0


def test_the_current_revision_becomes_the_update_revision_when_every_pod_is_updated_and_ready():
    s = State()
    sts = rolled(s, pods=[])
    for ordinal in range(3):
        pod(s, sts, ordinal, "ready", revision=revision_of(sts))
    st = status_of(run(s))
    assert st["currentRevision"] == st["updateRevision"] == revision_of(sts)
    assert st["currentReplicas"] == st["updatedReplicas"] == 3


def test_going_back_to_an_earlier_template_renumbers_its_revision():
    s = State()
    rolled(s, pods=[])
    apply(s, run(s))                                    # revision 2: image v2
    new_template(s, "v1")
    result = run(s)
    (update,) = [a.object for a in result.actions if isinstance(a, Update)]
    assert update.kind == "ControllerRevision" and update.spec["revision"] == 3
    assert status_of(result)["updateRevision"] == update.name
    assert not [a for a in result.actions if isinstance(a, Create) and a.object.kind == "ControllerRevision"]


def test_revisions_no_pod_uses_beyond_the_history_limit_are_deleted_oldest_first():
    s = State()
    statefulset(s, replicas=0, revisionHistoryLimit=1)
    names = []
    for image in ("v1", "v2", "v3", "v4"):
        names.append(revision_of(new_template(s, image)))
        result = run(s)
        apply(s, result)
    # the last pass: v4 is the update revision, v3 the current one, v1 and v2 history beyond the limit of 1
    assert [a.name for a in result.actions if isinstance(a, Delete)] == [names[0]]
    assert sorted(r.name for r in s.store.list("ControllerRevision")) == sorted(names[1:])


def test_a_revision_name_taken_by_another_template_raises_the_collision_count():
    s = State()
    sts = statefulset(s, replicas=0)
    s.add(ControllerRevision.new(revision_of(sts), "default", spec={"data": {}, "revision": 1}))
    result = run(s)
    (rev,) = [a.object for a in result.actions if isinstance(a, Create)]
    assert rev.name == f"web-{revision_hash(sts.spec['template'], 1)}" != revision_of(sts)
    assert status_of(result)["collisionCount"] == 1


# -- in the simulator

CLUSTER = """
nodes worker x3 { capacity cpu=4 memory=8Gi pods=110 }
statefulset web {
  replicas 3
  labels app=web
  service-name web
  container main {
    command serve
    requests cpu=500m
  }
}
"""


def simulated():
    sim = SimCluster(node_grace=20.0, eviction_timeout=30.0)
    sim.apply(dsl.parse(CLUSTER))
    sim.run_until_stable()
    return sim


def pods(sim):
    return {p.name: p for p in sim.list("Pod", "app=web")}


def test_sim_a_statefulset_comes_up_in_ordinal_order():
    sim = simulated()
    up = pods(sim)
    assert sorted(up) == ["web-0", "web-1", "web-2"]
    assert all(p.status["phase"] == "Running" for p in up.values())
    ready = {n: next(c["lastTransitionTime"] for c in p.status["conditions"] if c["type"] == "Ready")
             for n, p in up.items()}
    # each pod is made only once the one before it is running and ready
    assert up["web-0"].metadata.creationTimestamp < ready["web-0"] <= up["web-1"].metadata.creationTimestamp
    assert ready["web-1"] <= up["web-2"].metadata.creationTimestamp
    created = [e.message.split()[2] for e in sim.events() if e.reason == "SuccessfulCreate"]
    assert created == ["web-0", "web-1", "web-2"]
    st = sim.get("StatefulSet", "web").status
    assert (st["replicas"], st["readyReplicas"], st["currentRevision"]) == (3, 3, st["updateRevision"])


def test_sim_scaling_down_to_one_leaves_web_0():
    sim = simulated()
    sim.scale("StatefulSet", "web", 1)
    sim.run_until_stable()
    assert sorted(pods(sim)) == ["web-0"]
    deleted = [e.message.split()[2] for e in sim.events() if e.reason == "SuccessfulDelete"]
    assert deleted == ["web-2", "web-1"]


def test_sim_a_failed_node_brings_the_same_named_pod_back_elsewhere():
    sim = simulated()
    before = pods(sim)["web-1"]
    dead = before.spec["nodeName"]
    sim.fail_node(dead)
    sim.run_until_stable()
    after = pods(sim)
    assert sorted(after) == ["web-0", "web-1", "web-2"]
    back = after["web-1"]
    assert back.metadata.uid != before.metadata.uid and back.spec["nodeName"] != dead
    assert back.status["phase"] == "Running" and back.spec["hostname"] == "web-1"


def test_sim_a_new_template_rolls_from_the_highest_ordinal():
    sim = simulated()
    sim.apply(dsl.parse(CLUSTER.replace("command serve", "command serve v2")))
    sim.run_until_stable()
    up = pods(sim)
    assert all(p.spec["containers"][0]["command"] == ["serve", "v2"] for p in up.values())
    deleted = [e.message.split()[2] for e in sim.events() if e.reason == "SuccessfulDelete"]
    assert deleted == ["web-2", "web-1", "web-0"]
    st = sim.get("StatefulSet", "web").status
    assert st["currentRevision"] == st["updateRevision"] and st["updatedReplicas"] == 3
