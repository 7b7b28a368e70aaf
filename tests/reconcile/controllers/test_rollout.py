"""Kubernetes' own table tests for the Deployment arithmetic (reconcile.controllers.rollout) and pod facts
(reconcile.controllers.workloads), ported case for case, plus the kubelet's crash-loop back-off.

Sources: pkg/controller/deployment/util/deployment_util_test.go, rolling_test.go, sync_test.go
(TestScale), pkg/controller/controller_utils_test.go, pkg/api/v1/pod/util_test.go.
"""

import random

import pytest

from reconcile.controllers import workloads as P
from reconcile.api.conditions import get_condition
from reconcile.controllers import rollout as R
from reconcile.api.model import Deployment, Pod, ReplicaSet
from reconcile.controllers.rollout import RSInfo

T2016 = P.seconds("2016-01-01T00:00:00Z")


def deployment(replicas=1, max_surge=0, max_unavailable=0, strategy="RollingUpdate", status=None, **spec):
    """Like Kubernetes' test helper newDeployment: RollingUpdate with maxSurge 0, maxUnavailable 0."""
    s = {"replicas": replicas, "strategy": {"type": strategy}, **spec}
    if strategy == "RollingUpdate":
        s["strategy"]["rollingUpdate"] = {"maxSurge": max_surge, "maxUnavailable": max_unavailable}
    return Deployment.from_dict({"metadata": {"name": "foo"}, "spec": s, "status": status or {}})


def replicaset(name, spec_replicas, created=None, annotations=None, **status):
    return ReplicaSet.from_dict({"metadata": {"name": name, "creationTimestamp": created,
                                              "annotations": annotations or {}},
                                 "spec": {"replicas": spec_replicas}, "status": status})


# ---------------------------------------------------------------- fenceposts

@pytest.mark.parametrize("surge, unavailable, desired, expected", [
    ("0%", "0%", 0, (0, 1)),
    ("39%", "39%", 10, (4, 3)),
    (None, "39%", 10, (0, 3)),
    ("39%", None, 10, (4, 0)),
    (None, None, 10, (0, 1)),
])
def test_resolve_fenceposts_rounds_surge_up_and_unavailable_down(surge, unavailable, desired, expected):
    assert R.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize("surge, unavailable", [("oops", "39%"), ("55%", "urg"), ("10", 1)])
def test_resolve_fenceposts_rejects_values_that_are_not_ints_or_percentages(surge, unavailable):
    with pytest.raises(ValueError):
        R.resolve_fenceposts(surge, unavailable, 10)


@pytest.mark.parametrize("name, d, expected", [
    ("maxUnavailable less than replicas", deployment(10, 1, 5), 5),
    ("maxUnavailable equal replicas", deployment(10, 1, 10), 10),
    ("maxUnavailable greater than replicas", deployment(5, 1, 10), 5),
    ("maxUnavailable with replicas is 0", deployment(0, 1, 10), 0),
    ("maxUnavailable with Recreate deployment strategy", deployment(strategy="Recreate"), 0),
    ("maxUnavailable less than replicas with percents", deployment(10, 1, "50%"), 5),
    ("maxUnavailable equal replicas with percents", deployment(10, 1, "100%"), 10),
    ("maxUnavailable greater than replicas with percents", deployment(5, 1, "100%"), 5),
])
def test_max_unavailable(name, d, expected):
    assert R.max_unavailable(d) == expected


@pytest.mark.parametrize("name, d, expected", [
    ("replicas greater than maxUnavailable", deployment(10, 1, 5), 5),
    ("replicas equal maxUnavailable", deployment(10, 1, 10), 0),
    ("replicas less than maxUnavailable", deployment(5, 1, 10), 0),
    ("replicas is 0", deployment(0, 1, 10), 0),
    ("minAvailable with Recreate deployment strategy", deployment(10, strategy="Recreate"), 0),
    ("replicas greater than maxUnavailable with percents", deployment(10, 1, "60%"), 4),
    ("replicas equal maxUnavailable with percents", deployment(10, 1, "100%"), 0),
    ("replicas less than maxUnavailable with percents", deployment(5, 1, "100%"), 0),
])
def test_min_available(name, d, expected):
    assert R.min_available(d) == expected


def test_max_surge_is_zero_unless_rolling_and_rounds_up():
    assert R.max_surge(deployment(10, "25%", "25%")) == 3
    assert R.max_surge(deployment(10, strategy="Recreate")) == 0


# ---------------------------------------------------------------- counts

@pytest.mark.parametrize("name, sets, count, actual", [
    ("1:2 Replicas", [RSInfo("rs1", 1, actual=2)], 1, 2),
    ("3:5 Replicas", [RSInfo("rs1", 1, actual=2), RSInfo("rs2", 2, actual=3)], 3, 5),
])
def test_get_replica_count_for_replica_sets(name, sets, count, actual):
    assert R.get_replica_count_for_replica_sets(sets) == count
    assert R.get_actual_replica_count(sets) == actual


def test_counts_read_replica_set_objects_and_skip_none():
    rss = [replicaset("a", 3, replicas=2, readyReplicas=2, availableReplicas=1), None]
    assert (R.get_replica_count_for_replica_sets(rss), R.get_actual_replica_count(rss),
            R.get_ready_replica_count(rss), R.get_available_replica_count(rss)) == (3, 2, 2, 1)


def test_rsinfo_of_a_replica_set_reads_status_and_annotations():
    rs = replicaset("a", 3, created="2016-01-01T00:00:00Z", replicas=2, readyReplicas=2, availableReplicas=1,
                    annotations={R.DESIRED_REPLICAS_ANNOTATION: "4", R.MAX_REPLICAS_ANNOTATION: "-1"})
    assert RSInfo.of(rs) == RSInfo("a", 3, ready=2, available=1, created=T2016, actual=2,
                                   desired_replicas=4, max_replicas=None)


# ---------------------------------------------------------------- new replica set

@pytest.mark.parametrize("name, strategy, dep_replicas, new_rs_replicas, surge, expected", [
    ("can not scale up - to newRSReplicas", "RollingUpdate", 1, 5, 1, 5),
    ("scale up - to depReplicas", "RollingUpdate", 6, 2, 10, 6),
    ("recreate - to depReplicas", "Recreate", 3, 1, 1, 3),
])
def test_new_rs_new_replicas(name, strategy, dep_replicas, new_rs_replicas, surge, expected):
    d = deployment(dep_replicas, surge, 1, strategy=strategy)
    assert R.new_rs_new_replicas(d, [RSInfo("rs5", 5)], RSInfo("new", new_rs_replicas)) == expected


def test_new_rs_new_replicas_rejects_an_unknown_strategy():
    d = deployment().set(spec=deployment().spec.set("strategy", {"type": "Canary"}))
    with pytest.raises(ValueError):
        R.new_rs_new_replicas(d, [], RSInfo("new", 0))


@pytest.mark.parametrize("name, dep_replicas, surge, old, new, expected", [
    ("should not scale up when old replica set is fully saturated", 10, 0, 10, 0, 0),
    ("should scale up according to the maxSurge when old replica set is fully saturated", 10, 2, 10, 0, 2),
    ("should scale up according to the maxSurge", 10, 2, 5, 0, 7),
    ("should not scale when maxSurge is fully saturated", 10, 2, 10, 2, 2),
    ("should scale down when there are replicas above maxSurge", 10, 2, 2, 11, 10),
])
def test_reconcile_new_replica_set(name, dep_replicas, surge, old, new, expected):
    d = deployment(dep_replicas, surge, 0)
    new_rs = RSInfo("foo-v2", new)
    assert R.reconcile_new_replica_set(d, [new_rs, RSInfo("foo-v2", old)], new_rs) == expected


@pytest.mark.parametrize("rs, saturated", [
    (RSInfo("r", 1, available=1, desired_replicas=1), True),            # Kubernetes' TestAnnotationUtils
    (RSInfo("r", 1, available=1), False),                              # no desired-replicas annotation
    (None, False),
])
def test_is_saturated_needs_the_annotation_the_size_and_all_pods_available(rs, saturated):
    assert R.is_saturated(deployment(1), rs) is saturated


@pytest.mark.parametrize("name, replicas, available, saturated", [   # cluster-api's port of the same function
    ("not yet saturated, the set doesn't have all the desired replicas", 1, 0, False),
    ("not yet saturated, all replicas but some are not available yet", 3, 1, False),
    ("saturated, all replicas and all are available", 3, 3, True),
])
def test_is_saturated(name, replicas, available, saturated):
    rs = replicaset("ms", replicas, annotations={R.DESIRED_REPLICAS_ANNOTATION: "3"}, availableReplicas=available)
    assert R.is_saturated(deployment(3), rs) is saturated


# ---------------------------------------------------------------- old replica sets (rolling.go)

@pytest.mark.parametrize("dep_replicas, max_unavailable, old, new, old_available, new_available, expected", [
    (10, 0, 10, 0, 10, 0, {"foo-old": 9}),
    (10, 2, 10, 0, 10, 0, {"foo-old": 8}),
    (10, 2, 10, 0, 8, 0, {"foo-old": 8}),      # unhealthy replicas from old replica sets cleaned up
    (10, 2, 10, 0, 9, 0, {"foo-old": 8}),      # 1 unhealthy cleaned up, and 1 ready pod scaled down
    (10, 2, 8, 2, 8, 0, {}),                   # the new RS's unavailable pods stop a further scale-down
])
def test_reconcile_old_replica_sets(dep_replicas, max_unavailable, old, new, old_available, new_available, expected):
    d = deployment(dep_replicas, 0, max_unavailable)
    result = R.reconcile_old_replica_sets(d, [RSInfo("foo-old", old, available=old_available)],
                                          RSInfo("foo-new", new, available=new_available))
    assert result == expected


def test_crashlooping_new_pods_do_not_let_a_node_failure_scale_old_pods_down():
    # The worked example in rolling.go: 10 replicas, maxUnavailable 2, maxSurge 3.
    d = deployment(10, 3, 2)
    crashing = RSInfo("crashing", 5, created=2.0, available=0)
    good = RSInfo("good", 8, created=1.0, available=7)              # one pod lost with a node
    assert R.reconcile_old_replica_sets(d, [good], crashing) == {}  # 13 - 8 - 5 = 0
    # rolled back: the good set is new again; 13 - 8 - 1 = 4 crashlooping pods go
    assert R.reconcile_old_replica_sets(d, [crashing], good) == {"crashing": 1}
    # rolled over to a third template: 13 - 8 - 0 = 5 unhealthy old pods go, the oldest set first
    assert R.reconcile_old_replica_sets(d, [good, crashing], RSInfo("third", 0)) == {"crashing": 1, "good": 7}


def test_reconcile_old_replica_sets_does_nothing_without_old_pods():
    assert R.reconcile_old_replica_sets(deployment(3, 1, 1), [RSInfo("old", 0)], RSInfo("new", 3)) == {}


def test_reconcile_old_replica_sets_stops_where_kubernetes_cleanup_fails():
    # more available than spec (a stale status): Kubernetes' cleanup errors and nothing more is scaled
    old = [RSInfo("a", 2, created=1.0, available=1), RSInfo("b", 2, created=2.0, available=5)]
    assert R.reconcile_old_replica_sets(deployment(4, 0, 2), old, RSInfo("new", 0)) == {"a": 1}
    with pytest.raises(ValueError):
        R.cleanup_unhealthy_replicas(old, 10)


@pytest.mark.parametrize("old_replicas, ready, max_cleanup, cleaned", [
    (10, 8, 1, 1),
    (10, 8, 3, 2),
    (10, 8, 0, 0),
    (10, 10, 3, 0),
])
def test_cleanup_unhealthy_replicas(old_replicas, ready, max_cleanup, cleaned):
    sizes, count = R.cleanup_unhealthy_replicas([RSInfo("foo-v2", old_replicas, available=ready)], max_cleanup)
    assert count == cleaned
    assert sizes == ({"foo-v2": old_replicas - cleaned} if cleaned else {})


def test_cleanup_unhealthy_replicas_takes_the_oldest_replica_sets_first():
    old = [RSInfo("newer", 3, created=2.0, available=1), RSInfo("older", 3, created=1.0, available=2)]
    assert R.cleanup_unhealthy_replicas(old, 2) == ({"newer": 2, "older": 2}, 2)
    assert R.cleanup_unhealthy_replicas(old, 1) == ({"older": 2}, 1)


@pytest.mark.parametrize("dep_replicas, max_unavailable, ready, old_replicas, expected", [
    (10, 0, 10, 10, {"foo-v2": 9}),
    (10, 2, 10, 10, {"foo-v2": 8}),
    (10, 2, 8, 10, {}),
    (10, 2, 10, 0, {}),
    (10, 2, 1, 10, {}),
])
def test_scale_down_old_for_rolling_update(dep_replicas, max_unavailable, ready, old_replicas, expected):
    old = [RSInfo("foo-v2", old_replicas, available=ready)]
    assert R.scale_down_old_for_rolling_update(deployment(dep_replicas, 0, max_unavailable), old, old) == expected


def test_scale_down_old_for_rolling_update_empties_the_oldest_first():
    old = [RSInfo("b", 2, created=2.0, available=2), RSInfo("a", 2, created=1.0, available=2)]
    assert R.scale_down_old_for_rolling_update(deployment(4, 0, 3), old, old) == {"a": 0, "b": 1}


# ---------------------------------------------------------------- proportional scaling (sync.go)

@pytest.mark.parametrize("name, deployment_replicas, max_surge, status_replicas, rs_replicas, annotation, fraction", [
    ("empty deployment always scales to 0", 0, 0, 0, 10, None, -10),
    ("unsynced deployment does not scale when max-replicas annotation is missing", 10, 0, 0, 5, None, 0),
    ("unsynced deployment does not scale when max-replicas annotation is incorrectly set to 0", 10, 0, 0, 5, "0", 0),
    ("scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is missing",
     120, 0, 100, 50, None, 10),
    ("scale up by 1/5 should increase RS replicas by 1/5 when max-replicas annotation is set to 0",
     120, 0, 100, 50, "0", 10),
    ("scale up by 1/5 should increase RS replicas by 1/5", 120, 0, 0, 50, "100", 10),
    ("scale up with maxSurge by 1/5 should increase RS replicas approximately by 1/5", 120, 10, 0, 50, "110", 9),
    ("scale down by 1/6 should decrease RS replicas by 1/6", 10, 0, 0, 6, "12", -1),
    ("scale down with maxSurge by 1/6 should decrease RS replicas approximately by 1/6", 100, 10, 0, 50, "130", -8),
])
def test_get_replica_set_fraction(name, deployment_replicas, max_surge, status_replicas, rs_replicas, annotation,
                                  fraction):
    d = deployment(deployment_replicas, max_surge, 1, status={"replicas": status_replicas})
    annotations = {} if annotation is None else {R.MAX_REPLICAS_ANNOTATION: annotation}
    assert R.get_replica_set_fraction(replicaset("rs", rs_replicas, annotations=annotations), d) == fraction


def test_get_proportion_stays_within_what_is_left_to_add_or_remove():
    d = deployment(10)
    rs = RSInfo("r", 5, max_replicas=5)                      # fraction +5 (or -5 when shrinking to 0)
    assert R.get_proportion(rs, d, 3, 0) == 3                # min(fraction, allowed) when growing
    assert R.get_proportion(rs, deployment(0), -8, -6) == -2  # max(fraction, allowed) when shrinking
    assert R.get_proportion(rs, d, 3, 3) == 0 and R.get_proportion(RSInfo("z", 0), d, 3, 0) == 0


NEW, OLD, OLDER = "2016-05-20T02:00:00Z", "2016-05-20T01:00:00Z", "2016-05-20T00:00:00Z"


@pytest.mark.parametrize("name, d, old_d, new, olds, expected_new, expected_old, desired", [
    ("normal scaling event: 10 -> 12", deployment(12), deployment(10), ("foo-v1", 10, NEW), [], 12, [], {}),
    ("normal scaling event: 10 -> 5", deployment(5), deployment(10), ("foo-v1", 10, NEW), [], 5, [], {}),
    ("proportional scaling: 5 -> 10", deployment(10), deployment(5), ("foo-v2", 2, NEW),
     [("foo-v1", 3, OLD)], 4, [6], {}),
    ("proportional scaling: 5 -> 3", deployment(3), deployment(5), ("foo-v2", 2, NEW),
     [("foo-v1", 3, OLD)], 1, [2], {}),
    ("proportional scaling: 9 -> 4", deployment(4), deployment(9), ("foo-v2", 8, NEW),
     [("foo-v1", 1, OLD)], 4, [0], {}),
    ("proportional scaling: 7 -> 10", deployment(10), deployment(7), ("foo-v3", 2, NEW),
     [("foo-v2", 3, OLD), ("foo-v1", 2, OLDER)], 3, [4, 3], {}),
    ("proportional scaling: 13 -> 8", deployment(8), deployment(13), ("foo-v3", 2, NEW),
     [("foo-v2", 8, OLD), ("foo-v1", 3, OLDER)], 1, [5, 2], {}),
    ("leftover distribution: 3 -> 4 scales up the new replica set", deployment(4), deployment(3),
     ("foo-v3", 1, NEW), [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)], 2, [1, 1], {}),
    ("leftover distribution: 3 -> 2 scales down the older replica set", deployment(2), deployment(3),
     ("foo-v3", 1, NEW), [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)], 1, [1, 0], {}),
    ("proportional scaling (no new rs): 4 -> 5 scales up the latest replica set first", deployment(5),
     deployment(4), None, [("foo-v2", 2, OLD), ("foo-v1", 2, OLDER)], None, [3, 2], {}),
    ("proportional scaling: 6 -> 0 scales down to zero", deployment(0), deployment(6), ("foo-v3", 3, NEW),
     [("foo-v2", 2, OLD), ("foo-v1", 1, OLDER)], 0, [0, 0], {}),
    ("proportional scaling: 0 -> 6 scales up from zero", deployment(6), deployment(6), ("foo-v3", 0, NEW),
     [("foo-v2", 0, OLD), ("foo-v1", 0, OLDER)], 6, [0, 0], {}),
    ("failed rs update", deployment(5), deployment(5), ("foo-v3", 2, NEW),
     [("foo-v2", 1, OLD), ("foo-v1", 1, OLDER)], 2, [2, 1], {"foo-v2": 3}),
    ("deployment with surge pods", deployment(20, 2), deployment(10, 2), ("foo-v2", 6, NEW),
     [("foo-v1", 6, OLD)], 11, [11], {}),
    ("change both surge and size", deployment(50, 6), deployment(10, 3), ("foo-v2", 5, NEW),
     [("foo-v1", 8, OLD)], 22, [34], {}),
    ("change both size and template", deployment(14), deployment(10), None,
     [("foo-v2", 7, NEW), ("foo-v1", 3, OLD)], None, [10, 4], {}),
    ("saturated but broken new replica set does not affect old pods", deployment(2, 1, 1), deployment(2, 1, 1),
     ("foo-v2", 2, NEW), [("foo-v1", 1, OLD)], 2, [1], {}),
])
def test_scale(name, d, old_d, new, olds, expected_new, expected_old, desired):
    def make(name, replicas, created):     # annotations as the old deployment's last write left them
        want = desired.get(name, old_d.spec["replicas"])
        annotations = {R.DESIRED_REPLICAS_ANNOTATION: str(want),
                       R.MAX_REPLICAS_ANNOTATION: str(want + R.max_surge(old_d))}
        return replicaset(name, replicas, created, annotations)
    new_rs = make(*new) if new else None
    old_rss = [make(*o) for o in olds]
    sizes = {rs.name: rs.spec["replicas"] for rs in old_rss + ([new_rs] if new_rs else [])}
    sizes.update(R.proportional_scale(d, new_rs, old_rss))
    if new_rs is not None:
        assert sizes[new_rs.name] == expected_new
    assert [sizes[rs.name] for rs in old_rss] == expected_old


def test_proportional_scale_scales_old_sets_to_zero_when_the_new_one_is_saturated():
    d = deployment(3, 1, 0)
    new = RSInfo("new", 3, available=3, desired_replicas=3)
    assert R.proportional_scale(d, new, [RSInfo("a", 1), RSInfo("b", 2), RSInfo("c", 0)]) == {"a": 0, "b": 0}


def test_proportional_scale_leaves_recreate_deployments_with_several_active_sets_alone():
    assert R.proportional_scale(deployment(5, strategy="Recreate"), RSInfo("n", 1), [RSInfo("o", 1)]) == {}


def test_a_converged_deployment_scales_nothing():
    d = deployment(4, 1, 0)
    assert R.proportional_scale(d, RSInfo("new", 4, available=4, desired_replicas=4), [RSInfo("old", 0)]) == {}
    assert R.reconcile_old_replica_sets(d, [RSInfo("old", 0)], RSInfo("new", 4, available=4)) == {}


def test_find_active_or_latest():
    assert R.find_active_or_latest(None, []) is None
    assert R.find_active_or_latest(RSInfo("new", 0), [RSInfo("old", 0)]).name == "new"
    assert R.find_active_or_latest(None, [RSInfo("a", 0, created=1.0), RSInfo("b", 0, created=2.0)]).name == "b"
    assert R.find_active_or_latest(RSInfo("new", 1), [RSInfo("old", 1)]) is None


def test_a_scaling_event_is_an_active_set_annotated_with_another_size():
    d = deployment(5)
    assert R.is_scaling_event(d, [RSInfo("a", 2, desired_replicas=4)])
    assert not R.is_scaling_event(d, [RSInfo("a", 2, desired_replicas=5), RSInfo("b", 0, desired_replicas=4)])
    assert not R.is_scaling_event(d, [RSInfo("a", 2)])
    assert R.replicas_annotations(deployment(10, "25%")) == {R.DESIRED_REPLICAS_ANNOTATION: "10",
                                                             R.MAX_REPLICAS_ANNOTATION: "13"}


# ---------------------------------------------------------------- progress

@pytest.mark.parametrize("name, d, expected", [
    ("not complete: min but not all pods become available", (5, 5, 5, 4, 1, 0), False),
    ("not complete: min availability is not honored", (5, 5, 5, 3, 1, 0), False),
    ("complete", (5, 5, 5, 5, 0, 0), True),
    ("not complete: all pods are available but not updated", (5, 5, 4, 5, 0, 0), False),
    ("not complete: still running old pods", (1, 2, 1, 1, 0, 1), False),
    ("not complete: one replica deployment never comes up", (1, 1, 1, 0, 1, 1), False),
])
def test_deployment_complete(name, d, expected):
    desired, current, updated, available, max_unavailable, max_surge = d
    status = {"replicas": current, "updatedReplicas": updated, "availableReplicas": available}
    assert R.deployment_complete(deployment(desired, max_surge, max_unavailable, status=status), status) is expected


@pytest.mark.parametrize("name, old, new, expected", [
    ("progressing: updated pods", (10, 4, 4, 4), (10, 6, 4, 4), True),
    ("not progressing", (10, 4, 4, 4), (10, 4, 4, 4), False),
    ("progressing: old pods removed", (10, 4, 6, 6), (8, 4, 6, 6), True),
    ("not progressing: less new pods", (10, 7, 3, 3), (10, 6, 3, 3), False),
    ("progressing: less overall but more new pods", (10, 4, 7, 7), (8, 8, 5, 5), True),
    ("progressing: more ready pods", (10, 10, 9, 8), (10, 10, 10, 8), True),
    ("progressing: more available pods", (10, 10, 10, 9), (10, 10, 10, 10), True),
])
def test_deployment_progressing(name, old, new, expected):
    def status(current, updated, ready, available):
        return {"replicas": current, "updatedReplicas": updated, "readyReplicas": ready,
                "availableReplicas": available}
    assert R.deployment_progressing(deployment(status=status(*old)), status(*new)) is expected


def t2016(minute, second):
    return f"2016-01-01T00:{minute:02d}:{second:02d}Z"


@pytest.mark.parametrize("name, deadline, reason, since, now, expected", [
    ("nil progressDeadlineSeconds specified - no timeout", None, "", t2016(1, 9), t2016(1, 20), False),
    ("infinite progressDeadlineSeconds specified - no timeout", 2**31 - 1, "", t2016(1, 9), t2016(1, 20), False),
    ("progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:09 => 11s", 10, "", t2016(1, 9),
     t2016(1, 20), True),
    ("progressDeadlineSeconds: 10s, now - started => 00:01:20 - 00:01:11 => 9s", 10, "", t2016(1, 11),
     t2016(1, 20), False),
    ("previous status was a complete deployment", None, "NewReplicaSetAvailable", None, t2016(0, 0), False),
    ("a complete deployment never times out", 10, "NewReplicaSetAvailable", t2016(0, 0), t2016(9, 0), False),
    ("a timed-out deployment stays timed out", 10, "ProgressDeadlineExceeded", t2016(1, 19), t2016(1, 20), True),
    ("exactly at the deadline is not past it", 10, "", t2016(1, 10), t2016(1, 20), False),
])
def test_deployment_timed_out(name, deadline, reason, since, now, expected):
    d = deployment(progressDeadlineSeconds=deadline)
    if deadline is None:
        d = d.set(spec=d.spec.discard("progressDeadlineSeconds"))
    condition = {"type": "Progressing", "status": "True", "reason": reason, "lastUpdateTime": since}
    assert R.deployment_timed_out(d, condition, P.seconds(now)) is expected


def test_no_progressing_condition_means_no_time_out():
    assert R.deployment_timed_out(deployment(progressDeadlineSeconds=1), None, 1e9) is False
    status = {"conditions": [{"type": "Available"}, {"type": "Progressing", "lastUpdateTime": 0.0}]}
    assert R.deployment_timed_out(deployment(progressDeadlineSeconds=1),
                                  get_condition(status, "Progressing"), 2.0) is True


# ---------------------------------------------------------------- pods: ready, available, active

NOW = 1_700_000_000.0


def pod(name="p", node="", phase=None, ready=None, ready_since=None, restarts=(), created=None, annotations=None,
        deleted=None):
    status = {"phase": phase} if phase else {}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": "True" if ready else "False",
                                 "lastTransitionTime": ready_since}]
    if restarts:
        status["containerStatuses"] = [{"name": f"c{i}", "restartCount": r} for i, r in enumerate(restarts)]
    return Pod.from_dict({"metadata": {"name": name, "creationTimestamp": created, "deletionTimestamp": deleted,
                                       "annotations": annotations or {}},
                          "spec": {"nodeName": node, "containers": []}, "status": status})


@pytest.mark.parametrize("p, min_ready, expected", [
    (pod(ready=False, ready_since=NOW), 0, False),
    (pod(ready=True, ready_since=NOW), 1, False),
    (pod(ready=True, ready_since=None), 1, False),           # zero lastTransitionTime
    (pod(ready=True, ready_since=NOW), 0, True),
    (pod(ready=True, ready_since=NOW - 51), 50, True),
    (pod(ready=True, ready_since=NOW - 51), 51, True),
    (pod(ready=True, ready_since=NOW - 51), 52, False),
])
def test_is_pod_available(p, min_ready, expected):
    assert P.is_pod_available(p, min_ready, NOW) is expected


def test_ready_times_may_be_rfc3339_text():
    p = pod(ready=True, ready_since="2016-01-01T00:00:00Z")
    assert P.ready_since(p) == T2016
    assert P.is_pod_available(p, 60, T2016 + 60) and not P.is_pod_available(p, 60, T2016 + 59)


def test_only_the_first_ready_condition_counts():
    p = Pod.from_dict({"metadata": {"name": "p"}, "status": {"conditions": [{"type": "Ready", "status": "False"},
                                                                            {"type": "Ready", "status": "True"}]}})
    assert not P.is_ready(p)


def test_active_pods_are_neither_finished_nor_being_deleted():
    pods = [pod("pod0", phase="Succeeded"), pod("pod1", phase="Failed"), pod("pod2", phase="Running"),
            pod("pod3", phase="Pending"), pod("pod4", phase="Running", deleted=NOW)]
    assert [p.name for p in P.filter_active_pods(pods)] == ["pod2", "pod3"]
    assert P.pods_per_node(pods + [pod("pod5", node="n1")]) == {"": 2, "n1": 1}


# ---------------------------------------------------------------- pods: deletion order

def test_sorting_active_pods():
    then = NOW - 30 * 86400
    pods = [
        pod("pod0", node="", phase="Pending"),                                    # not scheduled yet
        pod("pod1", node="bar", phase="Pending"),                                 # scheduled but pending
        pod("pod2", node="foo", phase="Unknown"),
        pod("pod3", node="foo", phase="Running"),                                 # running but not ready
        pod("pod4", node="foo", phase="Running", ready=True, restarts=(3, 0)),    # no lastTransitionTime
        pod("pod5", node="foo", phase="Running", ready=True, ready_since=NOW, restarts=(3, 0)),
        pod("pod6", node="foo", phase="Running", ready=True, ready_since=then, restarts=(3, 0)),
        pod("pod7", node="foo", phase="Running", ready=True, ready_since=then, restarts=(2, 1), created=NOW),
        pod("pod8", node="foo", phase="Running", ready=True, ready_since=then, restarts=(2, 1), created=then),
    ]
    rng = random.Random(0)
    for _ in range(20):
        shuffled = rng.sample(pods, len(pods))
        assert [p.name for p in sorted(shuffled, key=lambda p: P.pod_deletion_key(p, NOW))] == \
            [f"pod{i}" for i in range(9)]


HOUR, MONTH = 3600.0, 30 * 86400.0
UNSCHEDULED = pod("unscheduled", "", "Pending", False)
PENDING = pod("pending", "node", "Pending", False)
UNKNOWN = pod("unknown-phase", "node", "Unknown", False)
NOT_READY = pod("not-ready", "node", "Running", False)
READY_NO_TIME = pod("ready-no-last-transition-time", "node", "Running", True, None, (0,))
READY_NOW = pod("ready-now", "node", "Running", True, NOW, (0,), NOW)
READY_THEN = pod("ready-then", "node", "Running", True, NOW - MONTH, (0,), NOW - MONTH)
READY_HIGH_RESTARTS = pod("ready-high-restarts", "node", "Running", True, NOW, (9001,), NOW)
READY_NOW_CREATED_THEN = pod("ready-now-created-then", "node", "Running", True, NOW, (0,), NOW - MONTH)
LOW_COST = pod("low-deletion-cost", "node", "Running", True, NOW, (0,), NOW - MONTH,
               {P.POD_DELETION_COST: "10"})
HIGH_COST = pod("high-deletion-cost", "node", "Running", True, NOW, (0,), NOW - MONTH,
                {P.POD_DELETION_COST: "100"})
READY_2H = pod("ready-2-hours", "", "Running", True, NOW - 2 * HOUR, (0,), NOW - MONTH)
READY_5H = pod("ready-5-hours", "", "Running", True, NOW - 5 * HOUR, (0,), NOW - MONTH)
READY_8H = pod("ready-10-hours", "", "Running", True, NOW - 8 * HOUR, (0,), NOW - MONTH)
UNSCHEDULED_5H = pod("unscheduled-5-hours", "", "Pending", False, NOW - 5 * HOUR, (), NOW - 5 * HOUR)
UNSCHEDULED_8H = pod("unscheduled-10-hours", "", "Pending", False, NOW - 8 * HOUR, (), NOW - 8 * HOUR)


def ranked_key(p, rank):
    """The key without its final tie-breaker (the name), the pod ranked ``rank`` on its node."""
    return P.pod_deletion_key(p, NOW, {p.spec.get("nodeName") or "": rank})[:-1]


@pytest.mark.parametrize("p", [UNSCHEDULED, PENDING, UNKNOWN, NOT_READY, READY_NOW_CREATED_THEN, READY_NOW,
                               READY_THEN, READY_HIGH_RESTARTS])
def test_sorting_active_pods_with_ranks_equal_pods_are_equivalent(p):
    assert ranked_key(p, 1) == ranked_key(p, 1)


@pytest.mark.parametrize("lesser, lesser_rank, greater, greater_rank", [
    (UNSCHEDULED, 1, PENDING, 2),
    (UNSCHEDULED, 2, PENDING, 1),
    (PENDING, 1, UNKNOWN, 2),
    (UNKNOWN, 1, NOT_READY, 2),
    (NOT_READY, 1, READY_NO_TIME, 1),
    (READY_NO_TIME, 1, READY_NOW, 1),
    (READY_NOW, 2, READY_NO_TIME, 1),
    (READY_NOW, 1, READY_THEN, 1),
    (READY_NOW, 2, READY_THEN, 1),
    (READY_HIGH_RESTARTS, 1, READY_NOW, 1),
    (READY_NOW, 2, READY_HIGH_RESTARTS, 1),
    (READY_NOW, 1, READY_NOW_CREATED_THEN, 1),
    (READY_NOW_CREATED_THEN, 2, READY_NOW, 1),
    (LOW_COST, 2, HIGH_COST, 1),
    (READY_2H, 1, READY_5H, 1),
    # Without LogarithmicScaleDown (see the report): times are compared exactly, not by powers of two.
    (READY_5H, 1, READY_8H, 1),
    (UNSCHEDULED_5H, 1, UNSCHEDULED_8H, 1),
])
def test_sorting_active_pods_with_ranks(lesser, lesser_rank, greater, greater_rank):
    assert ranked_key(lesser, lesser_rank) < ranked_key(greater, greater_rank)


@pytest.mark.parametrize("value, cost", [("10", 10), ("-5", -5), ("0", 0), ("+10", 0), ("008", 0), ("x", 0),
                                         (str(2**31), 0)])
def test_pod_deletion_cost_annotation_is_an_int32_without_plus_or_leading_zeros(value, cost):
    low, high = pod("a", "n", "Running", annotations={P.POD_DELETION_COST: value}), pod("b", "n", "Running")
    assert P.pod_deletion_key(low, NOW)[3] == cost and P.pod_deletion_key(high, NOW)[3] == 0


def test_pods_to_delete_prefers_pods_on_crowded_nodes_then_names():
    pods = [pod(name, node, "Running", True, NOW - HOUR, (0,), NOW - HOUR)
            for name, node in (("a", "n1"), ("b", "n2"), ("c", "n2"), ("d", "n3"))]
    related = pods + [pod("other-rs", "n3", "Running"), pod("other-rs-2", "n3", "Running")]
    assert [p.name for p in P.pods_to_delete(pods, 2, NOW)] == ["b", "c"]
    assert [p.name for p in P.pods_to_delete(pods, 2, NOW, related)] == ["d", "b"]
    assert P.pods_to_delete(pods, 0, NOW) == [] and len(P.pods_to_delete(pods, 9, NOW)) == 4


# ---------------------------------------------------------------- crash-loop back-off

def test_backoff_doubles_from_10s_and_is_capped_at_300s():
    waits, previous, t = [], None, 0.0
    for _ in range(9):
        started, t = t, t + 1.0                     # runs 1s, then crashes
        previous = P.next_backoff(previous, started, t)
        waits.append(previous)
        t += previous
    assert waits == [10, 20, 40, 80, 160, 300, 300, 300, 300]


def test_backoff_resets_after_ten_minutes_of_running():
    assert P.next_backoff(300.0, 1000.0, 1600.0) == 10.0
    assert P.next_backoff(300.0, 1000.0, 1599.0) == 300.0
    assert P.next_backoff(40.0, None, 5000.0) == 80.0     # start unknown: no reset
    assert P.next_backoff(None, None, 0.0) == 10.0


def test_the_kubelet_restarts_a_first_crash_at_once_and_then_waits_10_20_40_seconds():
    entry, t, waits = None, 0.0, []
    for _ in range(5):
        finished = t + 1.0                          # each run lasts 1s
        restart = finished
        while entry is not None and entry.blocks(finished, restart):
            restart += 1.0
        waits.append(restart - finished)
        entry = P.BackOff.first(restart) if entry is None else entry.step(finished, restart)
        t = restart
    assert waits == [0, 10, 20, 40, 80]


def test_the_kubelet_back_off_entry_expires_after_more_than_600s():
    entry = P.BackOff(300.0, 0.0)
    assert entry.blocks(600.0, 601.0) and entry.step(600.0, 900.0) == P.BackOff(300.0, 900.0)
    assert not entry.blocks(600.5, 601.0) and entry.step(600.5, 601.0) == P.BackOff(10.0, 601.0)
