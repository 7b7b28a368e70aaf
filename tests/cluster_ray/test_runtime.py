"""The control plane on a real local Ray: pods are Ray actors running real processes."""

import os

import pytest

from reconcile.model import Deployment

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MARK = "reconcile-test-marker-7f3a"


def _processes_with(marker):
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(d))
            except OSError:
                pass
    return found


def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.status.get("conditions") or ())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from cluster_ray.runtime import RayCluster
    c = RayCluster(num_cpus=2, data_dir=str(tmp_path_factory.mktemp("data")), period=0.3)
    yield c
    c.down(grace=2)


def test_a_deployment_runs_real_processes_scales_down_and_leaves_none_behind(cluster):
    code = (f"import os, time; print('hello from', os.environ['POD_NAME'], os.environ['POD_NAMESPACE'], "
            f"flush=True); time.sleep(600)  # {MARK}")
    cluster.apply([Deployment.new("web", "default", spec={
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "c", "command": ["python", "-c", code]}]}}})])
    cluster.wait_until(lambda c: sum(_ready(p) for p in c.list("Pod")) == 2, timeout=90, what="two ready pods")
    pods = cluster.list("Pod")
    ray_nodes = {n.name for n in cluster.list("Node")}
    assert all(p.status["phase"] == "Running" and p.spec["nodeName"] in ray_nodes for p in pods)
    assert len(_processes_with(MARK)) == 2                  # one real process per pod
    logs = cluster.logs(pods[0].name)
    assert logs.strip() == f"hello from {pods[0].name} default"

    cluster.scale("Deployment", "web", 1)
    cluster.wait_until(lambda c: len(c.list("Pod")) == 1 and len(_processes_with(MARK)) == 1, timeout=30,
                       what="one pod and one process")

    cluster.down(grace=2)
    assert _processes_with(MARK) == []
