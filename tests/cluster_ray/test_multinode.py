"""Many Ray nodes on this machine (ray.cluster_utils.Cluster): placement follows the scheduler, and a
dead Ray node's pods come back on the others, none twice."""

import pytest
import ray

from reconcile.api.model import Deployment
from tests.cluster_ray.support import processes_in, wait_for

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _deployment(name, replicas, selector=None, **container):
    spec = {"terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "command": ["python", "-c", "import time; time.sleep(600)"], **container}]}
    if selector:
        spec["nodeSelector"] = selector
    return Deployment.new(name, "default", spec={
        "replicas": replicas, "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": spec}})


def _running(c, app):
    return [p for p in c.list("Pod", f"app={app}") if p.status.get("phase") == "Running"
            and p.metadata.deletionTimestamp is None]


def test_pods_land_on_the_chosen_ray_node_and_come_back_when_it_dies(tmp_path):
    from ray.cluster_utils import Cluster

    from cluster_ray.kubelet import pod_actor_name
    from cluster_ray.runtime import RAY_NODE, RayCluster

    rc = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "labels": {"zone": "head"}})
    workers = [rc.add_node(num_cpus=1, labels={"zone": zone}) for zone in ("a", "b")]
    rc.wait_for_nodes()
    cluster = None
    try:
        cluster = RayCluster(address=rc.address, data_dir=str(tmp_path / "state"), node_grace=4.0,
                             eviction_timeout=2.0, period=0.3)
        nodes = {n.metadata.labels.get("zone"): n for n in cluster.list("Node")}
        assert sorted(nodes) == ["a", "b", "head"]               # every Ray node, with its Ray labels

        cluster.apply([_deployment("pinned", 2, {"zone": "b"}), _deployment("free", 3)])
        cluster.wait_until(lambda c: len(_running(c, "pinned")) == 2 and len(_running(c, "free")) == 3,
                           timeout=120, what="five running pods")
        for pod in cluster.list("Pod"):                           # the pod's actor runs on its node's Ray node
            actor = ray.get_actor(pod_actor_name(pod.metadata.uid), namespace=cluster.namespace)
            node = cluster.get("Node", pod.spec["nodeName"], None)
            assert ray.get(actor.node_id.remote()) == node.metadata.annotations[RAY_NODE]
        assert {p.spec["nodeName"] for p in _running(cluster, "pinned")} == {nodes["b"].name}

        victim = nodes["a"].name
        lost = {p.metadata.uid for p in cluster.list("Pod") if p.spec.get("nodeName") == victim}
        assert lost
        rc.remove_node(workers[0])                                # zone a's raylet dies
        cluster.wait_until(lambda c: len(_running(c, "free")) == 3 and
                           all(p.spec["nodeName"] != victim for p in _running(c, "free")),
                           timeout=120, what="the free pods running again off the dead node")
        ready = {c.get("type"): c.get("status") for c in cluster.get("Node", victim, None).status["conditions"]}
        assert ready["Ready"] == "Unknown"
        pods = cluster.list("Pod", "app=free")
        assert len(pods) == 3 and not lost & {p.metadata.uid for p in pods}    # replaced, not duplicated
        pods_dir = tmp_path / "state" / "pods"                   # and the lost ones' processes went with
        wait_for(lambda: not any(processes_in(pods_dir / uid) for uid in lost), timeout=30)   # their node
        actors = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == cluster.namespace and a["name"].startswith("pod-")]
        assert len(actors) == len(set(actors)) == len(cluster.list("Pod"))
    finally:
        if cluster is not None:
            cluster.down(grace=1)
        ray.shutdown()
        rc.shutdown()


def test_each_host_has_a_kube_proxy_and_pods_reach_services_on_other_hosts(tmp_path):
    """Two hosts on this machine: the head at the machine's address and a worker raylet at
    127.0.0.2 (Linux answers all of 127/8 locally). The shop's pods run on the worker and listen
    on every address; a client pod on each host asks the service at its own host's kube-proxy."""
    import json
    import pathlib

    from ray.cluster_utils import Cluster

    from cluster_ray.runtime import RayCluster
    from reconcile.api.model import Service

    rc = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "labels": {"zone": "head"}})
    rc.add_node(num_cpus=1, node_ip_address="127.0.0.2", labels={"zone": "b"})
    rc.wait_for_nodes()
    cluster = None
    app = str(pathlib.Path(__file__).with_name("podapp.py"))
    try:
        cluster = RayCluster(address=rc.address, data_dir=str(tmp_path / "state"), period=0.3)
        head_ip = ray.util.get_node_ip_address()
        assert head_ip != "127.0.0.2"
        shop = _deployment("shop", 2, {"zone": "b"}, command=["python", app],
                           image=json.dumps({"env_vars": {"BIND": "0.0.0.0"}}),
                           ports=[{"name": "http", "containerPort": 8080}])
        cluster.apply([shop, Service.new("shop", "default", spec={
            "selector": {"app": "shop"}, "ports": [{"port": 18081, "targetPort": "http"}]})])
        cluster.wait_until(lambda c: len(_running(c, "shop")) == 2 and all(
            any(k.get("type") == "Ready" and k.get("status") == "True" for k in p.status.get("conditions") or ())
            for p in _running(c, "shop")), timeout=120, what="two ready shop pods on the worker")

        code = ("import os, time, urllib.request; "
                "url = 'http://%s:%s/' % (os.environ['SHOP_SERVICE_HOST'], os.environ['SHOP_SERVICE_PORT']); "
                "print(url, os.environ['POD_IP'], urllib.request.urlopen(url, timeout=5).read().decode(), "
                "flush=True); time.sleep(600)")
        cluster.apply([_deployment(f"client-{zone}", 1, {"zone": zone}, command=["python", "-c", code])
                       for zone in ("head", "b")])

        def answers(c):
            out = {}
            for zone in ("head", "b"):
                pods = _running(c, f"client-{zone}")
                text = c.logs(pods[0].name) if pods else ""
                if text:
                    out[zone] = text.split()
            return out

        cluster.wait_until(lambda c: len(answers(c)) == 2, timeout=120, what="both clients' answers")
        got = answers(cluster)
        shop_pods = {p.name for p in _running(cluster, "shop")}
        assert got["head"][1] == head_ip and got["b"][1] == "127.0.0.2"        # each client on its host
        assert got["head"][2] in shop_pods and got["b"][2] in shop_pods       # both reached the worker's pods
        assert got["head"][0] != got["b"][0]         # each host's own kube-proxy (one machine: two ports)
        assert got["head"][0] == "http://%s:%s/" % cluster.service_address("shop")

        proxies = sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                         if a["namespace"] == cluster.namespace and a["name"].startswith("kube-proxy-"))
        assert proxies == sorted([f"kube-proxy-{head_ip}", "kube-proxy-127.0.0.2"])
    finally:
        if cluster is not None:
            cluster.down(grace=1)
        ray.shutdown()
        rc.shutdown()
