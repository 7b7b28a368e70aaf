"""The engine: rules to a fixpoint, waking by kind and owner, back-off, requeue, oscillation."""

import pytest
from pyrsistent import pmap

from reconcile.engine.actions import Create, Result, Update
from reconcile.api.errors import Forbidden, Invalid
from reconcile.engine import Engine, Oscillation, Rule
from reconcile.api.model import Namespace, ReplicaSet
from reconcile.state.store import Store


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def make(*rules, max_firings=1000):
    clock = Clock()
    store = Store(clock=clock)
    return store, Engine(store, rules, clock=clock, max_firings=max_firings), clock


def label_rule(snapshot, key, now):
    """Give every namespace the label seen=yes."""
    ns = snapshot.get_key(key)
    if ns is None or ns.metadata.labels.get("seen") == "yes":
        return Result()
    return Result((Update(ns.set(metadata=ns.metadata.set(labels=ns.metadata.labels.set("seen", "yes")))),))


def test_a_rule_runs_for_a_changed_object_until_the_fixpoint():
    store, engine, _ = make(Rule("label", label_rule, primary="Namespace"))
    store.create(Namespace.new("a"))
    report = engine.run()
    assert store.get("Namespace", "a", None).metadata.labels["seen"] == "yes"
    assert report.firings == 1 and report.reconciles == 2        # the second run found nothing to do
    assert engine.run().reconciles == 0                           # nothing queued: the fixpoint


def test_a_converged_state_wakes_nothing_and_fires_nothing():
    store, engine, _ = make(Rule("label", label_rule, primary="Namespace"))
    store.create(Namespace.new("a", labels={"seen": "yes"}))
    assert engine.run().firings == 0


def test_keys_are_deduplicated():
    calls = []
    store, engine, _ = make(Rule("count", lambda s, k, n: calls.append(k) or Result(), primary="Namespace"))
    ns = store.create(Namespace.new("a"))
    for i in range(5):
        ns = store.update(ns.set(metadata=ns.metadata.set(labels=pmap({"i": str(i)}))))
    engine.run()
    assert calls == [("Namespace", None, "a")]


def test_owned_objects_wake_their_controller():
    woken = []
    store, engine, _ = make(Rule("rs", lambda s, k, n: woken.append(k) or Result(), primary="ReplicaSet",
                                 owns=("Pod",)))
    from reconcile.api.model import pod_from_template
    rs = store.create(ReplicaSet.new("rs", "default", spec={"selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}))
    engine.run()
    woken.clear()
    store.create(pod_from_template(rs.spec["template"], "p", "default", owner=rs))
    engine.run()
    assert woken == [("ReplicaSet", "default", "rs")]


def test_failed_actions_change_nothing_and_retry_with_exponential_backoff():
    attempts = []

    def create_twice(snapshot, key, now):
        attempts.append(now)
        if len(attempts) > 4:
            return Result()
        # creating an object that exists fails: the whole batch is undone
        return Result((Create(Namespace.new("x")), Create(Namespace.new("a"))))

    store, engine, clock = make(Rule("dup", create_twice, primary="Namespace"))
    store.create(Namespace.new("a"))
    engine.run()
    assert store.snapshot().get("Namespace", "x", None) is None
    for _ in range(3):
        clock.t = engine.next_due()
        engine.run()
    assert [round(b - a, 3) for a, b in zip(attempts, attempts[1:])] == [0.005, 0.01, 0.02]


def test_requeue_after_runs_again_later():
    seen = []
    store, engine, clock = make(Rule("tick", lambda s, k, n: seen.append(n) or Result(requeue_after=30),
                                     primary="Namespace"))
    store.create(Namespace.new("a"))
    engine.run()
    assert engine.next_due() == 30.0
    clock.t = 30.0
    engine.run()
    assert seen == [0.0, 30.0]


def test_rules_that_undo_each_other_are_named():
    def flip(value):
        def rule(snapshot, key, now):
            ns = snapshot.get_key(key)
            if ns.metadata.labels.get("owner") == value:
                return Result()
            return Result((Update(ns.set(metadata=ns.metadata.set(labels=pmap({"owner": value})))),))
        return rule
    store, engine, _ = make(Rule("ping", flip("ping"), primary="Namespace"),
                            Rule("pong", flip("pong"), primary="Namespace"), max_firings=50)
    store.create(Namespace.new("a"))
    with pytest.raises(Oscillation) as e:
        engine.run()
    assert "ping on Namespace a" in str(e.value) and "pong on Namespace a" in str(e.value)


def test_a_rule_that_raises_is_reported_with_its_name_and_key():
    events = []
    clock = Clock()
    store = Store(clock=clock)
    engine = Engine(store, [Rule("broken", lambda s, k, n: 1 / 0, primary="Namespace")], clock=clock,
                    on_event=lambda now, emit: events.append(emit))
    store.create(Namespace.new("a"))
    report = engine.run()                      # does not raise
    assert [str(e) for e in report.errors] == ["rule broken failed on Namespace a: ZeroDivisionError: division by zero"]
    assert report.failures == 1 and isinstance(report.errors[0].cause, ZeroDivisionError)
    [warning] = events
    assert (warning.type, warning.reason, warning.regarding) == ("Warning", "RuleFailed", ("Namespace", None, "a"))
    assert warning.message == ("rule broken failed on Namespace a: ZeroDivisionError: division by zero; "
                               "retry in 0.005s")


def poison(bad: str, calls: list):
    """A rule that labels namespaces, and raises on the one named ``bad``."""
    def rule(snapshot, key, now):
        calls.append(key[2])
        if key[2] == bad:
            raise KeyError("spec.missing")
        return label_rule(snapshot, key, now)
    return rule


def test_a_rule_that_raises_on_one_key_runs_the_rest_of_its_wave_and_the_other_rules():
    calls, other = [], []
    store, engine, _ = make(Rule("label", poison("b", calls), primary="Namespace"),
                            Rule("other", lambda s, k, n: other.append(k[2]) or Result(), primary="Namespace"))
    with store.batch():
        for name in "abcd":
            store.create(Namespace.new(name))
    report = engine.run()
    labelled = sorted(n.name for n in store.list("Namespace", None) if n.metadata.labels.get("seen") == "yes")
    assert labelled == ["a", "c", "d"]                      # the keys after the poison one ran too
    assert sorted(set(other)) == ["a", "b", "c", "d"]       # and so did the other rule
    assert report.failures == 1 and report.errors[0].key == ("Namespace", None, "b")
    store.create(Namespace.new("e"))                        # and later work still runs
    engine.run()
    assert store.get("Namespace", "e", None).metadata.labels["seen"] == "yes"


def test_a_failing_item_is_retried_with_per_item_exponential_backoff_until_it_succeeds():
    attempts = []

    def flaky(snapshot, key, now):
        attempts.append(now)
        if len(attempts) <= 4:
            raise ConnectionError("transient")
        return label_rule(snapshot, key, now)

    store, engine, clock = make(Rule("flaky", flaky, primary="Namespace"))
    store.create(Namespace.new("a"))
    engine.run()
    while engine.next_due() is not None:
        clock.t = engine.next_due()
        engine.run()
    assert [round(b - a, 3) for a, b in zip(attempts, attempts[1:])] == [0.005, 0.01, 0.02, 0.04, 0.0]
    assert store.get("Namespace", "a", None).metadata.labels["seen"] == "yes"
    assert engine._failures == {}                           # success forgets the failures


@pytest.mark.parametrize("error", [Invalid("spec.replicas: Invalid value: -1"), Forbidden("denied by policy"),
                                   "a write the store refuses"])
def test_a_terminal_error_is_not_retried_until_the_object_changes(error):
    attempts = []

    def refuse(snapshot, key, now):
        attempts.append(now)
        if isinstance(error, str):      # an invalid name: the store's validation says Invalid
            return Result((Create(Namespace.new("Not_A_DNS_Label")),))
        raise error

    store, engine, clock = make(Rule("refuse", refuse, primary="Namespace"))
    ns = store.create(Namespace.new("a"))
    report = engine.run()
    assert isinstance(report.errors[0].cause, (Invalid, Forbidden))
    assert report.errors[0].retry_in is None and engine.next_due() is None     # nothing queued
    clock.t = 2000.0
    engine.run()
    assert len(attempts) == 1
    store.update(ns.set(metadata=ns.metadata.set(labels=pmap({"fixed": "yes"}))))
    engine.run()                                            # the object changed: tried again
    assert len(attempts) == 2


def test_an_oscillation_leaves_the_rest_of_its_wave_queued():
    seen = []
    store, engine, _ = make(Rule("count", lambda s, k, n: seen.append(k[2]) or Result(), primary="Namespace"),
                            max_firings=0)
    engine.add(Rule("fire", lambda s, k, n: Result((Create(Namespace.new("x" + k[2])),)) if k[2] == "a"
                    else Result(), primary="Namespace", priority=1))
    with store.batch():
        for name in "abc":
            store.create(Namespace.new(name))
    with pytest.raises(Oscillation):
        engine.run()
    engine.max_firings = 1000
    engine.run()
    assert sorted(set(seen)) == ["a", "b", "c", "xa"]
@pytest.mark.parametrize("status_wakes, woken_by_status", [(True, True), (False, False)])
def test_a_status_only_change_wakes_the_rule_unless_it_says_not(status_wakes, woken_by_status):
    seen = []

    def record(snapshot, key, now):
        seen.append(key)
        return Result()

    store, engine, _ = make(Rule("watch", record, primary="Namespace", status_wakes=status_wakes))
    ns = store.create(Namespace.new("a"))
    engine.run()
    seen.clear()
    ns = store.update_status(ns.set(status=pmap({"phase": "Active"})))
    engine.run()
    assert (seen == [ns.key]) is woken_by_status
    store.update(ns.set(metadata=ns.metadata.set(labels=pmap({"x": "y"}))))   # not status only: always
    seen.clear()
    engine.run()
    assert seen == [ns.key]


def test_a_watch_that_raises_loses_no_other_rules_wakeup():
    def broken_watch(event, snapshot):
        raise AttributeError("'NoneType' object has no attribute 'get'")

    events, woken = [], []
    clock = Clock()
    store = Store(clock=clock)
    engine = Engine(store, [Rule("nosy", lambda s, k, n: Result(), watches={"Namespace": broken_watch}),
                            Rule("label", lambda s, k, n: woken.append(k) or Result(), primary="Namespace")],
                    clock=clock, on_event=lambda now, emit: events.append(emit))
    store.create(Namespace.new("a"))
    engine.run()
    assert woken == [("Namespace", None, "a")]
    assert [(e.reason, e.regarding) for e in events] == [("RuleFailed", ("Namespace", None, "a"))]
    assert events[0].message.startswith("rule nosy's watch failed on Namespace a: AttributeError")
