"""The scheduler's cost per pending pod, at 10,000 and 40,000 pending pods: linear or not.

A control plane (no kubelets) with --nodes nodes gets one Deployment of N
replicas. Its ReplicaSet creates the pods 500 at a time (Kubernetes'
burstReplicas), and each burst wakes the scheduler, as it does in
Kubernetes. Two cases:

  fit       every node has room for all the pods (1,000 pods, 1,000 cpu
            each): every pod is bound on its first try;
  no room   the nodes are full after --nodes x 10 pods: the rest stay
            pending, and each new burst arrives while they wait. Before the
            scheduling queue (issue 12, item 8) every pass tried every
            pending pod again, so the cost per pod grew with N (4.6 s for
            10,000 pending pods, 46 s for 40,000).

Timed: the seconds spent in the scheduler rule (its passes, summed) from the
apply to the engine's fixpoint; also the whole fixpoint, for scale. Each run
in a fresh process; medians of --repeat. Printed per case: microseconds per
pod at each size, and the ratio of the per-pod costs (40k / 10k): about 1
means the cost is linear in the pending pods, 4 would be quadratic.

    python bench/scheduler_pending.py                   # 10k and 40k, 3 runs each
    python bench/scheduler_pending.py --sizes 5000,20000 --repeat 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time

from reconcile.api.model import Deployment, Node
from reconcile.controlplane import ControlPlane

CASES = {"fit": "1000", "no room": "10"}        # the nodes' pod capacity


def one(case: str, pods: int, nodes: int) -> dict:
    """One run: (scheduler seconds, fixpoint seconds, pods bound, pods pending)."""
    plane = ControlPlane(clock=lambda: 0.0)
    plane.apply([Node.new(f"node-{i}", status={"capacity": {"cpu": "1000", "memory": "4000Gi",
                                                             "pods": CASES[case]}}) for i in range(nodes)])
    rule = plane.engine.rules["scheduler"]
    spent = [0.0]

    def timed(snapshot, key, now):
        t = time.perf_counter()
        try:
            return rule.reconcile(snapshot, key, now)
        finally:
            spent[0] += time.perf_counter() - t

    plane.engine.rules["scheduler"] = dataclasses.replace(rule, reconcile=timed)
    deployment = Deployment.new("d", "default", spec={
        "replicas": pods, "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}})
    t = time.perf_counter()
    plane.apply([deployment])
    total = time.perf_counter() - t
    listed = plane.list("Pod")
    bound = sum(1 for p in listed if p.spec.get("nodeName"))
    return {"scheduler": spent[0], "fixpoint": total, "bound": bound, "pending": len(listed) - bound}


def run(case: str, pods: int, nodes: int) -> dict:
    """One run in a fresh process, so that no run inherits another's heap."""
    cmd = [sys.executable, __file__, "--run-child", case, "--sizes", str(pods), "--nodes", str(nodes)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,40000", help="pending pods, comma-separated (the first and the "
                   "last are compared)")
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--case", choices=sorted(CASES), action="append", help="(default: both)")
    p.add_argument("--run-child", metavar="CASE", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.run_child:
        print(json.dumps(one(args.run_child, sizes[0], args.nodes)))
        return 0
    print(f"{args.nodes} nodes; one Deployment of N replicas, created 500 at a time; "
          f"{args.repeat} runs each, each in a fresh process", flush=True)
    for case in args.case or CASES:
        per_pod = {}
        for n in sizes:
            runs = [run(case, n, args.nodes) for _ in range(args.repeat)]
            sched = statistics.median(r["scheduler"] for r in runs)
            fix = statistics.median(r["fixpoint"] for r in runs)
            per_pod[n] = sched / n
            each = ", ".join(f"{r['scheduler']:.2f}" for r in runs)
            print(f"  {case:7} N={n:>6,}: scheduler {sched:6.2f} s (runs: {each}), {per_pod[n] * 1e6:6.1f} us/pod; "
                  f"whole fixpoint {fix:.2f} s; {runs[0]['bound']:,} bound, {runs[0]['pending']:,} pending",
                  flush=True)
        lo, hi = sizes[0], sizes[-1]
        if lo != hi:
            print(f"  {case:7} per-pod cost {hi:,} / {lo:,}: {per_pod[hi] / per_pod[lo]:.2f}   "
                  f"(1 = linear in the pending pods; {hi / lo:g} = quadratic)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
