"""Simulated kubelets, as pure rules: pods start, get ready, crash and restart on a virtual clock.

The simulator steers them through annotations, so that everything stays
state in the store and the rules stay pure:

- ``sim.reconcile.dev/failed`` on a Node: its kubelet is dead (no
  heartbeat, no pod updates), as when a machine fails.
- ``sim.reconcile.dev/crashes`` on a Pod: how many times its first
  container has been made to crash (exit code 1); each new crash is
  handled once.
- ``sim.reconcile.dev/exits`` on a Pod: the exit codes its containers
  have been made to exit with, comma-separated, oldest first
  (``SimCluster.complete_pod`` adds one); each new one is handled once.
- ``sim.reconcile.dev/run-seconds`` on a Pod (or a pod template): its
  containers exit by themselves after running that long (counted from
  each start), with the code in ``sim.reconcile.dev/exit-code`` (default
  0). This is how a Job's pods finish.
- ``sim.reconcile.dev/ready`` on a Pod: ``"false"`` makes its readiness
  probe fail.

Restart policy and crash-loop back-off follow the kubelet: ``Always``
restarts any exit, ``OnFailure`` a failed one (an exit with code 0 makes
the pod ``Succeeded``), ``Never`` none (the pod is ``Succeeded`` after
code 0, else ``Failed``); restarts wait 10 s, doubling up to 5 min, reset
after 10 min of running, and the container waits in ``CrashLoopBackOff``
meanwhile. A finished pod's containers are ``terminated`` with their exit
code and ``finishedAt``.
"""

from __future__ import annotations

import hashlib
import math

from pyrsistent import pvector

from reconcile.api.memo import IdentityMemo
from reconcile.engine.actions import Create, Emit, Result, Update, UpdateStatus
from reconcile.api.conditions import set_condition
from reconcile.controllers.nodelifecycle import LEASE_NAMESPACE
from reconcile.engine import Rule
from reconcile.api.model import EMPTY_MAP, Lease, freeze
from reconcile.controllers.workloads import next_backoff

__all__ = ["kubelet_rules", "FAILED", "EXITS", "RUN_SECONDS", "EXIT_CODE", "READY", "HEARTBEAT"]

FAILED = "sim.reconcile.dev/failed"
EXITS = "sim.reconcile.dev/exits"
RUN_SECONDS = "sim.reconcile.dev/run-seconds"
EXIT_CODE = "sim.reconcile.dev/exit-code"
READY = "sim.reconcile.dev/ready"
HEARTBEAT = 10.0              # seconds between lease renewals, as the kubelet does
RELIST = 1.0                  # the kubelet's PLEG relists containers every second: starts are seen on a tick


def _jitter(seed: int, uid: str) -> float:
    """A deterministic number in [0, 1) for a pod (same seed, same number)."""
    h = hashlib.blake2b(f"{seed}/{uid}".encode(), digest_size=4).digest()
    return int.from_bytes(h, "big") / 2 ** 32


def _pod_ip(node_index: int, pod_uid: str) -> str:
    h = int.from_bytes(hashlib.blake2b(pod_uid.encode(), digest_size=2).digest(), "big")
    return f"10.{(node_index >> 8) & 255}.{node_index & 255}.{h % 254 + 1}"


def _terminated(code: int, now: float) -> dict:
    return {"exitCode": code, "reason": "Completed" if code == 0 else "Error", "finishedAt": now}


def _container_statuses(pod, now: float, running: bool, ready: bool, restarts: int, waiting: str | None,
                        last_exit: int | None, exited: int | None = None):
    """The containers' statuses: running, or waiting (``waiting`` says why), or (``exited``, an exit
    code) terminated for good; ``last_exit`` is the code of the run before a restart."""
    out = []
    for c in pod.spec.get("containers") or ():
        if exited is not None:
            state = {"terminated": _terminated(exited, now)}
        elif running:
            state = {"running": {"startedAt": now}}
        else:
            state = {"waiting": {"reason": waiting or "ContainerCreating"}}
        entry = {"name": c.get("name"), "ready": ready and running, "restartCount": restarts,
                 "started": running, "state": state, "image": c.get("image", "")}
        if last_exit is not None and exited is None:
            entry["lastState"] = {"terminated": _terminated(last_exit, now)}
        out.append(freeze(entry))
    return pvector(out)


def _exit_codes(pod) -> list[int]:
    """The codes of ``sim.reconcile.dev/exits``, oldest first (what is not an int is left out)."""
    text = pod.metadata.annotations.get(EXITS) or ""
    return [int(v) for v in text.split(",") if v.strip().lstrip("-").isdigit()]


def _run_seconds(pod) -> tuple[float, int] | None:
    """(how long the containers run before they exit by themselves, with which code), or None."""
    a = pod.metadata.annotations
    try:
        return float(a[RUN_SECONDS]), int(a.get(EXIT_CODE, "0"))
    except (KeyError, ValueError):
        return None


def qos_class(spec) -> str:
    """Kubernetes' pod QoS class: Guaranteed (every container's cpu and memory limits set and
    equal to its requests), BestEffort (no requests or limits at all), else Burstable."""
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    any_set, guaranteed = False, bool(containers)
    for c in containers:
        res = c.get("resources") or EMPTY_MAP
        req, lim = res.get("requests") or EMPTY_MAP, res.get("limits") or EMPTY_MAP
        any_set = any_set or any(req.get(r) or lim.get(r) for r in ("cpu", "memory"))
        for r in ("cpu", "memory"):
            if not lim.get(r) or (req.get(r) and req.get(r) != lim.get(r)):
                guaranteed = False
    return "Guaranteed" if guaranteed and any_set else "Burstable" if any_set else "BestEffort"


class _Shared:
    """Status parts that many pods have alike (their conditions at one instant, the container
    statuses of one template at one instant), made once: a memo of pure functions."""

    def __init__(self, size: int = 4096):
        self.size, self.memo = size, {}

    def get(self, key, make):
        hit = self.memo.get(key)
        if hit is None:
            if len(self.memo) >= self.size:
                self.memo.clear()
            hit = self.memo[key] = make()
        return hit


def _since(st, type_: str):
    for c in st.get("conditions") or ():
        if c.get("type") == type_ and c.get("status") == "True":
            return c.get("lastTransitionTime")
    return None


def _running_since(st, now: float) -> float:
    sim = st.get("sim") or EMPTY_MAP
    if sim.get("runningSince") is not None:
        return sim["runningSince"]
    for c in st.get("containerStatuses") or ():
        started = ((c.get("state") or EMPTY_MAP).get("running") or EMPTY_MAP).get("startedAt")
        if started is not None:
            return started
    return now


def kubelet_rules(seed: int = 0, start_delay: float = 1.0) -> tuple[Rule, ...]:
    """The simulated kubelet rules: pod lifecycle and node heartbeats."""
    shared = _Shared()
    qos_memo = IdentityMemo()

    def qos_of(spec) -> str:
        # a template's pods share their containers: classed once
        return qos_memo.get(lambda: qos_class(spec), spec.get("containers"), spec.get("initContainers"))

    def started_status(pod, st, node, scheduled: float, now: float, ready: bool, restarts: int, last_exit):
        """The pod's status once its containers run (one write from Pending to Running)."""
        value = "True" if ready else "False"
        scheduled_cond = next((c for c in st.get("conditions") or () if c.get("type") == "PodScheduled"), None)
        conds = shared.get(("conds", scheduled_cond, now, value), lambda: pvector(
            ([scheduled_cond] if scheduled_cond is not None else [])
            + [freeze({"type": t, "status": v, "lastTransitionTime": now})
               for t, v in (("Initialized", "True"), ("ContainersReady", value), ("Ready", value))]))
        containers = pod.spec.get("containers")
        cs = shared.get(("cs", id(containers), now, ready, restarts, last_exit), lambda: (containers, _container_statuses(
            pod, now, True, ready, restarts, None, last_exit)))
        if cs[0] is not containers:    # an id reused by another spec: make them afresh
            cs = (containers, _container_statuses(pod, now, True, ready, restarts, None, last_exit))
        node_index = int(node.metadata.annotations.get("sim.reconcile.dev/index", "0"))
        update = {"phase": "Running", "hostIP": node.status.get("hostIP", ""),
                  "podIP": st.get("podIP") or _pod_ip(node_index, pod.metadata.uid),
                  "startTime": st.get("startTime", scheduled),
                  "qosClass": st.get("qosClass") or qos_of(pod.spec),
                  "conditions": conds, "containerStatuses": cs[1]}
        return st.update(update)

    def reconcile_node(snapshot, key, now: float) -> Result:
        """One kubelet's sync: every pod bound to its node, in one pass (one batch of reports)."""
        node = snapshot.get("Node", key[2], None)
        if node is None or node.metadata.annotations.get(FAILED) == "true":
            return Result()
        actions: list = []
        requeue = None
        for pod in snapshot.pods_on_node(node.name):
            if pod.metadata.deletionTimestamp is not None:
                continue
            result = sync_pod(pod, node, now)
            actions.extend(result.actions)
            if result.requeue_after is not None and (requeue is None or result.requeue_after < requeue):
                requeue = result.requeue_after
        return Result(tuple(actions), requeue)

    def sync_pod(pod, node, now: float) -> Result:
        st = pod.status
        phase = st.get("phase")
        if phase in ("Succeeded", "Failed"):
            return Result()
        want_ready = pod.metadata.annotations.get(READY, "true") != "false"
        sim = st.get("sim") or EMPTY_MAP
        if phase in (None, "Pending") and sim.get("restartAt") is None:
            # admitted when bound; the containers are seen running at the relist after the start delay
            scheduled = _since(st, "PodScheduled")
            if scheduled is None:
                scheduled = pod.metadata.creationTimestamp if pod.metadata.creationTimestamp is not None else now
            delay = start_delay * (0.5 + _jitter(seed, pod.metadata.uid))
            start = math.ceil((scheduled + delay) / RELIST) * RELIST
            if now < start:
                return Result(requeue_after=start - now)
            status = started_status(pod, st, node, scheduled, now, want_ready, 0, None)
            return Result((UpdateStatus(pod.set(status=status)),), requeue_after=_first_run(pod))
        restarts = (st.get("containerStatuses") or [EMPTY_MAP])[0].get("restartCount", 0)
        if sim.get("restartAt") is not None:
            due = sim["restartAt"]
            if now < due:
                return Result(requeue_after=due - now)
            status = started_status(pod, st, node, st.get("startTime", now), now, want_ready, restarts,
                                    sim.get("lastExit"))
            status = status.set("sim", sim.discard("restartAt").set("runningSince", now))
            return Result((UpdateStatus(pod.set(status=status)),), requeue_after=_first_run(pod))
        # Running: exits, readiness changes
        exits = _exit_codes(pod)
        if len(exits) > sim.get("exitsSeen", 0):
            return _exit(pod, sim.set("exitsSeen", len(exits)), exits[-1], restarts, now)
        wait = None
        run = _run_seconds(pod)
        if run is not None:
            wait = _running_since(st, now) + run[0] - now
            if wait <= 0:
                return _exit(pod, sim, run[1], restarts, now)
        ready_now = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or ())
        if ready_now != want_ready:
            value = "True" if want_ready else "False"
            conds = set_condition(set_condition(st.get("conditions"), "ContainersReady", value, now), "Ready", value, now)
            cs = pvector(c.set("ready", want_ready) for c in st.get("containerStatuses") or ())
            return Result((UpdateStatus(pod.set(status=st.update({"conditions": conds, "containerStatuses": cs}))),),
                          requeue_after=wait)
        return Result(requeue_after=wait)

    def _first_run(pod) -> float | None:
        run = _run_seconds(pod)
        return None if run is None else run[0]

    def _exit(pod, sim, code: int, restarts: int, now: float) -> Result:
        """The containers exit with ``code``: the restart policy says whether they start again
        (after the back-off) or the pod is finished."""
        st = pod.status
        policy = pod.spec.get("restartPolicy", "Always")
        sim = sim.set("lastExit", code)
        if policy == "Never" or (policy == "OnFailure" and code == 0):
            conds = set_condition(set_condition(st.get("conditions"), "ContainersReady", "False", now, "PodCompleted"),
                                  "Ready", "False", now, "PodCompleted")
            status = st.update({"phase": "Succeeded" if code == 0 else "Failed", "conditions": conds, "sim": sim,
                                "containerStatuses": _container_statuses(pod, now, False, False, restarts, None,
                                                                          None, exited=code)})
            if code == 0:
                return Result((UpdateStatus(pod.set(status=status)),))
            return Result((UpdateStatus(pod.set(status=status)),
                           Emit("Warning", "Failed", f"Container exited with code {code}; restartPolicy is {policy}",
                                pod.key)))
        conds = set_condition(set_condition(st.get("conditions"), "ContainersReady", "False", now), "Ready", "False", now)
        backoff = float(next_backoff(sim.get("backoff") or None, _running_since(st, now), now))
        sim = sim.set("backoff", backoff).set("restartAt", now + backoff)
        status = st.update({"conditions": conds, "sim": sim,
                            "containerStatuses": _container_statuses(pod, now, False, False, restarts + 1,
                                                                      "CrashLoopBackOff", code)})
        return Result((UpdateStatus(pod.set(status=status)),
                       Emit("Warning", "BackOff", f"Back-off {backoff:g}s restarting failed container", pod.key)),
                      requeue_after=backoff)

    def heartbeat(snapshot, key, now: float) -> Result:
        _, _, name = key
        node = snapshot.get("Node", name, None)
        if node is None or node.metadata.annotations.get(FAILED) == "true":
            return Result()
        lease = snapshot.get("Lease", name, LEASE_NAMESPACE)
        actions: list = []
        if lease is None:
            actions.append(Create(Lease.new(name, LEASE_NAMESPACE, spec={
                "holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now})))
        elif lease.spec.get("renewTime", -1) + HEARTBEAT <= now:
            actions.append(Update(lease.set(spec=lease.spec.set("renewTime", now))))
        else:
            return Result(requeue_after=lease.spec["renewTime"] + HEARTBEAT - now)
        ready = next((c for c in node.status.get("conditions") or () if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            conds = set_condition(node.status.get("conditions"), "Ready", "True", now, "KubeletReady",
                                  "kubelet is posting ready status")
            actions.append(UpdateStatus(node.set(status=node.status.set("conditions", conds))))
        return Result(tuple(actions), requeue_after=HEARTBEAT)

    def pod_events(event, snapshot):
        """What the kubelet must look at: its pod bound, changed by someone else (a crash or
        readiness steered by the simulator, a deletion); not its own status reports."""
        pod, old = event.object, event.old
        node = pod.spec.get("nodeName")
        if event.type == "DELETED" or not node:
            return []
        if old is None or old.spec.get("nodeName") != node \
                or old.metadata.annotations != pod.metadata.annotations \
                or old.metadata.deletionTimestamp != pod.metadata.deletionTimestamp:
            return [("Node", None, node)]
        return []

    def node_changed(event, snapshot):
        return [event.object.key] if event.type != "DELETED" else []

    return (
        Rule("sim-kubelet", reconcile_node, watches={"Pod": pod_events, "Node": node_changed}, priority=5),
        Rule("sim-heartbeat", heartbeat, primary="Node", priority=5),
    )
