"""The control plane on a real local Ray: pods are Ray actors running real processes."""

import json
import pathlib
import threading
import time
import urllib.request

import pytest

from tests.cluster_ray.support import processes_with

from reconcile.model import Deployment, Service

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MARK = "reconcile-test-marker-7f3a"




def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.status.get("conditions") or ())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from cluster_ray.runtime import RayCluster
    c = RayCluster(num_cpus=2, data_dir=str(tmp_path_factory.mktemp("data")), period=0.3)
    yield c
    c.down(grace=2)


def test_a_deployment_runs_real_processes_and_scales_down_and_up(cluster):
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
    assert len(processes_with(MARK)) == 2                  # one real process per pod
    logs = cluster.logs(pods[0].name)
    assert logs.strip() == f"hello from {pods[0].name} default"

    cluster.scale("Deployment", "web", 1)
    cluster.wait_until(lambda c: len(c.list("Pod", "app=web")) == 1 and len(processes_with(MARK)) == 1,
                       timeout=30, what="one pod and one process")
    cluster.scale("Deployment", "web", 3)
    cluster.wait_until(lambda c: sum(_ready(p) for p in c.list("Pod", "app=web")) == 3 and
                       len(processes_with(MARK)) == 3, timeout=60, what="three ready pods and processes")
    cluster.scale("Deployment", "web", 0)
    cluster.wait_until(lambda c: not c.list("Pod", "app=web") and not processes_with(MARK), timeout=30,
                       what="no pod and no process")


APP = str(pathlib.Path(__file__).with_name("podapp.py"))


def _app(name, replicas, greeting, **strategy):
    return Deployment.new(name, "default", spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": strategy or {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{"name": "http", "command": ["python", APP, MARK],
                            "image": json.dumps({"env_vars": {"GREETING": greeting}}),
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"},
                                               "periodSeconds": 1, "failureThreshold": 1}}]}}})


def _get(address, timeout=2.0):
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/", timeout=timeout) as r:
        return r.read().decode()


def _ready_endpoints(c, name):
    ep = c.store.snapshot().get("Endpoints", name, "default")
    return sum(len(s.get("addresses") or ()) for s in (ep.spec.get("subsets") or ())) if ep else 0


def test_a_service_spreads_requests_over_ready_pods_and_leaves_out_an_unready_one(cluster):
    cluster.apply([_app("shop", 2, "hello"),
                   Service.new("shop", "default", spec={"selector": {"app": "shop"},
                                                        "ports": [{"port": 18080, "targetPort": "http"}]})])
    cluster.wait_until(lambda c: _ready_endpoints(c, "shop") == 2, timeout=90, what="two ready endpoints")
    address = cluster.service_address("shop")
    pods = sorted(p.name for p in cluster.list("Pod", "app=shop"))
    answers = [_get(address) for _ in range(20)]
    assert sorted({a.split()[0] for a in answers}) == pods            # both pods answered
    assert all(a.endswith(" hello") for a in answers)                 # the image's env_vars reached them

    victim = cluster.get("Pod", pods[0])
    pathlib.Path(cluster.root, "pods", victim.metadata.uid, "unready").write_text("")
    cluster.wait_until(lambda c: _ready_endpoints(c, "shop") == 1, timeout=30, what="one ready endpoint")
    assert {_get(address).split()[0] for _ in range(10)} == {pods[1]}
    assert any(e[2] == "Unhealthy" and "503" in e[3] for e in cluster.events())


def test_a_rolling_update_of_the_image_env_keeps_the_service_answering(cluster):
    cluster.wait_until(lambda c: _ready_endpoints(c, "shop") >= 1, timeout=30, what="the shop served")
    for p in cluster.list("Pod", "app=shop"):           # the previous test's unready pod: ready again
        pathlib.Path(cluster.root, "pods", p.metadata.uid, "unready").unlink(missing_ok=True)
    cluster.wait_until(lambda c: _ready_endpoints(c, "shop") == 2, timeout=30, what="two ready endpoints")
    address = cluster.service_address("shop")
    failures, answers, stop = [], [], threading.Event()

    def client():
        while not stop.is_set():
            try:
                answers.append(_get(address))
            except OSError as e:
                failures.append(repr(e))
            time.sleep(0.05)

    t = threading.Thread(target=client)
    t.start()
    try:
        cluster.apply([_app("shop", 2, "v2")])
        cluster.wait_until(lambda c: sorted(p.status.get("phase") for p in c.list("Pod", "app=shop")) ==
                           ["Running", "Running"] and all(_ready(p) for p in c.list("Pod", "app=shop"))
                           and all(" v2" in _get(address) for _ in range(4)), timeout=120, what="the rollout")
    finally:
        stop.set()
        t.join()
    assert failures == []
    assert answers[0].endswith(" hello") and any(a.endswith(" v2") for a in answers)
    assert all(_get(address).endswith(" v2") for _ in range(6))            # only new pods answer now
    assert len(cluster.list("ReplicaSet")) >= 2


def test_crash_loop_back_off_and_a_failing_liveness_probe_restart_containers(cluster):
    crash = Deployment.new("crash", "default", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "crash"}},
        "template": {"metadata": {"labels": {"app": "crash"}}, "spec": {"containers": [
            {"name": "c", "command": ["python", "-c", f"import sys; print('bye'); sys.exit(2)  # {MARK}"]}]}}})
    unlive = Deployment.new("unlive", "default", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "unlive"}},
        "template": {"metadata": {"labels": {"app": "unlive"}}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "command": ["python", "-c", f"import time; time.sleep(600)  # {MARK}"],
                            "livenessProbe": {"exec": {"command": ["test", "-e", "no-such-file"]},
                                              "periodSeconds": 1, "failureThreshold": 2}}]}}})
    cluster.apply([crash, unlive])

    def state(app):
        pods = cluster.list("Pod", f"app={app}")
        return pods[0].status["containerStatuses"][0] if pods and pods[0].status.get("containerStatuses") else {}

    cluster.wait_until(lambda c: state("crash").get("restartCount", 0) >= 1 and
                       (state("crash").get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff",
                       timeout=60, what="CrashLoopBackOff")
    assert state("crash")["lastState"]["terminated"]["exitCode"] == 2
    cluster.wait_until(lambda c: state("unlive").get("restartCount", 0) >= 1, timeout=60, what="a liveness restart")
    assert state("unlive")["lastState"]["terminated"]["exitCode"] in (137, 143)
    assert any(e[2] == "Killing" and "failed liveness probe" in e[3] for e in cluster.events())


def test_down_leaves_no_process_behind(cluster):
    assert processes_with(MARK)                             # the earlier tests' pods are running
    cluster.down(grace=2)
    assert processes_with(MARK) == []
