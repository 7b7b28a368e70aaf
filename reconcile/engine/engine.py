"""The engine, which is the rules engine: pure rules run to a fixpoint over the store.

A :class:`Rule` is a pure function ``reconcile(snapshot, key, now) ->
Result`` plus what wakes it: its primary kind (a change to an object of
that kind wakes the rule for that object), the kinds it owns (a change to
an owned object wakes the rule for its controller owner), and any other
watches (a function from an event to keys). Built-in controllers and user
rules are all rules of one engine.

The engine keeps a work queue of ``(rule, key)`` items, de-duplicated,
ordered by due time, then rule priority, then arrival. :meth:`Engine.run`
takes the current snapshot, runs each due item, applies its actions through
the store in one batch, and repeats until nothing is due: a fixpoint. A
failed batch (a Conflict, say) changes nothing and the item is retried with
per-key exponential back-off; ``requeue_after`` schedules timed work. A
run that fires more than ``max_firings`` times stops with
:class:`Oscillation`, naming the rules and keys that kept firing.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import heapq
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from reconcile.engine.actions import Emit, Result, apply_action
from reconcile.api.errors import ReconcileError
from reconcile.state.store import Event, Store

__all__ = ["Rule", "Engine", "Oscillation", "RuleError", "RunReport", "owner_keys", "quiet_collector"]

BACKOFF_BASE = 0.005     # client-go's default per-item rate limiter: 5 ms doubling...
BACKOFF_MAX = 1000.0     # ...up to 1000 s


class Oscillation(ReconcileError):
    """The rules did not reach a fixpoint within the firing limit: they undo each other."""

    def __init__(self, message: str, culprits: list):
        super().__init__(message)
        self.culprits = culprits


class RuleError(ReconcileError):
    """A rule raised instead of returning a Result (a bug in the rule)."""


@contextlib.contextmanager
def quiet_collector():
    """The cycle collector off for a stretch of engine work (and on again after, if it was).

    Cluster states are acyclic trees, freed by reference counting; a full
    collection over a large cluster only walks every object again.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def owner_keys(event: Event, snapshot, kind: str) -> list:
    """The keys of ``kind`` objects that control the event's object (controller ownerReference)."""
    meta = event.object.metadata
    return [(kind, meta.namespace, o.name) for o in meta.ownerReferences if o.controller and o.kind == kind]


@dataclass(frozen=True)
class Rule:
    """A rule of the engine. ``reconcile`` must be pure: no I/O, clock or randomness."""

    name: str
    reconcile: Callable
    primary: str | None = None
    owns: tuple = ()
    watches: Mapping[str, Callable[[Event, object], Iterable]] = field(default_factory=dict)
    priority: int = 100
    # False: a change to only the status of a primary object does not wake the rule (a
    # controller that writes that status itself has nothing to do on seeing it)
    status_wakes: bool = True


def status_only(event: Event) -> bool:
    """Whether the event changed only the object's status (as a status write does)."""
    old, new = event.old, event.object
    if old is None or event.type != "MODIFIED":
        return False
    m, o = new.metadata, old.metadata
    return (new.spec is old.spec and m.generation == o.generation and m.labels is o.labels
            and m.annotations is o.annotations and m.ownerReferences is o.ownerReferences
            and m.finalizers is o.finalizers and m.deletionTimestamp == o.deletionTimestamp)


@dataclass
class RunReport:
    firings: int = 0            # reconciles that returned actions
    reconciles: int = 0
    failures: int = 0
    by_rule: collections.Counter = field(default_factory=collections.Counter)


class Engine:
    """Runs rules to a fixpoint over a store. ``clock`` is the runtime's (real or virtual)."""

    def __init__(self, store: Store, rules: Iterable[Rule] = (), clock: Callable[[], float] | None = None,
                 max_firings: int = 1_000_000, on_event: Callable | None = None):
        self.store = store
        self.clock = clock or store.clock
        self.rules: dict[str, Rule] = {}
        self.max_firings = max_firings
        self._heap: list = []
        self._due: dict = {}             # (rule, key) -> due time of its queued entry
        self._seq = itertools.count()
        self._by_kind: dict = {}
        self._failures: collections.Counter = collections.Counter()
        self._on_event = on_event or (lambda now, emit: None)
        for r in rules:
            self.add(r)
        store.add_listener(self._wake)

    # -- rules and the queue
    def add(self, rule: Rule) -> None:
        if rule.name in self.rules:
            raise ValueError(f"a rule named {rule.name!r} is already registered")
        self.rules[rule.name] = rule
        self._by_kind.clear()
        if rule.primary:
            for obj in self.store.snapshot().list(rule.primary):
                self.enqueue(rule.name, obj.key)

    def enqueue(self, rule: str, key, at: float | None = None) -> None:
        """Queue ``(rule, key)`` to run at time ``at`` (now if None); an earlier entry wins."""
        due = self.clock() if at is None else at
        item = (rule, key)
        known = self._due.get(item)
        if known is not None and known <= due:
            return
        self._due[item] = due
        heapq.heappush(self._heap, (due, self.rules[rule].priority, next(self._seq), rule, key))

    def _interested(self, kind: str) -> list:
        """What an event on ``kind`` wakes: ``(rule name, primary?, owner kind or None,
        watch function or None)`` per rule that can react, in registration order."""
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = [
                (r.name, kind == r.primary and (True if r.status_wakes else status_only),
                 r.primary if kind in r.owns else None,
                 r.watches.get(kind) or r.watches.get("*"))
                for r in self.rules.values()
                if kind == r.primary or kind in r.owns or kind in r.watches or "*" in r.watches]
        return found

    def _wake(self, event: Event) -> None:
        # this runs for every rule an event can wake, for every event: keep it lean
        snapshot = self.store.snapshot()
        enqueue = self.enqueue
        for name, primary, owner_kind, mapper in self._interested(event.object.kind):
            if primary is True or primary and not primary(event):
                enqueue(name, event.object.key)
            if owner_kind is not None:
                for key in owner_keys(event, snapshot, owner_kind):
                    enqueue(name, key)
            if mapper is not None:
                for key in mapper(event, snapshot):
                    enqueue(name, key)

    def next_due(self) -> float | None:
        """When the earliest queued item is due (the simulator advances its clock to it)."""
        while self._heap:
            due, _, _, rule, key = self._heap[0]
            if self._due.get((rule, key)) == due:
                return due
            heapq.heappop(self._heap)          # a stale entry superseded by an earlier one
        return None

    def pending(self) -> int:
        return len(self._due)

    # -- running
    def run(self) -> RunReport:
        """Run every due item until nothing is due: a fixpoint at the current time.

        Work goes in waves, as informers and work queues batch it: the items
        due now run in order (due time, rule priority, arrival); what they
        wake waits for the next wave, unless it is already queued in this
        one. So a ReplicaSet whose hundred pods all changed runs once per
        wave, not once per pod.

        The cycle collector is off while it runs: cluster states are acyclic
        trees, freed by reference counting; with it on, its full collections
        walk every object of a large cluster again and again (a 30,000-pod
        fill took 1.7x as long).
        """
        with quiet_collector():
            return self._run()

    def _run(self) -> RunReport:
        report = RunReport()
        now = self.clock()
        fired: collections.Counter = collections.Counter()
        heap, due_of = self._heap, self._due
        while heap:
            wave = []
            while heap and heap[0][0] <= now:
                due, _, _, rule_name, key = heapq.heappop(heap)
                if due_of.get((rule_name, key)) == due:
                    wave.append((rule_name, key, due))
            if not wave:
                break
            for rule_name, key, due in wave:
                item = (rule_name, key)
                if due_of.get(item) != due:
                    continue            # superseded meanwhile
                del due_of[item]
                self._run_one(self.rules[rule_name], key, now, report, fired)
                if report.firings > self.max_firings:
                    top = fired.most_common(5)
                    raise Oscillation(
                        f"no fixpoint after {report.firings} firings; these keep firing: "
                        + ", ".join(f"{r} on {_show_key(k)} ({n}x)" for (r, k), n in top), top)
        return report

    def _run_one(self, rule: Rule, key, now: float, report: RunReport, fired) -> None:
        snapshot = self.store.snapshot()
        report.reconciles += 1
        try:
            result = rule.reconcile(snapshot, key, now)
        except Exception as e:  # a bug in the rule: say which rule and key
            raise RuleError(f"rule {rule.name} failed on {_show_key(key)}: "
                            f"{type(e).__name__}: {e}") from e
        if result is None:
            result = Result()
        if result.actions:
            report.firings += 1
            report.by_rule[rule.name] += 1
            fired[(rule.name, key)] += 1
            emitted: list = []
            try:
                with self.store.batch():
                    for action in result.actions:
                        apply_action(self.store, action, now, lambda t, a: emitted.append(a))
            except ReconcileError as e:
                report.failures += 1
                n = self._failures[(rule.name, key)] = self._failures[(rule.name, key)] + 1
                delay = min(BACKOFF_BASE * 2 ** (n - 1), BACKOFF_MAX)
                self._on_event(now, Emit("Warning", "RetryAfterError", f"{rule.name}: {e}; retry in "
                                         f"{delay:g}s", key if isinstance(key, tuple) else ()))
                self.enqueue(rule.name, key, now + delay)
                return
            for action in emitted:        # events only for what really happened
                self._on_event(now, action)
        self._failures.pop((rule.name, key), None)
        if result.requeue_after is not None:
            self.enqueue(rule.name, key, now + max(0.0, result.requeue_after))


def _show_key(key) -> str:
    if isinstance(key, tuple) and len(key) == 3:
        kind, ns, name = key
        return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
    return repr(key)
