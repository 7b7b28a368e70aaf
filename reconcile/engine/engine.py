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
the store in one batch, and repeats until nothing is due: a fixpoint.
``requeue_after`` schedules timed work.

Failures stay with their item. A rule that raises, or whose batch fails (a
Conflict, say; the batch then changes nothing), fails only its own
``(rule, key)``: a Warning event names the rule, the object and the error,
the item is retried with per-item exponential back-off (client-go's default
rate limiter, 5 ms doubling to 1000 s), and every other item runs as if
nothing happened. A terminal error (:class:`~reconcile.api.errors.Invalid`,
:class:`~reconcile.api.errors.Forbidden`: trying again gives the same
answer) is recorded and not retried until something wakes the item again
(its object changes). So no exception of a rule leaves :meth:`Engine.run`.
A run that fires more than ``max_firings`` times stops with
:class:`Oscillation`, naming the rules and keys that kept firing; the items
it did not reach stay queued.
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
from reconcile.api.errors import Forbidden, Invalid, ReconcileError
from reconcile.state.store import Event, Store

__all__ = ["Rule", "Engine", "Oscillation", "RuleError", "RunReport", "owner_keys", "quiet_collector"]

# client-go's DefaultControllerRateLimiter, its per-item part (util/workqueue/default_rate_limiters.go:
# NewItemExponentialFailureRateLimiter(5*time.Millisecond, 1000*time.Second)): 5 ms doubling to 1000 s
BACKOFF_BASE = 0.005
BACKOFF_MAX = 1000.0
TERMINAL = (Invalid, Forbidden)     # trying again gives the same answer: not retried until the item is woken


class Oscillation(ReconcileError):
    """The rules did not reach a fixpoint within the firing limit: they undo each other."""

    def __init__(self, message: str, culprits: list):
        super().__init__(message)
        self.culprits = culprits


class RuleError(ReconcileError):
    """One failure of a rule on one key (it raised, or its batch failed), as the engine recorded it:
    ``rule``, ``key``, ``cause`` (the exception) and ``retry_in`` (seconds; None: not retried until
    the item is woken again). :attr:`RunReport.errors` lists them; the engine never raises them."""

    def __init__(self, message: str, rule: str = "", key=None, cause: BaseException | None = None,
                 retry_in: float | None = None):
        super().__init__(message)
        self.rule, self.key, self.cause, self.retry_in = rule, key, cause, retry_in


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
    failures: int = 0           # items that failed (a rule raised or its batch failed)
    by_rule: collections.Counter = field(default_factory=collections.Counter)
    errors: list = field(default_factory=list)      # a RuleError per failure


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
                try:
                    for key in mapper(event, snapshot):
                        enqueue(name, key)
                except Exception as e:      # this rule's watch only: the other rules still hear the event
                    self._on_event(self.clock(), Emit(
                        "Warning", "RuleFailed", f"rule {name}'s watch failed on {_show_key(event.object.key)}: "
                        f"{type(e).__name__}: {str(e)[:500]}", event.object.key))

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
            i = 0
            try:
                for i, (rule_name, key, due) in enumerate(wave):
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
            except BaseException:           # Oscillation, or Ctrl-C in a rule: nothing is lost
                rule_name, key, due = wave[i]
                if (rule_name, key) not in due_of:
                    self.enqueue(rule_name, key, due)
                self._restore(wave[i + 1:])     # the rest of the wave stays queued
                raise
        return report

    def _restore(self, items) -> None:
        """Put wave items not run yet back in the heap (their ``_due`` entries are still there)."""
        for rule_name, key, due in items:
            if self._due.get((rule_name, key)) == due:
                heapq.heappush(self._heap, (due, self.rules[rule_name].priority, next(self._seq), rule_name, key))

    def _run_one(self, rule: Rule, key, now: float, report: RunReport, fired) -> None:
        snapshot = self.store.snapshot()
        report.reconciles += 1
        item = (rule.name, key)
        emitted: list = []
        try:
            result = rule.reconcile(snapshot, key, now)
            if result is None:
                result = Result()
            if result.actions:
                report.firings += 1
                report.by_rule[rule.name] += 1
                fired[item] += 1
                with self.store.batch():
                    for action in result.actions:
                        apply_action(self.store, action, now, lambda t, a: emitted.append(a))
        except Exception as e:      # this item failed, and only this item: recorded, retried later
            self._failed(rule, key, now, e, report)
            return
        for action in emitted:        # events only for what really happened
            self._on_event(now, action)
        self._failures.pop(item, None)
        if result.requeue_after is not None:
            self.enqueue(rule.name, key, now + max(0.0, result.requeue_after))

    def _failed(self, rule: Rule, key, now: float, error: Exception, report: RunReport) -> None:
        """A Warning event naming the rule, the object and the error; the item retried after its
        back-off, or (a terminal error) left until something wakes it again."""
        item = (rule.name, key)
        report.failures += 1
        if isinstance(error, TERMINAL):
            self._failures.pop(item, None)
            delay, then = None, "not retried until it changes"
        else:
            n = self._failures[item] = self._failures[item] + 1
            delay = min(BACKOFF_BASE * 2 ** min(n - 1, 64), BACKOFF_MAX)
            then = f"retry in {delay:g}s"
            self.enqueue(rule.name, key, now + delay)
        message = f"rule {rule.name} failed on {_show_key(key)}: {type(error).__name__}: {str(error)[:500]}"
        report.errors.append(RuleError(message, rule.name, key, error, delay))
        self._on_event(now, Emit("Warning", "RuleFailed", f"{message}; {then}",
                                 key if isinstance(key, tuple) else ()))


def _show_key(key) -> str:
    if isinstance(key, tuple) and len(key) == 3:
        kind, ns, name = key
        return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"
    return repr(key)
