"""Control-plane speed: the real store, engine, controllers and scheduler on simulated nodes.

Measures, medians of --repeat runs:
 (a) a cluster of --nodes nodes filled from one apply of --deployments
     deployments x --replicas replicas, until every pod is Running: wall
     seconds and pods/s (goal at 5,000 nodes / 150,000 pods: under 60 s,
     above 2,500 pods/s; Kubernetes' own scheduler test gate is 680-810
     pods/s at 5,000 nodes);
 (b) in that full cluster, one deployment's replicas changed, until the
     engine's fixpoint: the first change after the fill, then the median of
     --changes more; next to recomputing every controller from scratch
     (goal: under 5 ms, at least 100x faster);
 (c) resident memory per pod: the RSS the process gains by the fill,
     divided by the pods (goal: under 2 KB);
 (d) durable SQLite writes per second, one write per transaction and
     batched per engine step.
(a) to (c) are measured together, each run in a fresh process.

    python bench/control_plane.py                       # the issue's sizes
    python bench/control_plane.py --nodes 500 --deployments 150   # a tenth
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from reconcile.api.model import Deployment, Node, Pod
from reconcile.sim import SimCluster


def cluster(nodes: int, deployments: int, replicas: int):
    objs = [Node.new(f"node-{i}", status={"capacity": {"cpu": "64", "memory": "256Gi", "pods": "110"}})
            for i in range(nodes)]
    for d in range(deployments):
        objs.append(Deployment.new(f"app-{d}", "default", labels={"app": f"app-{d}"}, spec={
            "replicas": replicas, "selector": {"matchLabels": {"app": f"app-{d}"}},
            "template": {"metadata": {"labels": {"app": f"app-{d}"}},
                         "spec": {"containers": [{"name": "c", "command": ["serve"],
                                                  "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}))
    return objs


def fill(args):
    sim = SimCluster(seed=0, start_delay=1.0)
    manifest = cluster(args.nodes, args.deployments, args.replicas)
    t = time.perf_counter()
    sim.apply(manifest)
    total = args.deployments * args.replicas
    while True:
        sim.advance(1.0)
        running = sum(1 for p in sim.store.snapshot().objects.get("Pod", {}).values()
                      if p.status.get("phase") == "Running")
        if running >= total:
            break
        if time.perf_counter() - t > args.timeout:
            raise SystemExit(f"(a) gave up after {args.timeout}s: {running}/{total} pods running")
    return sim, time.perf_counter() - t


def one_change(sim, args):
    """(first change after the fill, median of the next --changes changes, median of as many
    with the cycle collector off, from scratch), seconds.

    A change is ``replicas`` of one deployment up by one (alternately down), timed
    from the write to the engine's fixpoint at that instant: the deployment, its
    ReplicaSet, the new pod created, scheduled and bound (its start on the
    simulated node is later, in virtual time). From scratch is every controller
    run again on every object it owns (the kubelets are nodes, not controllers).
    """
    name = "app-0"

    def change(delta):
        d = sim.get("Deployment", name)
        t = time.perf_counter()
        sim.scale("Deployment", name, d.spec["replicas"] + delta)
        return time.perf_counter() - t

    first = change(+1)
    later = [change(-1 if k % 2 == 0 else +1) for k in range(args.changes)]
    gc.disable()                # the same changes with Python's cycle collector held off, to show its share
    try:
        quiet = [change(-1 if k % 2 == 0 else +1) for k in range(args.changes)]
    finally:
        gc.enable()
    engine = sim.engine
    snapshot = sim.store.snapshot()
    for rule in engine.rules.values():
        if rule.name.startswith("sim-"):
            continue
        if rule.primary:
            for obj in snapshot.list(rule.primary):
                engine.enqueue(rule.name, obj.key)
    from reconcile.scheduler.rule import scheduler_key
    engine.enqueue("scheduler", scheduler_key())
    t = time.perf_counter()
    engine.run()
    scratch = time.perf_counter() - t
    return first, statistics.median(later), statistics.median(quiet), scratch


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _run_child(args) -> None:
    """One run in this (fresh) process: the fill, the changes, from scratch, and the RSS the
    fill added per pod; printed as JSON for the parent."""
    gc.collect()
    before = _rss()
    sim, seconds = fill(args)
    gc.collect()
    memory = (_rss() - before) / (args.deployments * args.replicas)
    first, changed, quiet, scratch = one_change(sim, args)
    print(json.dumps({"fill": seconds, "first": first, "change": changed, "quiet": quiet,
                      "scratch": scratch, "memory": memory}))


def run(args) -> dict:
    """One run in a fresh process, so that no run inherits another's heap."""
    cmd = [sys.executable, __file__, "--run-child", "--nodes", str(args.nodes), "--deployments",
           str(args.deployments), "--replicas", str(args.replicas), "--changes", str(args.changes),
           "--timeout", str(args.timeout)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def durable_writes(n: int):
    from reconcile.state.durable import SqliteBackend
    from reconcile.state.store import Store
    out = {}
    for mode in ("one per transaction", "batched per step"):
        d = tempfile.mkdtemp()
        store = Store(clock=lambda: 0.0, backend=SqliteBackend(os.path.join(d, "state.db")))
        pods = [Pod.new(f"p{i}", "default", spec={"containers": [{"name": "c"}]}) for i in range(n)]
        t = time.perf_counter()
        if mode == "one per transaction":
            for p in pods:
                store.create(p)
        else:
            for i in range(0, n, 100):
                with store.batch():
                    for p in pods[i:i + 100]:
                        store.create(p)
        out[mode] = n / (time.perf_counter() - t)
        store.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--deployments", type=int, default=1500)
    p.add_argument("--replicas", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--changes", type=int, default=5, help="changes timed after the first, per run")
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--writes", type=int, default=5000)
    p.add_argument("--run-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.run_child:
        _run_child(args)
        return 0
    total = args.deployments * args.replicas
    print(f"{args.nodes:,} nodes, {args.deployments:,} deployments x {args.replicas} = {total:,} pods; "
          f"{args.repeat} runs, each in a fresh process", flush=True)
    runs = []
    for k in range(args.repeat):
        r = run(args)
        runs.append(r)
        print(f"  run {k + 1}: fill {r['fill']:.1f}s ({total / r['fill']:,.0f} pods/s); first change "
              f"{r['first'] * 1000:.2f} ms, then median {r['change'] * 1000:.2f} ms ({r['quiet'] * 1000:.2f} ms "
              f"with the cycle collector off); from scratch {r['scratch'] * 1000:.0f} ms; "
              f"{r['memory']:,.0f} bytes per pod", flush=True)
    m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"(a) fill: median {m['fill']:.1f}s, {total / m['fill']:,.0f} pods/s   (goal < 60 s, > 2,500 pods/s)")
    print(f"(b) one change: first after the fill {m['first'] * 1000:.2f} ms, then {m['change'] * 1000:.2f} ms; "
          f"from scratch {m['scratch'] * 1000:.0f} ms: {m['scratch'] / m['first']:.0f}x / "
          f"{m['scratch'] / m['change']:.0f}x   (goal < 5 ms, >= 100x)")
    print(f"    the same changes with the cycle collector off: {m['quiet'] * 1000:.2f} ms")
    print(f"(c) resident memory per pod: {m['memory']:,.0f} bytes   (goal < 2,048)", flush=True)
    for mode, rate in durable_writes(args.writes).items():
        print(f"(d) durable writes, {mode}: {rate:,.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
