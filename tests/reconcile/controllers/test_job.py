"""Job controller, (state) -> actions, and Jobs in the simulator."""

import pytest

from reconcile.engine.actions import Create, Update, UpdateStatus
from reconcile.api.conditions import condition
from reconcile.controllers.workloads import is_active
from reconcile.controllers.job import (
    COMPLETION_INDEX, CONTROLLER_UID, JOB_NAME, LEGACY_CONTROLLER_UID, LEGACY_JOB_NAME, TRACKING_FINALIZER,
    format_indexes, parse_indexes, pod_backoff, reconcile_job,
)
from reconcile.api.model import Job, Node, Pod

from tests.reconcile.controllers.helpers import State, apply, settle as _settle, words

TEMPLATE = {"metadata": {"labels": {"app": "work"}}, "spec": {"containers": [{"name": "c", "image": "v1"}]}}


# ---------------------------------------------------------------- building states

def job(s, **spec):
    template = spec.pop("template", TEMPLATE)
    return s.add(Job.new("work", "default", spec={"template": template, **spec}))


def run(s):
    return reconcile_job(s.snapshot, ("Job", "default", "work"), s.now)


def settle(s):
    return _settle(s, reconcile_job, ("Job", "default", "work"))


def pods(s):
    return s.store.list("Pod")


def start_pods(s, ready=True):
    """The Job's pods, bound and running."""
    for p in pods(s):
        if p.status.get("phase") == "Pending":
            s.status(p, phase="Running", conditions=[{"type": "Ready", "status": "True" if ready else "False",
                                                      "lastTransitionTime": s.now}])


def finish(s, name, phase="Succeeded", at=None):
    at = s.now if at is None else at
    code = 0 if phase == "Succeeded" else 1
    s.status(s.store.get("Pod", name), phase=phase, conditions=[{"type": "Ready", "status": "False"}],
             containerStatuses=[{"name": "c", "state": {"terminated": {"exitCode": code, "finishedAt": at}}}])


def summary(result):
    """The actions as words; an Update that takes the tracking finalizer off a pod is ``Release <pod>``."""
    return words(result, update=lambda o: f"Release {o.name}" if o.kind == "Pod" and TRACKING_FINALIZER
                 not in o.metadata.finalizers else f"Update {o.name}")


def status_of(result):
    (st,) = [a.object.status for a in result.actions if isinstance(a, UpdateStatus)]
    return st


def names(s, phase=None):
    return sorted(p.name for p in pods(s) if phase is None or p.status.get("phase") == phase)


# ---------------------------------------------------------------- the table
# Each setup builds a state and returns the pods it names; the expected actions use those names.

def _fresh(s):
    job(s, completions=3, parallelism=2)
    return {}


def _converged_running(s):
    _fresh(s)
    settle(s)
    start_pods(s)
    settle(s)
    return {}


def _one_succeeded(s):
    _converged_running(s)
    done = names(s)[0]
    finish(s, done)
    return {"done": done}


def _last_two_remaining(s):
    job(s, completions=3, parallelism=5)
    return {}


def _failed_past_limit(s):
    job(s, completions=2, parallelism=2, backoffLimit=1)
    settle(s)
    start_pods(s)
    first, second = names(s)
    finish(s, first, "Failed")
    settle(s)           # counted (1 failure is within the limit); the replacement waits 10 s
    s.now += 10
    settle(s)
    start_pods(s)
    (third,) = set(names(s)) - {first, second}
    finish(s, second, "Failed")
    return {"failed": second, "running": third}


def _deadline_passed(s):
    job(s, completions=1, activeDeadlineSeconds=60)
    settle(s)
    start_pods(s)
    s.now += 60
    return {"running": names(s)[0]}


def _suspended(s):
    _converged_running(s)
    j = s.store.get("Job", "work")
    s.store.update(j.set(spec=j.spec.set("suspend", True)))
    a, b = names(s)
    return {"a": a, "b": b}


def _running_pod_deleted(s):
    _converged_running(s)
    gone = names(s)[0]
    s.store.delete("Pod", gone)         # kept by the finalizer, with a deletionTimestamp
    return {"gone": gone}


def _extra_pod(s):
    _converged_running(s)
    j = s.store.get("Job", "work")
    s.store.update(j.set(spec=j.spec.set("parallelism", 1)))
    return {"extra": names(s)[0]}       # alike in all else, the first by name goes first


def _last_success(s):
    _converged_running(s)
    for n in names(s):
        finish(s, n)
    settle(s)
    start_pods(s)
    (last,) = names(s, "Running")
    finish(s, last)
    return {"last": last}


def _complete(s):
    _last_success(s)
    settle(s)
    return {}


TABLE = [
    ("a new job starts parallelism pods", _fresh, ["Create", "Create", "Status"]),
    ("a running job at parallelism does nothing", _converged_running, []),
    ("a succeeded pod is counted and released, and one more pod starts", _one_succeeded,
     ["Release {done}", "Create", "Status"]),
    ("never more pods than the completions left", _last_two_remaining, ["Create"] * 3 + ["Status"]),
    ("failures past the backoff limit fail the job and delete what runs", _failed_past_limit,
     ["Release {failed}", "Release {running}", "Delete {running}", "Status", "Event BackoffLimitExceeded"]),
    ("a job past its active deadline fails", _deadline_passed,
     ["Release {running}", "Delete {running}", "Status", "Event DeadlineExceeded"]),
    ("suspending deletes the running pods, uncounted", _suspended,
     ["Release {a}", "Delete {a}", "Release {b}", "Delete {b}", "Status", "Event Suspended"]),
    ("a pod deleted while running counts as failed and is released", _running_pod_deleted,
     ["Release {gone}", "Status"]),
    ("lowering parallelism deletes the extra pod", _extra_pod, ["Release {extra}", "Delete {extra}", "Status"]),
    ("the last success completes the job", _last_success, ["Release {last}", "Status", "Event Completed"]),
    ("a complete job does nothing", _complete, []),
]


@pytest.mark.parametrize("setup, expected", [(setup, want) for _, setup, want in TABLE],
                         ids=[name for name, _, _ in TABLE])
def test_job_controller(setup, expected):
    s = State()
    named = setup(s)
    # the order of independent writes does not matter; a pod's release before its deletion does
    # (the other way round is a Conflict), which the simulator tests below would show
    assert sorted(summary(run(s))) == sorted(e.format(**named) for e in expected)


def test_a_pod_is_released_before_it_is_deleted():
    s = State()
    _deadline_passed(s)
    assert summary(run(s))[:2] == [f"Release {names(s)[0]}", f"Delete {names(s)[0]}"]


# ---------------------------------------------------------------- the details

def test_pods_carry_the_generated_labels_the_finalizer_and_the_template():
    s = State()
    j = job(s)
    (create,) = [a for a in run(s).actions if isinstance(a, Create)]
    p = create.object
    uid = j.metadata.uid
    assert p.metadata.labels == {"app": "work", CONTROLLER_UID: uid, LEGACY_CONTROLLER_UID: uid,
                                 JOB_NAME: "work", LEGACY_JOB_NAME: "work"}
    assert list(p.metadata.finalizers) == [TRACKING_FINALIZER]
    assert p.spec["restartPolicy"] == "Never"                  # the Job default of the template
    assert p.metadata.ownerReferences[0].uid == uid and p.metadata.ownerReferences[0].controller


def test_a_manual_selector_is_used_as_given_and_adds_no_labels():
    s = State()
    job(s, manualSelector=True, selector={"matchLabels": {"app": "work"}})
    s.add(Pod.new("stray", "default", labels={"app": "work"}, spec={"containers": [{"name": "c"}]}))
    result = run(s)
    (adopted,) = [a.object for a in result.actions if isinstance(a, Update)]
    assert adopted.name == "stray" and list(adopted.metadata.finalizers) == [TRACKING_FINALIZER]
    settle(s)
    created = [p for p in pods(s) if p.name != "stray"]
    assert len(created) == 0                    # the adopted pod is the one running
    assert CONTROLLER_UID not in s.store.get("Pod", "stray").metadata.labels


def test_a_generated_selector_ignores_pods_with_the_same_app_label():
    s = State()
    job(s)
    s.add(Pod.new("stray", "default", labels={"app": "work"}, spec={"containers": [{"name": "c"}]}))
    assert summary(run(s)) == ["Create", "Status"]


def test_counts_and_times_in_the_status():
    s = State()
    job(s, completions=2, parallelism=2)
    first = run(s)
    st = status_of(first)
    assert (st["active"], st["succeeded"], st["failed"], st["startTime"]) == (2, 0, 0, s.now)
    apply(s, first)
    start_pods(s)
    st = status_of(run(s))
    assert st["ready"] == 2
    settle(s)
    s.now += 30
    for n in names(s):
        finish(s, n)
    result = settle(s)
    j = s.store.get("Job", "work")
    assert (j.status["succeeded"], j.status["active"], j.status["completionTime"]) == (2, 0, s.now)
    assert [(c["type"], c["reason"]) for c in j.status["conditions"]] == [
        ("SuccessCriteriaMet", "CompletionsReached"), ("Complete", "CompletionsReached")]
    assert all(TRACKING_FINALIZER not in p.metadata.finalizers for p in pods(s))
    assert result.actions == ()


def test_replacements_wait_10s_then_20s_after_failures():
    s = State()
    job(s, completions=1, backoffLimit=6)
    settle(s)
    start_pods(s)
    finish(s, names(s)[0], "Failed")
    result = settle(s)
    assert result.requeue_after == 10.0 and len(names(s)) == 1
    s.now += 9.5
    assert not [a for a in run(s).actions if isinstance(a, Create)]
    s.now += 0.5
    settle(s)
    start_pods(s)
    (second,) = names(s, "Running")
    finish(s, second, "Failed")
    assert settle(s).requeue_after == 20.0
    assert s.store.get("Job", "work").status["failed"] == 2


def test_pod_backoff_doubles_up_to_six_minutes_and_resets_after_a_success():
    def pod(name, phase, t):
        return Pod.new(name, status={"phase": phase, "containerStatuses": [
            {"state": {"terminated": {"finishedAt": t}}}]})
    failures = [pod(f"f{i}", "Failed", 100 + i) for i in range(7)]
    assert pod_backoff(failures, 106.0) == 360.0          # 10 * 2**6 = 640, capped
    assert pod_backoff(failures[:3], 102.0) == 40.0
    assert pod_backoff(failures[:3] + [pod("ok", "Succeeded", 101.5)], 102.0) == 10.0   # one failure after it


def test_on_failure_restarts_count_towards_the_backoff_limit():
    s = State()
    template = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "OnFailure"}}
    job(s, backoffLimit=2, template=template)
    settle(s)
    (p,) = pods(s)
    s.status(p, phase="Running", containerStatuses=[{"name": "c", "restartCount": 1}])
    assert "Event BackoffLimitExceeded" not in summary(run(s))
    s.status(s.store.get("Pod", p.name), containerStatuses=[{"name": "c", "restartCount": 2}])
    assert "Event BackoffLimitExceeded" in summary(run(s))


def test_the_active_deadline_wakes_the_job_when_it_is_due():
    s = State()
    job(s, activeDeadlineSeconds=60)
    settle(s)
    s.now += 25
    assert run(s).requeue_after == 35.0


def test_resuming_a_suspended_job_restarts_its_clock():
    s = State()
    job(s, suspend=True, activeDeadlineSeconds=60)
    result = settle(s)
    j = s.store.get("Job", "work")
    assert pods(s) == [] and "startTime" not in j.status
    assert condition(j, "Suspended")["status"] == "True"
    s.now += 100
    s.store.update(j.set(spec=j.spec.set("suspend", False)))
    result = run(s)
    assert summary(result).count("Create") == 1 and "Event Resumed" in summary(result)
    st = status_of(result)
    assert st["startTime"] == s.now and [c["status"] for c in st["conditions"]] == ["False"]


def test_indexed_pods_take_the_lowest_free_indexes():
    s = State()
    job(s, completions=5, parallelism=2, completionMode="Indexed")
    settle(s)
    by_index = {p.metadata.annotations[COMPLETION_INDEX]: p for p in pods(s)}
    assert sorted(by_index) == ["0", "1"]
    p0 = by_index["0"]
    assert p0.metadata.labels[COMPLETION_INDEX] == "0" and p0.spec["hostname"] == "work-0"
    assert list(p0.spec["containers"][0]["env"]) == [{"name": "JOB_COMPLETION_INDEX", "value": "0"}]
    start_pods(s)
    finish(s, by_index["1"].name)
    settle(s)
    assert sorted(p.metadata.annotations[COMPLETION_INDEX] for p in pods(s) if is_active(p)) == ["0", "2"]
    assert s.store.get("Job", "work").status["completedIndexes"] == "1"


def test_indexed_succeeds_once_per_index():
    s = State()
    job(s, completions=2, parallelism=2, completionMode="Indexed")
    settle(s)
    start_pods(s)
    for p in pods(s):
        finish(s, p.name)
    settle(s)
    j = s.store.get("Job", "work")
    assert (j.status["succeeded"], j.status["completedIndexes"]) == (2, "0-1")
    assert condition(j, "Complete")["status"] == "True"


def test_a_repeated_index_is_deleted_keeping_the_most_advanced_pod():
    s = State()
    job(s, completions=2, parallelism=2, completionMode="Indexed")
    settle(s)
    start_pods(s)
    settle(s)
    running = next(p for p in pods(s) if p.metadata.annotations[COMPLETION_INDEX] == "0")
    twin = Pod.new("work-0-twin", "default", labels=running.metadata.labels, annotations=running.metadata.annotations,
                   spec=running.spec)
    twin = s.add(twin.set(metadata=twin.metadata.set(ownerReferences=running.metadata.ownerReferences,
                                                     finalizers=running.metadata.finalizers)))
    assert summary(run(s)) == ["Release work-0-twin", "Delete work-0-twin"]


@pytest.mark.parametrize("text, completions, indexes, back", [
    ("", 3, [], ""), ("0-2", 3, [0, 1, 2], "0-2"), ("1,3-4,7", 5, [1, 3, 4], "1,3-4"), ("x,2", 4, [2], "2"),
])
def test_completed_indexes_text(text, completions, indexes, back):
    assert parse_indexes(text, completions) == indexes and format_indexes(indexes) == back


def test_a_finished_job_is_deleted_ttl_seconds_after_it_finished():
    s = State()
    job(s, ttlSecondsAfterFinished=100)
    settle(s)
    start_pods(s)
    finish(s, names(s)[0])
    assert settle(s).requeue_after == 100.0
    s.now += 40
    assert run(s).requeue_after == 60.0
    s.now += 60
    (delete,) = run(s).actions
    assert (delete.kind, delete.name, delete.propagation) == ("Job", "work", "Foreground")
    assert delete.resource_version == s.store.get("Job", "work").metadata.resourceVersion


def test_a_tracked_pod_whose_job_is_gone_loses_the_finalizer():
    s = State()
    job(s)
    settle(s)
    (p,) = pods(s)
    s.store.delete("Job", "work")
    s.store.delete("Pod", p.name)            # the garbage collector's deletion, held by the finalizer
    assert names(s) == [p.name]
    result = reconcile_job(s.snapshot, p.key, s.now)
    assert summary(result) == [f"Release {p.name}"]
    apply(s, result)
    assert pods(s) == []


def test_a_tracked_pod_of_a_running_job_keeps_the_finalizer():
    s = State()
    job(s)
    settle(s)
    (p,) = pods(s)
    assert reconcile_job(s.snapshot, p.key, s.now).actions == ()


def test_a_finished_job_without_ttl_does_nothing():
    s = State()
    job(s)
    settle(s)
    start_pods(s)
    finish(s, names(s)[0])
    settle(s)
    assert run(s).actions == () and run(s).requeue_after is None


# ---------------------------------------------------------------- in the simulator

def _sim_with_nodes(n=3):
    from reconcile.sim import SimCluster
    sim = SimCluster(seed=3, node_grace=20.0, eviction_timeout=30.0)
    sim.apply([Node.new(f"n{i}") for i in range(n)])
    return sim


def _sim_template(seconds, exit_code=0, policy="Never"):
    return {"metadata": {"labels": {"app": "work"}, "annotations": {
        "sim.reconcile.dev/run-seconds": str(seconds), "sim.reconcile.dev/exit-code": str(exit_code)}},
            "spec": {"restartPolicy": policy, "containers": [{"name": "c", "image": "v1"}]}}


def _track_active(sim):
    """The most pods active at once, over every write to the store."""
    active, most = set(), [0]

    def see(event):
        o = event.object
        if o.kind != "Pod":
            return
        if event.type != "DELETED" and is_active(o):
            active.add(o.name)
        else:
            active.discard(o.name)
        most[0] = max(most[0], len(active))
    sim.store.add_listener(see)
    return most


def test_in_the_simulator_three_completions_two_at_a_time():
    sim = _sim_with_nodes()
    most = _track_active(sim)
    sim.apply([Job.new("work", "default", spec={"completions": 3, "parallelism": 2,
                                                 "template": _sim_template(30)})])
    sim.run_until_stable()
    j = sim.get("Job", "work")
    assert condition(j, "Complete")["status"] == "True"
    assert [p.status["phase"] for p in sim.list("Pod")] == ["Succeeded"] * 3
    assert (j.status["succeeded"], j.status["failed"], j.status["active"]) == (3, 0, 0)
    assert most[0] == 2
    # two ran side by side for 30 s, then the third
    assert 60 <= j.status["completionTime"] - j.status["startTime"] < 70


def test_in_the_simulator_failing_pods_exceed_the_backoff_limit():
    sim = _sim_with_nodes()
    sim.apply([Job.new("work", "default", spec={"backoffLimit": 2, "template": _sim_template(5, exit_code=1)})])
    sim.run_until_stable()
    j = sim.get("Job", "work")
    failed = condition(j, "Failed")
    assert (failed["status"], failed["reason"]) == ("True", "BackoffLimitExceeded")
    assert j.status["failed"] == 3 and [p.status["phase"] for p in sim.list("Pod")] == ["Failed"] * 3
    # each replacement waited out the back-off after the failure before it: 10 s, then 20 s
    created = sorted(p.metadata.creationTimestamp for p in sim.list("Pod"))
    finished = sorted(p.status["containerStatuses"][0]["state"]["terminated"]["finishedAt"] for p in sim.list("Pod"))
    assert [c - f for c, f in zip(created[1:], finished)] == [10.0, 20.0]
    assert any(e.reason == "BackoffLimitExceeded" for e in sim.events())


def test_in_the_simulator_complete_pod_finishes_a_job_and_ttl_removes_it():
    sim = _sim_with_nodes(1)
    spec = {"ttlSecondsAfterFinished": 60, "template": {"spec": {"containers": [{"name": "c"}]}}}
    sim.apply([Job.new("once", "default", spec=spec)])
    sim.advance(5)
    (p,) = sim.list("Pod")
    assert p.status["phase"] == "Running"
    sim.complete_pod(p.name)
    assert condition(sim.get("Job", "once"), "Complete")["status"] == "True"
    sim.advance(61)
    assert sim.list("Job") == [] and sim.list("Pod") == []


def test_in_the_simulator_deleting_a_running_job_removes_its_tracked_pods():
    sim = _sim_with_nodes()
    sim.apply([Job.new("work", "default", spec={"parallelism": 2, "completions": 4, "template": _sim_template(300)})])
    sim.advance(10)
    assert len(sim.list("Pod")) == 2
    sim.store.delete("Job", "work")
    sim.run_until_stable()
    assert sim.list("Pod") == []
