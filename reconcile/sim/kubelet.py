"""Simulated kubelets, as pure rules: pods start, get ready, crash and restart on a virtual clock.

The simulator steers them through annotations, so that everything stays
state in the store and the rules stay pure:

- ``sim.reconcile.dev/failed`` on a Node: its kubelet is dead (no
  heartbeat, no pod updates), as when a machine fails.
- ``sim.reconcile.dev/crashes`` on a Pod: how many times its first
  container has been made to crash; each new crash is handled once.
- ``sim.reconcile.dev/ready`` on a Pod: ``"false"`` makes its readiness
  probe fail.

Restart policy and crash-loop back-off follow the kubelet: ``Always``
restarts any exit, ``OnFailure`` a failed one, ``Never`` none (the pod
fails); restarts wait 10 s, doubling up to 5 min, reset after 10 min of
running, and the container waits in ``CrashLoopBackOff`` meanwhile.
"""

from __future__ import annotations

import hashlib
import math

from pyrsistent import pmap, pvector

from reconcile.actions import Create, Emit, Result, Update, UpdateStatus
from reconcile.controllers._common import set_condition
from reconcile.controllers.nodelifecycle import LEASE_NAMESPACE
from reconcile.engine import Rule
from reconcile.model import Lease
from reconcile.pods import next_backoff

__all__ = ["kubelet_rules", "FAILED", "CRASHES", "READY", "HEARTBEAT"]

FAILED = "sim.reconcile.dev/failed"
CRASHES = "sim.reconcile.dev/crashes"
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


def _container_statuses(pod, now: float, running: bool, ready: bool, restarts: int, waiting: str | None,
                        last_exit: int | None):
    out = []
    for c in pod.spec.get("containers") or ():
        state = {"running": {"startedAt": now}} if running else {"waiting": {"reason": waiting or "ContainerCreating"}}
        entry = {"name": c.get("name"), "ready": ready and running, "restartCount": restarts,
                 "started": running, "state": state, "image": c.get("image", "")}
        if last_exit is not None:
            entry["lastState"] = {"terminated": {"exitCode": last_exit, "reason": "Error", "finishedAt": now}}
        out.append(pmap(entry))
    return pvector(out)


def kubelet_rules(seed: int = 0, start_delay: float = 1.0) -> tuple[Rule, ...]:
    """The simulated kubelet rules: pod lifecycle and node heartbeats."""

    def reconcile_pod(snapshot, key, now: float) -> Result:
        _, ns, name = key
        pod = snapshot.get("Pod", name, ns)
        if pod is None or pod.metadata.deletionTimestamp is not None:
            return Result()
        node_name = pod.spec.get("nodeName")
        node = snapshot.get("Node", node_name, None) if node_name else None
        if node is None or node.metadata.annotations.get(FAILED) == "true":
            return Result()
        st = pod.status
        phase = st.get("phase")
        if phase in ("Succeeded", "Failed"):
            return Result()
        want_ready = pod.metadata.annotations.get(READY, "true") != "false"
        if phase is None:
            delay = start_delay * (0.5 + _jitter(seed, pod.metadata.uid))
            delay = math.ceil((now + delay) / RELIST) * RELIST - now   # seen at the next relist
            status = st.update({"phase": "Pending", "hostIP": node.status.get("hostIP", ""),
                                "startTime": now, "qosClass": "BestEffort",
                                "conditions": set_condition(None, "PodScheduled", "True", now),
                                "containerStatuses": _container_statuses(pod, now, False, False, 0, None, None),
                                "sim": pmap({"startAt": now + delay, "crashesSeen": 0, "backoff": 0.0})})
            return Result((UpdateStatus(pod.set(status=status)),), requeue_after=delay)
        sim = st.get("sim") or pmap()
        restarts = (st.get("containerStatuses") or [pmap()])[0].get("restartCount", 0)
        if phase == "Pending" or sim.get("restartAt") is not None:
            due = sim.get("restartAt") if sim.get("restartAt") is not None else sim.get("startAt", now)
            if now < due:
                return Result(requeue_after=due - now)
            node_index = int(node.metadata.annotations.get("sim.reconcile.dev/index", "0"))
            conds = set_condition(st.get("conditions"), "Initialized", "True", now)
            conds = set_condition(conds, "ContainersReady", "True" if want_ready else "False", now)
            conds = set_condition(conds, "Ready", "True" if want_ready else "False", now)
            status = st.update({"phase": "Running", "podIP": st.get("podIP") or _pod_ip(node_index, pod.metadata.uid),
                                "conditions": conds,
                                "containerStatuses": _container_statuses(pod, now, True, want_ready, restarts,
                                                                          None, sim.get("lastExit")),
                                "sim": sim.discard("restartAt").set("runningSince", now)})
            return Result((UpdateStatus(pod.set(status=status)),))
        # Running: readiness changes and crashes
        crashes = int(pod.metadata.annotations.get(CRASHES, "0"))
        if crashes > sim.get("crashesSeen", 0):
            return _crash(pod, sim, crashes, restarts, now)
        ready_now = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or ())
        if ready_now != want_ready:
            value = "True" if want_ready else "False"
            conds = set_condition(set_condition(st.get("conditions"), "ContainersReady", value, now), "Ready", value, now)
            cs = pvector(c.set("ready", want_ready) for c in st.get("containerStatuses") or ())
            return Result((UpdateStatus(pod.set(status=st.update({"conditions": conds, "containerStatuses": cs}))),))
        return Result()

    def _crash(pod, sim, crashes, restarts, now):
        st = pod.status
        policy = pod.spec.get("restartPolicy", "Always")
        sim = sim.set("crashesSeen", crashes).set("lastExit", 1)
        conds = set_condition(set_condition(st.get("conditions"), "ContainersReady", "False", now), "Ready", "False", now)
        if policy == "Never":
            status = st.update({"phase": "Failed", "conditions": conds, "sim": sim,
                                "containerStatuses": _container_statuses(pod, now, False, False, restarts,
                                                                          "Error", 1)})
            return Result((UpdateStatus(pod.set(status=status)),
                           Emit("Warning", "Failed", "Container exited with code 1; restartPolicy is Never",
                                pod.key)))
        backoff = float(next_backoff(sim.get("backoff") or None, sim.get("runningSince", now), now))
        sim = sim.set("backoff", backoff).set("restartAt", now + backoff)
        status = st.update({"conditions": conds, "sim": sim,
                            "containerStatuses": _container_statuses(pod, now, False, False, restarts + 1,
                                                                      "CrashLoopBackOff", 1)})
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

    def node_to_pods(event, snapshot):
        return [p.key for p in snapshot.pods_on_node(event.object.name)]

    return (
        Rule("sim-kubelet", reconcile_pod, primary="Pod", watches={"Node": node_to_pods}, priority=5),
        Rule("sim-heartbeat", heartbeat, primary="Node", priority=5),
    )
