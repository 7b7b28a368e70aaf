"""Simulated pods that finish: ``complete_pod`` and the ``run-seconds`` annotation, by restart policy."""

import pytest

from reconcile.api.model import Node, Pod
from reconcile.sim import SimCluster


def cluster():
    sim = SimCluster(seed=2)
    sim.apply([Node.new("n1")])
    return sim


def pod(sim, name, policy, **annotations):
    sim.apply([Pod.new(name, "default", annotations={f"sim.reconcile.dev/{k.replace('_', '-')}": str(v)
                                                     for k, v in annotations.items()},
                       spec={"restartPolicy": policy, "containers": [{"name": "c"}, {"name": "d"}]})])
    sim.advance(3)
    return sim.get("Pod", name)


def terminated(p):
    return [c["state"].get("terminated", {}).get("exitCode") for c in p.status["containerStatuses"]]


@pytest.mark.parametrize("policy, code, phase", [
    ("Never", 0, "Succeeded"), ("Never", 3, "Failed"), ("OnFailure", 0, "Succeeded"),
])
def test_a_pod_that_does_not_restart_finishes_with_its_containers(policy, code, phase):
    sim = cluster()
    assert pod(sim, "p", policy).status["phase"] == "Running"
    sim.complete_pod("p", exit_code=code)
    p = sim.get("Pod", "p")
    assert p.status["phase"] == phase and terminated(p) == [code, code]
    assert [c["status"] for c in p.status["conditions"] if c["type"] == "Ready"] == ["False"]
    sim.advance(600)
    assert sim.get("Pod", "p").status["phase"] == phase         # for good


@pytest.mark.parametrize("policy, code", [("OnFailure", 1), ("Always", 0), ("Always", 2)])
def test_a_restarting_pod_comes_back_after_the_back_off(policy, code):
    sim = cluster()
    pod(sim, "p", policy)
    sim.complete_pod("p", exit_code=code)
    p = sim.get("Pod", "p")
    assert p.status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert p.status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == code
    sim.advance(10)
    p = sim.get("Pod", "p")
    assert p.status["phase"] == "Running" and p.status["containerStatuses"][0]["restartCount"] == 1


def test_each_exit_is_handled_once():
    sim = cluster()
    pod(sim, "p", "OnFailure")
    sim.complete_pod("p", exit_code=1)
    sim.advance(10)
    sim.advance(100)
    assert sim.get("Pod", "p").status["containerStatuses"][0]["restartCount"] == 1
    sim.complete_pod("p", exit_code=0)
    assert sim.get("Pod", "p").status["phase"] == "Succeeded"


def test_a_pod_with_run_seconds_finishes_by_itself_on_time():
    sim = cluster()
    started = sim.now
    p = pod(sim, "p", "Never", run_seconds=20)
    began = p.status["containerStatuses"][0]["state"]["running"]["startedAt"]
    sim.advance(30 - (sim.now - started))
    p = sim.get("Pod", "p")
    assert p.status["phase"] == "Succeeded"
    assert p.status["containerStatuses"][0]["state"]["terminated"]["finishedAt"] == began + 20


def test_run_seconds_with_an_exit_code_crash_loops_an_on_failure_pod():
    sim = cluster()
    pod(sim, "p", "OnFailure", run_seconds=5, exit_code=1)
    sim.advance(5 + 10 + 5 + 20 + 2)        # runs 5 s, waits 10 s, runs 5 s, waits 20 s, runs again
    p = sim.get("Pod", "p")
    assert p.status["phase"] == "Running" and p.status["containerStatuses"][0]["restartCount"] == 2
