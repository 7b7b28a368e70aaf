"""Pods on Ray against bare Ray actors: how long 50 pods take to be Running and Ready.

Measures, on a local Ray (``num_cpus=2``), medians of --repeat runs:
 - a Deployment of --pods replicas whose container is ``call sleeper:forever``
   (a process that sleeps), from the apply until every pod is Running and
   Ready, through the whole control plane (controllers, scheduler, kubelet
   actors, one pod actor per pod starting the process);
 - --pods bare Ray actors with the same options (detached, num_cpus=0, pinned
   to the same Ray node) each starting the same process, from the first
   ``.remote()`` until every one has started it;
 - their ratio (goal: at most 1.3), and the pods' start latency, creation to
   Ready as the control plane saw it, p50 and p99 (Kubernetes' SLO: p99 <= 5 s).
The two alternate within each run, so they share the machine's mood.

    python bench/ray_scale.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from cluster_ray.runtime import RayCluster
from reconcile.api.model import Deployment

HERE = os.path.dirname(os.path.abspath(__file__))
COMMAND = [sys.executable, "-m", "cluster_ray.call", "sleeper:forever"]


class BareActor:
    """What a pod's actor does at its core, without the control plane: start one process."""

    def __init__(self, workdir: str):
        os.makedirs(workdir, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=HERE)
        self.proc = subprocess.Popen(COMMAND, cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)

    def started(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _ready(pod) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.status.get("conditions") or ())


def pods_run(cluster: RayCluster, n: int, k: int, latencies: list, timeout: float) -> float:
    name = f"sleepers-{k}"
    d = Deployment.new(name, "default", spec={
        "replicas": n, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "command": ["python", "-m", "cluster_ray.call", "sleeper:forever"],
                            "env": [{"name": "PYTHONPATH", "value": HERE}]}]}}})
    t = time.perf_counter()
    cluster.apply([d])
    seen: set = set()
    while True:
        cluster.step()
        now = time.time()
        for p in cluster.list("Pod", f"app={name}"):
            if p.metadata.uid not in seen and p.status.get("phase") == "Running" and _ready(p):
                seen.add(p.metadata.uid)
                latencies.append(now - p.metadata.creationTimestamp)
        if len(seen) >= n:
            elapsed = time.perf_counter() - t
            break
        if time.perf_counter() - t > timeout:
            raise SystemExit(f"{len(seen)}/{n} pods ready after {timeout}s")
        time.sleep(cluster.period)
    cluster.store.delete("Deployment", name, "default")
    cluster.wait_until(lambda c: not c.list("Pod", f"app={name}"), timeout=120, what="the pods gone")
    cluster.run(1.0)            # their actors and processes stopped
    return elapsed


def bare_run(n: int, node_id: str, root: str, k: int) -> float:
    cls = ray.remote(BareActor)
    opts = dict(num_cpus=0, lifetime="detached", max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
    t = time.perf_counter()
    actors = [cls.options(name=f"bare-{k}-{i}", **opts).remote(os.path.join(root, f"bare-{k}-{i}"))
              for i in range(n)]
    ray.get([a.started.remote() for a in actors])
    elapsed = time.perf_counter() - t
    ray.get([a.stop.remote() for a in actors])
    for a in actors:
        ray.kill(a)
    return elapsed


def _pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=50)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=float, default=300.0)
    args = p.parse_args(argv)
    cluster = RayCluster(num_cpus=2, period=0.1)
    try:
        node_id = cluster.list("Node")[0].metadata.annotations["ray.reconcile.dev/node-id"]
        ours, bare, latencies = [], [], []
        for k in range(args.repeat):
            bare.append(bare_run(args.pods, node_id, cluster.root, k))
            ours.append(pods_run(cluster, args.pods, k, latencies, args.timeout))
            print(f"  run {k + 1}: {args.pods} pods Running and Ready in {ours[-1]:.2f}s; "
                  f"{args.pods} bare actors started in {bare[-1]:.2f}s; ratio {ours[-1] / bare[-1]:.2f}", flush=True)
        mo, mb = statistics.median(ours), statistics.median(bare)
        print(f"{args.pods} pods through a Deployment: median {mo:.2f}s; {args.pods} bare Ray actors: median "
              f"{mb:.2f}s; ratio {mo / mb:.2f}   (goal <= 1.3)")
        print(f"pod start latency, creation to Ready, {len(latencies)} pods: p50 {_pct(latencies, 0.5):.2f}s, "
              f"p99 {_pct(latencies, 0.99):.2f}s   (Kubernetes' SLO: p99 <= 5 s)")
    finally:
        cluster.down(grace=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
