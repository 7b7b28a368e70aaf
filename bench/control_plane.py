"""Control-plane speed: the real store, engine, controllers and scheduler on simulated nodes.

Measures, medians of --repeat runs:
 (a) a cluster of --nodes nodes filled from one apply of --deployments
     deployments x --replicas replicas, until every pod is Running: wall
     seconds and pods/s (goal at 5,000 nodes / 150,000 pods: under 60 s,
     above 2,500 pods/s; Kubernetes' own scheduler test gate is 680-810
     pods/s at 5,000 nodes);
 (b) in that full cluster, one deployment's replicas changed, until the
     engine's fixpoint, next to recomputing every controller from scratch
     (goal: under 5 ms, at least 100x faster);
 (c) resident memory per pod (goal: under 2 KB);
 (d) durable SQLite writes per second, one write per transaction and
     batched per engine step.

    python bench/control_plane.py                       # the issue's sizes
    python bench/control_plane.py --nodes 500 --deployments 150   # a tenth
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time
import tracemalloc

from reconcile.model import Deployment, Node, Pod
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
    d = sim.get("Deployment", "app-0")
    t = time.perf_counter()
    sim.scale("Deployment", "app-0", d.spec["replicas"] + 1)
    changed = time.perf_counter() - t
    # from scratch: every controller over every object once
    engine = sim.engine
    for rule in engine.rules.values():
        if rule.primary:
            for obj in sim.store.snapshot().list(rule.primary):
                engine.enqueue(rule.name, obj.key)
    t = time.perf_counter()
    engine.run()
    scratch = time.perf_counter() - t
    return changed, scratch


def memory_per_pod(args):
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    sim, _ = fill(args)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / (args.deployments * args.replicas)


def durable_writes(n: int):
    from reconcile.durable import SqliteBackend
    from reconcile.store import Store
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
    p.add_argument("--timeout", type=float, default=3600.0)
    p.add_argument("--writes", type=int, default=5000)
    args = p.parse_args(argv)
    total = args.deployments * args.replicas
    print(f"{args.nodes:,} nodes, {args.deployments:,} deployments x {args.replicas} = {total:,} pods; "
          f"{args.repeat} runs")
    fills, changes, scratches = [], [], []
    for k in range(args.repeat):
        sim, seconds = fill(args)
        fills.append(seconds)
        changed, scratch = one_change(sim, args)
        changes.append(changed)
        scratches.append(scratch)
        print(f"  run {k + 1}: fill {seconds:.1f}s ({total / seconds:,.0f} pods/s); one change "
              f"{changed * 1000:.2f} ms; from scratch {scratch * 1000:.0f} ms", flush=True)
        del sim
        gc.collect()
    m_fill, m_change, m_scratch = (statistics.median(x) for x in (fills, changes, scratches))
    print(f"(a) fill: median {m_fill:.1f}s, {total / m_fill:,.0f} pods/s   (goal < 60 s, > 2,500 pods/s)")
    print(f"(b) one change {m_change * 1000:.2f} ms vs from scratch {m_scratch * 1000:.0f} ms: "
          f"{m_scratch / m_change:.0f}x   (goal < 5 ms, >= 100x)")
    print(f"(c) memory per pod: {memory_per_pod(args):,.0f} bytes   (goal < 2,048)")
    for mode, rate in durable_writes(args.writes).items():
        print(f"(d) durable writes, {mode}: {rate:,.0f}/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
