"""Many Ray nodes on this machine (ray.cluster_utils.Cluster): placement follows the scheduler, and a
dead Ray node's pods come back on the others, none twice."""

import pytest
import ray

from reconcile.model import Deployment

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _deployment(name, replicas, selector=None):
    spec = {"terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "command": ["python", "-c", "import time; time.sleep(600)"]}]}
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
        actors = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == cluster.namespace and a["name"].startswith("pod-")]
        assert len(actors) == len(set(actors)) == len(cluster.list("Pod"))
    finally:
        if cluster is not None:
            cluster.down(grace=1)
        ray.shutdown()
        rc.shutdown()
