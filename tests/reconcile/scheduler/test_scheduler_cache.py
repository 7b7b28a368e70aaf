"""The scheduler rule's node cache, kept up to date from events, equals the nodes summed afresh."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from reconcile.api.model import Deployment, Job, Node
from reconcile.scheduler import NodeInfo
from reconcile.sim import SimCluster


def afresh(snapshot) -> list:
    return [NodeInfo.from_node(n, snapshot.pods_on_node(n.name)) for n in snapshot.list("Node")]


def kept(sim) -> list | None:
    """The cache's own list when it claims to be current (else None: it would sum afresh)."""
    cache = sim.engine.rules["scheduler"].reconcile.node_cache
    snapshot = sim.store.snapshot()
    if not (cache._synced and cache._seen == snapshot.revision):
        cache.infos(snapshot)       # sum afresh (a node came): from here on it is kept again
        return None
    return list(cache.infos(snapshot))


def template(name: str, cpu: str, restart: str) -> dict:
    return {"metadata": {"labels": {"app": name}},
            "spec": {"restartPolicy": restart, "containers": [
                {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}}


def deployment(name: str, replicas: int, cpu: str = "500m"):
    return Deployment.new(name, "default", spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template(name, cpu, "Always")})


def job(name: str, parallelism: int, cpu: str):
    """Pods that do not restart: a crashed one fails and frees its node (a Job replaces it).
    (A Deployment may not have them: Kubernetes allows it only restartPolicy Always.)"""
    return Job.new(name, "default", spec={"parallelism": parallelism, "completions": 1000, "backoffLimit": 1000,
                                          "template": template(name, cpu, "Never")})


OPS = st.lists(st.tuples(st.sampled_from(["scale", "fail", "recover", "crash", "delete", "cordon", "node",
                                          "advance"]),
                         st.integers(0, 5)), min_size=1, max_size=25)


@settings(max_examples=40, deadline=None)
@given(OPS)
def test_the_kept_node_view_is_the_fresh_one(ops):
    sim = SimCluster(seed=3, node_grace=5, eviction_timeout=5)
    sim.apply([Node.new(f"n{i}", status={"capacity": {"cpu": "2", "memory": "4Gi", "pods": "6"}})
               for i in range(3)] + [deployment("web", 4), job("job", 2, "250m")])
    sim.advance(2)
    extra, compared = 3, 0
    for op, k in ops:
        pods = sim.list("Pod")
        nodes = sim.list("Node")
        if op == "scale":
            sim.scale("Deployment", "web", k)
        elif op == "fail":
            sim.fail_node(nodes[k % len(nodes)].name)
        elif op == "recover":
            sim.recover_node(nodes[k % len(nodes)].name)
        elif op == "crash" and pods:
            sim.crash_pod(pods[k % len(pods)].name)          # a Never pod fails: it frees its node
        elif op == "delete" and pods:
            sim.store.delete("Pod", pods[k % len(pods)].name)
            sim.engine.run()
        elif op == "cordon":
            sim.cordon(nodes[k % len(nodes)].name, on=k % 2 == 0)
        elif op == "node":
            sim.apply([Node.new(f"n{extra}", status={"capacity": {"cpu": "1", "memory": "2Gi", "pods": "4"}})])
            extra += 1
        else:
            sim.advance(k * 3 + 0.5)
        view = kept(sim)
        if view is not None:
            assert view == afresh(sim.store.snapshot())
            compared += 1
    assert compared >= sum(op != "node" for op, _ in ops[1:])     # only a new node makes it sum afresh
