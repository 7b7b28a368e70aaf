"""The control plane on a real local Ray: pods are Ray actors running real processes."""

import json
import os
import pathlib
import threading
import time
import urllib.request

import pytest
import ray

from tests.cluster_ray.support import processes_with

from reconcile.api.model import Deployment, Service

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MARK = "reconcile-test-marker-7f3a"




def _ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.status.get("conditions") or ())


SECRET = "RECONCILE_TEST_SECRET"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from cluster_ray.runtime import RayCluster
    saved = os.environ.get(SECRET)
    os.environ[SECRET] = "s3cret-of-the-control-plane"      # so the Ray started here, and its workers, have it
    try:
        c = RayCluster(num_cpus=2, data_dir=str(tmp_path_factory.mktemp("data")), period=0.3)
    finally:
        if saved is None:
            os.environ.pop(SECRET)
        else:
            os.environ[SECRET] = saved
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
    # (Ready comes with the process's start, its first line a moment later)
    cluster.wait_until(lambda c: c.logs(pods[0].name), timeout=10, what="a line in the log")
    assert cluster.logs(pods[0].name).strip() == f"hello from {pods[0].name} default"

    cluster.scale("Deployment", "web", 1)
    cluster.wait_until(lambda c: len(c.list("Pod", "app=web")) == 1 and len(processes_with(MARK)) == 1,
                       timeout=30, what="one pod and one process")
    cluster.scale("Deployment", "web", 3)
    cluster.wait_until(lambda c: sum(_ready(p) for p in c.list("Pod", "app=web")) == 3 and
                       len(processes_with(MARK)) == 3, timeout=60, what="three ready pods and processes")
    cluster.scale("Deployment", "web", 0)
    cluster.wait_until(lambda c: not c.list("Pod", "app=web") and not processes_with(MARK), timeout=30,
                       what="no pod and no process")


def test_a_pod_has_its_own_environment_not_the_one_of_the_ray_worker_running_it(cluster):
    """The Ray workers inherited the control plane's environment; a pod gets its own variables,
    its image's and a PATH, and `$(VAR)` does not reach the rest."""
    code = ("import json, os, sys, time; print(json.dumps([dict(os.environ), sys.argv[1:]]), flush=True); "
            "time.sleep(600)")
    cluster.apply([Deployment.new("env", "default", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "env"}},
        "template": {"metadata": {"labels": {"app": "env"}}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "command": ["python", "-c", code], "args": [f"$({SECRET})", f"${SECRET}"],
                            "image": json.dumps({"env_vars": {"GREETING": "hi"}}),
                            "env": [{"name": "MINE", "value": f"$(POD_NAME)-$({SECRET})"}]}]}}})])
    cluster.wait_until(lambda c: [p for p in c.list("Pod", "app=env") if p.status.get("phase") == "Running"],
                       timeout=90, what="the pod running")
    cluster.wait_until(lambda c: c.logs(c.list("Pod", "app=env")[0].name), timeout=30, what="its first line")
    pod = cluster.list("Pod", "app=env")[0]
    text = cluster.logs(pod.name)
    assert "s3cret" not in text
    env, args = json.loads(text)
    assert args == [f"$({SECRET})", f"${SECRET}"] and env["MINE"] == f"{pod.name}-$({SECRET})"
    assert env["GREETING"] == "hi" and env["POD_NAME"] == pod.name and env["HOSTNAME"] == pod.name
    assert not {k for k in env if k.startswith("RAY_")}
    allowed = {"PATH", "PYTHONPATH", "GREETING", "MINE", "LC_CTYPE", "POD_NAME", "POD_NAMESPACE", "POD_UID",
               "POD_IP", "NODE_NAME", "HOSTNAME"}
    assert {k for k in env if k not in allowed and "_SERVICE_" not in k} == set()
    cluster.delete("Deployment", "env")
    cluster.wait_until(lambda c: not c.list("Pod", "app=env"), timeout=30, what="the pod gone")


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


def test_a_pod_reaches_a_service_through_the_kube_proxy_of_its_host(cluster):
    cluster.wait_until(lambda c: _ready_endpoints(c, "shop") == 2, timeout=30, what="the shop served")
    code = ("import os, time, urllib.request; "
            "url = 'http://%s:%s/' % (os.environ['SHOP_SERVICE_HOST'], os.environ['SHOP_SERVICE_PORT']); "
            f"print(url, urllib.request.urlopen(url, timeout=5).read().decode(), flush=True); time.sleep(600)  # {MARK}")
    cluster.apply([Deployment.new("client", "default", spec={
        "replicas": 1, "selector": {"matchLabels": {"app": "client"}},
        "template": {"metadata": {"labels": {"app": "client"}}, "spec": {
            "terminationGracePeriodSeconds": 1, "containers": [{"name": "c", "command": ["python", "-c", code]}]}}})])
    cluster.wait_until(lambda c: [p for p in c.list("Pod", "app=client") if _ready(p)] and
                       c.logs(c.list("Pod", "app=client")[0].name), timeout=60, what="the client's answer")
    url, answer = cluster.logs(cluster.list("Pod", "app=client")[0].name).split(maxsplit=1)
    host, port = cluster.service_address("shop")
    assert url == f"http://{host}:{port}/"            # this host's kube-proxy, as the Service's status says
    assert answer.split()[0] in {p.name for p in cluster.list("Pod", "app=shop")}

    # one kube-proxy per machine (every Ray node here shares one address), a named actor of the cluster
    proxies = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
               if a["namespace"] == cluster.namespace and a["name"].startswith("kube-proxy-")]
    assert proxies == [f"kube-proxy-{ray.util.get_node_ip_address()}"]
    cluster.scale("Deployment", "client", 0)


def test_an_image_that_cannot_be_pulled_backs_off_and_is_tried_again(cluster):
    """A runtime_env Ray cannot set up (a package not in Ray's store) is a failed image pull."""
    def app(image):
        return Deployment.new("pull", "default", spec={
            "replicas": 1, "selector": {"matchLabels": {"app": "pull"}},
            "template": {"metadata": {"labels": {"app": "pull"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "c", "image": image,
                                "command": ["python", "-c", f"import time; time.sleep(600)  # {MARK}-pull"]}]}}})

    cluster.apply([app(json.dumps({"working_dir": "gcs://_ray_pkg_0123456789abcdef.zip"}))])
    reasons = set()

    def pulls(c):
        for p in c.list("Pod", "app=pull"):
            for cs in p.status.get("containerStatuses") or ():
                if "waiting" in cs["state"]:
                    reasons.add(cs["state"]["waiting"]["reason"])
        return [e for e in c.events() if e[2] == "Failed" and e[3].startswith("Failed to pull image")]

    cluster.wait_until(lambda c: len(pulls(c)) >= 2, timeout=90, what="a second pull")
    first, second = pulls(cluster)[:2]
    assert second[0] - first[0] >= 9.0                      # 10 s of back-off between the tries
    assert {"ErrImagePull", "ImagePullBackOff"} <= reasons
    assert "_ray_pkg_0123456789abcdef.zip" in first[3]
    assert any(e[2] == "BackOff" and e[3].startswith("Back-off pulling image") for e in cluster.events())
    pod = cluster.list("Pod", "app=pull")[0]
    assert pod.status["phase"] == "Pending" and not processes_with(MARK + "-pull")
    assert len(cluster.list("Pod", "app=pull")) == 1                 # the same pod, tried again

    cluster.apply([app("")])                               # a good image rolls the deployment
    cluster.wait_until(lambda c: [p for p in c.list("Pod", "app=pull") if _ready(p)], timeout=60,
                       what="the fixed pod running")
    assert len(processes_with(MARK + "-pull")) == 1
    cluster.scale("Deployment", "pull", 0)


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
