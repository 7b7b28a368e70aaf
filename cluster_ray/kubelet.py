"""The Ray side of a node: a kubelet actor per node, and an actor per pod.

A :class:`Kubelet` actor is pinned to its Ray node (node affinity, not
soft). The control plane calls :meth:`Kubelet.sync` with the pods bound to
the node; the kubelet starts a :class:`PodActor` for each new pod on the
same Ray node, with the pod's ``image`` as the actor's Ray ``runtime_env``,
stops (gracefully) the ones no longer wanted, and answers with every pod's
status. Both are detached, named actors in the cluster's Ray namespace
(``kubelet-NODE``, ``pod-UID``), so a restarted control plane finds them
again instead of starting duplicates.

An image is pulled when its pod's actor sets up its runtime_env. A setup
that fails is Kubernetes' failed image pull: the pod waits with
``ErrImagePull``, then ``ImagePullBackOff`` while the kubelet backs off
(10 s doubling to 5 min, as the kubelet's image back-off), and tries again.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from typing import Mapping

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from reconcile.api.conditions import set_condition
from reconcile.controllers.job import COMPLETION_INDEX
from reconcile.controllers.statefulset import POD_INDEX_LABEL
from reconcile.api.model import KObject, freeze, thaw
from reconcile.controllers.workloads import next_backoff

from cluster_ray.containers import PodProcesses, image_env, pod_paths

__all__ = ["Kubelet", "PodActor", "runtime_env_of", "pod_actor_name", "kubelet_name", "pod_identity",
           "pod_status", "thaw_pod"]

POLL_TIMEOUT = 2.0       # seconds a sync waits for its pods' reports; a pod still starting reports next time


def pod_actor_name(uid: str) -> str:
    return f"pod-{uid}"


def kubelet_name(node: str) -> str:
    return f"kubelet-{node}"


def runtime_env_of(pod: Mapping) -> dict | None:
    """The Ray runtime_env of a pod: its first container's ``image`` (a JSON runtime_env, as the
    language writes it; a plain image name means no environment of its own)."""
    try:
        env = json.loads(_image(pod))
    except (TypeError, ValueError):
        return None
    return env if isinstance(env, dict) else None


def pod_identity(pod: Mapping, host_ip: str, node: str) -> dict:
    """The variables that tell a pod's containers who they are: ``POD_NAME``, ``POD_NAMESPACE``,
    ``POD_UID``, ``POD_IP``, ``NODE_NAME``, ``HOSTNAME``; ``POD_ORDINAL`` for a StatefulSet's pod
    and ``JOB_COMPLETION_INDEX`` for an Indexed Job's, as Kubernetes gives them."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    env = {"POD_NAME": meta["name"], "POD_NAMESPACE": meta.get("namespace", ""), "POD_UID": meta.get("uid", ""),
           "POD_IP": host_ip, "NODE_NAME": node, "HOSTNAME": spec.get("hostname") or meta["name"]}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if POD_INDEX_LABEL in labels:
        env["POD_ORDINAL"] = str(labels[POD_INDEX_LABEL])
    index = annotations.get(COMPLETION_INDEX, labels.get(COMPLETION_INDEX))
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)
    return env


class PodActor:
    """One pod: its containers' processes, started when the actor starts. They get ``env`` (from
    the kubelet) over what the actor's Ray runtime_env (the pod's image) sets, and nothing else of
    the environment this worker inherited (:func:`cluster_ray.containers.image_env`)."""

    def __init__(self, pod: dict, workdir: str, env: dict, ports: dict, logdir: str | None = None):
        self.ports_ = ports
        base = image_env(ray.get_runtime_context().runtime_env, os.environ)
        self.pods = PodProcesses(pod, workdir, env, ports=ports, base_env=base, logdir=logdir)
        self.pods.start()

    def ports(self) -> dict:
        return self.ports_

    def poll(self) -> dict:
        return self.pods.poll()

    def stop(self, grace: float | None = None) -> dict:
        self.pods.stop(grace)
        return self.pods.status()

    def logs(self, container: str | None = None, tail: int | None = None) -> str:
        return self.pods.logs(container, tail)

    def read_log(self, container: str | None = None, offset: int = 0) -> tuple[str, int]:
        return self.pods.read_log(container, offset)

    def pids(self) -> list[int]:
        return self.pods.pids()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _image(pod: Mapping) -> str:
    """The pod's first container image, "" if none has one."""
    return next((c.get("image") for c in (pod.get("spec") or {}).get("containers") or () if c.get("image")), "")


class Kubelet:
    """The kubelet of one node."""

    def __init__(self, node: str, ray_node_id: str, namespace: str, root: str):
        self.node, self.ray_node_id, self.namespace, self.root = node, ray_node_id, namespace, root
        self.pods: dict = {}            # uid -> (actor, ports)
        self.stopping: dict = {}        # uid -> (actor, the stop call)
        self.pulls: dict = {}           # uid -> (back-off, when to try again, why) of an image that failed
        self.pod_actor = ray.remote(PodActor)
        self.host_ip = ray.util.get_node_ip_address()
        self.lock = threading.Lock()    # a threaded actor (pings come while a sync works): one sync at a time

    def ping(self) -> str:
        return self.ray_node_id

    def _start(self, pod: dict, env: dict):
        uid = pod["metadata"]["uid"]
        workdir, logdir = pod_paths(self.root, pod)    # EscapesDirectory (a ValueError): not started
        name = pod_actor_name(uid)
        try:                            # still there from before a control-plane restart: adopted
            actor = ray.get_actor(name, namespace=self.namespace)
            return actor, ray.get(actor.ports.remote())
        except (ValueError, ray.exceptions.RayError):
            pass
        ports: dict = {}
        for c in pod["spec"].get("containers") or ():
            for p in c.get("ports") or ():
                ports[p.get("name") or str(p.get("containerPort"))] = _free_port()
        env = dict(env)
        env.update(pod_identity(pod, self.host_ip, self.node))
        if ports:
            env["PORT"] = str(next(iter(ports.values())))
            for pname, port in ports.items():
                env["PORT_" + pname.upper().replace("-", "_")] = str(port)
        options = dict(name=name, namespace=self.namespace, lifetime="detached", num_cpus=0, max_restarts=0,
                       scheduling_strategy=NodeAffinitySchedulingStrategy(self.ray_node_id, soft=False))
        runtime_env = runtime_env_of(pod)
        if runtime_env:
            options["runtime_env"] = runtime_env
        return self.pod_actor.options(**options).remote(pod, workdir, env, ports, logdir), ports

    def sync(self, pods: list[dict], env: dict | None = None) -> dict:
        """Make the node run exactly ``pods``; returns ``{uid: report}`` for each of them.
        ``env`` is per namespace: the variables a new pod of that namespace starts with
        (its services' ``NAME_SERVICE_HOST`` and ``NAME_SERVICE_PORT``).

        A report is ``{"status": {...}, "events": [...], "ports": {...}, "hostIP": ...}`` once the
        pod's actor answers, or ``{"waiting": reason, "message": ...}`` (with ``"events"`` after a
        failed pull) while it starts or when it failed; events are ``(type, reason, message)``.
        """
        with self.lock:
            return self._sync(pods, env)

    def _sync(self, pods: list[dict], env: dict | None) -> dict:
        wanted = {p["metadata"]["uid"]: p for p in pods}
        for uid in [u for u in self.pods if u not in wanted]:
            actor, _ = self.pods.pop(uid)
            self.stopping[uid] = (actor, actor.stop.remote())
        self._reap()
        self.pulls = {uid: failed for uid, failed in self.pulls.items() if uid in wanted}
        out: dict = {}
        now = time.monotonic()
        for uid, pod in wanted.items():
            if uid not in self.pods:
                failed = self.pulls.get(uid)
                if failed is not None and now < failed[1]:
                    out[uid] = {"waiting": "ImagePullBackOff",
                                "message": f'Back-off pulling image "{_image(pod)}": ErrImagePull: {failed[2]}'}
                    continue
                try:
                    self.pods[uid] = self._start(pod, (env or {}).get(pod["metadata"].get("namespace"), {}))
                except (ValueError, TypeError, ray.exceptions.RayError) as e:   # a runtime_env Ray refuses
                    out[uid] = {"waiting": "CreateContainerConfigError", "message": str(e)[:500]}
        refs = {uid: actor.poll.remote() for uid, (actor, _) in self.pods.items()}
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=POLL_TIMEOUT) if refs else ([], [])
        ready = set(ready)
        for uid, ref in refs.items():
            ports = self.pods[uid][1]
            if ref not in ready:
                out[uid] = {"waiting": "ContainerCreating", "message": "starting the pod's Ray actor"}
                continue
            try:
                status = ray.get(ref)
            except ray.exceptions.RuntimeEnvSetupError as e:
                out[uid] = self._pull_failed(uid, wanted[uid], e, now)
                continue
            except ray.exceptions.RayError as e:
                self.pods.pop(uid, None)         # the actor died: started again on the next sync
                out[uid] = {"waiting": "ContainerCreating", "message": f"the pod's actor died: {e}"[:500]}
                continue
            self.pulls.pop(uid, None)
            out[uid] = {"status": status, "events": status.pop("events", []), "ports": ports, "hostIP": self.host_ip}
        return out

    def _pull_failed(self, uid: str, pod: dict, error: Exception, now: float) -> dict:
        """The pod's runtime_env could not be set up: its actor goes, and it is tried again
        after the back-off."""
        actor, _ = self.pods.pop(uid)
        ray.kill(actor)
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        why = (lines[-1] if lines else type(error).__name__)[:500]
        previous = self.pulls.get(uid)
        delay = next_backoff(previous[0] if previous else None, None, now)
        self.pulls[uid] = (delay, now + delay, why)
        image = _image(pod)
        return {"waiting": "ErrImagePull", "message": why,
                "events": [("Warning", "Failed", f'Failed to pull image "{image}": {why}'),
                           ("Normal", "BackOff", f'Back-off pulling image "{image}" ({delay:g}s)')]}

    def _reap(self) -> None:
        done = [uid for uid, (_, ref) in self.stopping.items() if ray.wait([ref], timeout=0)[0]]
        for uid in done:
            actor, _ = self.stopping.pop(uid)
            ray.kill(actor)

    def shutdown(self, grace: float | None = None) -> int:
        """Stop every pod (gracefully) and their actors; returns how many were stopped."""
        with self.lock:
            return self._shutdown(grace)

    def _shutdown(self, grace: float | None) -> int:
        for uid, (actor, _) in self.pods.items():
            self.stopping[uid] = (actor, actor.stop.remote(grace))
        self.pods.clear()
        refs = [ref for _, ref in self.stopping.values()]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=(grace or 30) + 10)
        n = len(self.stopping)
        for actor, _ in self.stopping.values():
            ray.kill(actor)
        self.stopping.clear()
        return n


def thaw_pod(pod: KObject) -> dict:
    return {"metadata": pod.metadata.to_dict(), "spec": thaw(pod.spec)}


def pod_status(pod: KObject, report: dict, now: float):
    """The pod's new status from its kubelet's report (Kubernetes' shape, conditions kept stable)."""
    st = pod.status
    if "waiting" in report:
        cs = [{"name": c.get("name"), "ready": False, "restartCount": 0, "started": False,
               "image": c.get("image", ""),
               "state": {"waiting": {"reason": report["waiting"], "message": report.get("message", "")}}}
              for c in pod.spec.get("containers") or ()]
        return st.update({"phase": "Pending", "containerStatuses": freeze(cs)})
    reported = report["status"]
    containers = reported["containerStatuses"]
    ready = reported["phase"] == "Running" and bool(containers) and all(c["ready"] for c in containers)
    value = "True" if ready else "False"
    conds = st.get("conditions")
    conds = set_condition(conds, "Initialized", "True", now)
    conds = set_condition(conds, "ContainersReady", value, now)
    conds = set_condition(conds, "Ready", value, now)
    started = [c["state"]["running"]["startedAt"] for c in containers if "running" in c["state"]]
    update = {"phase": reported["phase"], "hostIP": report["hostIP"], "podIP": report["hostIP"],
              "startTime": st.get("startTime") or (min(started) if started else now),
              "conditions": conds, "containerStatuses": freeze(containers)}
    return st.update(update)
