"""A rule that raises stops nothing else: in the simulator its item is retried with back-off in
virtual time, a Warning event says which rule failed on which object and why, and the cluster
goes on converging."""

from __future__ import annotations

from reconcile.api.model import Deployment, Node
from reconcile.controlplane import ControlPlane
from reconcile.engine import Result, Rule
from reconcile.sim import SimCluster


def deployment(name: str, replicas: int = 2):
    return Deployment.new(name, "default", spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c"}]}}})


def running(cluster, app: str) -> int:
    return sum(1 for p in cluster.list("Pod") if p.metadata.labels.get("app") == app
               and p.status.get("phase") == "Running")


def flaky_on(name: str, failures: int, seen: list):
    """A user rule on Deployments that raises the first ``failures`` times it sees ``name``."""
    def reconcile(snapshot, key, now):
        if key[2] == name:
            seen.append(now)
            if len(seen) <= failures:
                raise RuntimeError(f"lookup of {name} timed out")
        return Result()
    return Rule("audit", reconcile, primary="Deployment")


def test_a_transient_fault_is_retried_with_back_off_in_virtual_time_until_it_succeeds():
    seen: list = []
    sim = SimCluster(rules=[flaky_on("web", 6, seen)])
    sim.apply([Node.new("n1"), deployment("web"), deployment("api")])
    sim.run_until_stable()
    # client-go's per-item exponential back-off: 5 ms doubling; the 7th try succeeds. (The 2nd try
    # came at once: the Deployment's own status write woke the item, as an informer event does.)
    gaps = [round(b - a, 3) for a, b in zip(seen, seen[1:])][:6]
    assert gaps == [0.0, 0.01, 0.02, 0.04, 0.08, 0.16]
    assert running(sim, "web") == 2 and running(sim, "api") == 2       # the cluster converged
    warnings = [e for e in sim.events() if e.reason == "RuleFailed"]
    assert [float(e.message.rsplit("retry in ", 1)[1].rstrip("s")) for e in warnings] == [
        0.005, 0.01, 0.02, 0.04, 0.08, 0.16]
    assert all(e.type == "Warning" for e in warnings)
    assert warnings[0].regarding == ("Deployment", "default", "web")
    assert warnings[0].message == ("rule audit failed on Deployment default/web: RuntimeError: lookup of web "
                                   "timed out; retry in 0.005s")


def test_a_rule_that_always_raises_on_one_object_stops_no_other_work():
    seen: list = []
    sim = SimCluster(rules=[flaky_on("poison", 10**9, seen)])
    sim.apply([Node.new("n1"), deployment("poison"), deployment("web", 3)])
    sim.advance(60)
    assert running(sim, "web") == 3 and running(sim, "poison") == 2     # the built-in controllers ran
    assert len(seen) > 10                                                # retried, ever more slowly
    assert seen[-1] - seen[-2] > 1.0
    sim.scale("Deployment", "web", 1)                                    # and later work still runs
    sim.advance(60)
    assert len([p for p in sim.list("Pod") if p.metadata.labels.get("app") == "web"]) == 1


def test_a_control_plane_write_does_not_raise_because_a_rule_failed():
    def broken(snapshot, key, now):
        raise KeyError("status.replicas")

    plane = ControlPlane(clock=lambda: 0.0, rules=[Rule("broken", broken, primary="Deployment")])
    plane.apply([Node.new("n1"), deployment("web")])           # today's `reconcile up` round does this
    assert sorted(p.spec.get("nodeName") for p in plane.list("Pod")) == ["n1", "n1"]
    plane.scale("Deployment", "web", 3)
    assert len(plane.list("Pod")) == 3
    [first, *_] = [e for e in plane.events() if e.reason == "RuleFailed"]
    assert "rule broken failed on Deployment default/web: KeyError: 'status.replicas'" in first.message
