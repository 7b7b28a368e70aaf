"""The scheduler rule's queue: each pending pod is tried when it may fit (kube-scheduler's
activeQ, unschedulablePods and back-off), and one pod the scheduler raises on stops no other."""

from __future__ import annotations

import pytest

from reconcile.api.model import Deployment, Node, Pod
from reconcile.controllers import default_rules
from reconcile.engine import Engine
from reconcile.scheduler import DEFAULT_FILTERS, Scheduler, scheduling_rule
from reconcile.state.store import Store


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def cluster(filters, *, controllers=False):
    """A store and an engine with one scheduler whose filters are ``filters`` then the default ones."""
    clock, events = Clock(), []
    store = Store(clock=clock)
    schedulers = {"default-scheduler": Scheduler(filters=(*filters, *DEFAULT_FILTERS))}
    rules = default_rules(schedulers=schedulers) if controllers else (scheduling_rule(schedulers),)
    engine = Engine(store, rules, clock=clock, on_event=lambda now, emit: events.append(emit))
    return store, engine, clock, events


def node(name, pods="10"):
    return Node.new(name, status={"allocatable": {"cpu": "8", "memory": "16Gi", "pods": pods}})


def pod(name, priority=0):
    return Pod.new(name, "default", spec={"priority": priority, "containers": [
        {"name": "c", "resources": {"requests": {"cpu": "100m"}}}]})


def bound(store) -> dict:
    return {p.name: p.spec.get("nodeName") for p in store.list("Pod", None)}


def run_until_idle(engine, clock, until=60.0):
    engine.run()
    while (due := engine.next_due()) is not None and due <= until:
        clock.t = due
        engine.run()


def test_the_scheduler_keeps_binding_other_pods_when_one_pod_makes_it_raise():
    def broken_plugin(pod, requests, node):
        if pod.name == "poison":
            raise ValueError("cannot read spec.tolerations")

    store, engine, clock, events = cluster([broken_plugin])
    store.create(node("n1"))
    with store.batch():
        store.create(pod("poison", priority=10))       # first in the queue
        for i in range(3):
            store.create(pod(f"p{i}"))
    report = engine.run()
    assert report.failures == 0                         # the rule did not fail: one pod did
    assert bound(store) == {"poison": None, "p0": "n1", "p1": "n1", "p2": "n1"}
    condition = store.get("Pod", "poison", "default").status["conditions"][0]
    assert (condition["status"], condition["reason"]) == ("False", "SchedulerError")
    assert condition["message"] == "ValueError: cannot read spec.tolerations"
    warnings = [(e.reason, e.message, e.regarding) for e in events if e.type == "Warning"]
    assert warnings == [("FailedScheduling", "ValueError: cannot read spec.tolerations",
                         ("Pod", "default", "poison"))]
    store.create(pod("later"))                          # and it goes on scheduling what comes next
    engine.run()
    assert bound(store)["later"] == "n1"


def test_a_pod_the_scheduler_raised_on_is_retried_with_back_off_and_bound_once_the_fault_is_gone():
    tried = []

    def flaky_plugin(pod, requests, node):
        if pod.name == "flaky":
            if not tried or tried[-1] != clock.t:
                tried.append(clock.t)
            if len(tried) <= 4:
                raise ConnectionError("plugin backend unreachable")

    store, engine, clock, events = cluster([flaky_plugin])
    store.create(node("n1"))
    store.create(pod("flaky"))
    run_until_idle(engine, clock)
    # kube-scheduler's pod back-off: 1 s doubling, at most 10 s
    assert tried == [0.0, 1.0, 3.0, 7.0, 15.0]
    assert bound(store) == {"flaky": "n1"}
    assert [e.reason for e in events] == ["FailedScheduling", "Scheduled"]   # the condition changed once
    assert engine.next_due() is None                                           # nothing left waiting


def test_an_unschedulable_pod_waits_for_the_cluster_to_change_then_is_bound():
    store, engine, clock, _ = cluster([])
    store.create(node("n1", pods="1"))
    with store.batch():
        store.create(pod("a", priority=1))
        store.create(pod("b"))
    engine.run()
    assert bound(store) == {"a": "n1", "b": None}
    store.create(node("n2", pods="1"))                  # a Node added: the unschedulable pods are tried again
    engine.run()
    assert bound(store) == {"a": "n1", "b": "n2"}


def test_a_freed_node_takes_a_waiting_pod():
    store, engine, clock, _ = cluster([])
    store.create(node("n1", pods="1"))
    with store.batch():
        store.create(pod("a", priority=1))
        store.create(pod("b"))
    engine.run()
    store.delete("Pod", "a", "default")                 # its room is freed
    engine.run()
    assert bound(store) == {"b": "n1"}


def test_a_pending_pod_changed_in_its_spec_is_tried_again():
    store, engine, clock, _ = cluster([])
    store.create(node("n1", pods="10"))
    waiting = store.create(Pod.new("p", "default", spec={"nodeSelector": {"disk": "ssd"}, "containers": [
        {"name": "c"}]}))
    engine.run()
    assert bound(store) == {"p": None}
    waiting = store.get("Pod", "p", "default")
    store.update(waiting.set(spec=waiting.spec.discard("nodeSelector")))
    engine.run()
    assert bound(store) == {"p": "n1"}


@pytest.mark.parametrize("replicas", [1000, 4000])
def test_each_pending_pod_is_tried_once_not_once_per_burst_of_new_pods(replicas):
    """The algorithmic shape: a ReplicaSet makes its pods 500 at a time, and each burst wakes the
    scheduler; the pods that do not fit wait, and are not tried again until the cluster changes.
    The counting filter has no ``reads``, so no verdict is remembered: it runs once per (try, node)."""
    calls = []

    def counting(pod, requests, node):
        calls.append(1)

    store, engine, clock, _ = cluster([counting], controllers=True)
    nodes = 2
    with store.batch():
        for i in range(nodes):
            store.create(node(f"n{i}", pods="5"))
        store.create(Deployment.new("web", "default", spec={
            "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}}))
    engine.run()
    placed = bound(store)
    assert len(placed) == replicas and sum(1 for n in placed.values() if n) == 10
    assert len(calls) == replicas * nodes                # every pod tried once, on every node
