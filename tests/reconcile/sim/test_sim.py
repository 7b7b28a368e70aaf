"""The simulator: the real control plane on a virtual clock, deterministic, self-healing."""

from hypothesis import HealthCheck, given, settings, strategies as st

import dsl
from reconcile.controllers.workloads import is_ready
from reconcile.sim import SimCluster

CLUSTER = """
nodes worker x3 { capacity cpu=4 memory=8Gi pods=110 }
deployment web {
  replicas 4
  labels app=web
  strategy rolling max-surge=1 max-unavailable=1
  container main {
    command serve v1
    port http 8080
    requests cpu=500m
  }
}
service web { selector app=web port 80 -> http }
"""


def started(seed=0, text=CLUSTER, **kw):
    sim = SimCluster(seed=seed, node_grace=20.0, eviction_timeout=30.0, **kw)
    sim.apply(dsl.parse(text))
    sim.run_until_stable()
    return sim


def running(sim, selector="app=web"):
    return [p for p in sim.list("Pod", selector) if p.status.get("phase") == "Running"
            and p.metadata.deletionTimestamp is None]


def test_a_deployment_comes_up_running_and_ready_behind_its_service(sim_cluster):
    sim_cluster.apply(dsl.parse(CLUSTER))
    settled = sim_cluster.run_until_stable()
    pods = running(sim_cluster)
    assert len(pods) == 4 and all(is_ready(p) for p in pods)
    assert settled < 5.0                                   # simulated seconds, not wall time
    (subset,) = sim_cluster.get("Endpoints", "web").spec["subsets"]
    assert sorted(a["targetRef"]["name"] for a in subset["addresses"]) == sorted(p.name for p in pods)
    assert subset["ports"][0]["port"] == 8080


def test_same_seed_same_event_trace():
    traces = []
    for _ in range(2):
        sim = started(seed=7)
        sim.fail_node("worker-1")
        sim.run_until_stable()
        sim.apply(dsl.parse(CLUSTER.replace("serve v1", "serve v2")))
        sim.run_until_stable()
        traces.append(sim.events())
    assert traces[0] == traces[1] and len(traces[0]) > 10


def test_a_failed_node_is_tainted_and_its_pods_come_back_elsewhere():
    sim = started()
    victims = {p.name for p in sim.list("Pod") if p.spec.get("nodeName") == "worker-1"}
    assert victims
    sim.fail_node("worker-1")
    sim.advance(25)
    node = sim.get("Node", "worker-1", None)
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in node.spec["taints"])
    assert [c["status"] for c in node.status["conditions"] if c["type"] == "Ready"] == ["Unknown"]
    sim.run_until_stable()
    pods = running(sim)
    assert len(pods) == 4 and all(p.spec["nodeName"] != "worker-1" for p in pods)
    assert any(e.reason == "TaintManagerEviction" for e in sim.events())


def test_a_crashing_container_restarts_with_doubling_backoff():
    sim = started()
    pod = running(sim)[0].name
    delays = []
    for _ in range(4):
        sim.crash_pod(pod)
        p = sim.get("Pod", pod)
        assert p.status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        delays.append(p.status["sim"]["restartAt"] - sim.clock.now)
        sim.advance(delays[-1])
        assert sim.get("Pod", pod).status["phase"] == "Running"
    assert delays == [10.0, 20.0, 40.0, 80.0]
    assert sim.get("Pod", pod).status["containerStatuses"][0]["restartCount"] == 4


def test_a_never_restarting_pod_fails_for_good():
    from reconcile.api.model import Pod
    sim = started()
    sim.store.create(Pod.new("once", "default", spec={"restartPolicy": "Never",
                                                      "containers": [{"name": "c", "command": ["x"]}]}))
    sim.run_until_stable()
    assert sim.get("Pod", "once").status["phase"] == "Running"
    sim.crash_pod("once")
    sim.run_until_stable()
    p = sim.get("Pod", "once")
    assert p.status["phase"] == "Failed" and p.status["containerStatuses"][0]["restartCount"] == 0


def test_an_unready_pod_leaves_the_service():
    sim = started()
    pod = running(sim)[0].name
    sim.set_ready(pod, False)
    (subset,) = sim.get("Endpoints", "web").spec["subsets"]
    assert pod not in [a["targetRef"]["name"] for a in subset["addresses"]]
    assert pod in [a["targetRef"]["name"] for a in subset["notReadyAddresses"]]


def test_unschedulable_pods_say_why():
    sim = started(text="nodes small x2 { capacity cpu=1 memory=1Gi pods=10 }\n"
                       "deployment big { labels app=big container c { command x\n requests cpu=2 } }")
    (pod,) = sim.list("Pod")
    (cond,) = [c for c in pod.status["conditions"] if c["type"] == "PodScheduled"]
    assert cond["message"] == "0/2 nodes are available: 2 Insufficient cpu."


def test_deleting_a_deployment_collects_its_replicasets_and_pods():
    sim = started()
    sim.store.delete("Deployment", "web")
    sim.run_until_stable()
    assert sim.list("ReplicaSet") == [] and sim.list("Pod") == []


def test_deleting_a_namespace_removes_everything_in_it():
    sim = started(text="namespace shop\n" + CLUSTER)
    assert sim.list("Pod", namespace="shop")
    sim.store.delete("Namespace", "shop", None)
    sim.run_until_stable()
    assert sim.list("Pod", namespace="shop") == [] and sim.list("Deployment", namespace="shop") == []
    assert sim.store.snapshot().get("Namespace", "shop", None) is None


def test_rollback_restores_the_previous_template():
    sim = started()
    sim.apply(dsl.parse(CLUSTER.replace("serve v1", "serve v2")))
    sim.run_until_stable()
    sim.rollout_undo("web")
    sim.run_until_stable()
    assert {tuple(p.spec["containers"][0]["command"]) for p in running(sim)} == {("serve", "v1")}


# -- properties: convergence and rollout bounds under failures, crashes and scaling

ops = st.lists(st.one_of(
    st.tuples(st.just("fail"), st.integers(1, 3)),
    st.tuples(st.just("crash"), st.integers(0, 9)),
    st.tuples(st.just("scale"), st.integers(0, 8)),
    st.tuples(st.just("image"), st.integers(1, 3)),
    st.tuples(st.just("wait"), st.integers(1, 30)),
), max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicas=st.integers(1, 6), surge=st.integers(0, 2), unavailable=st.integers(0, 2), schedule=ops,
       seed=st.integers(0, 3))
def test_converges_and_respects_rollout_bounds(replicas, surge, unavailable, schedule, seed):
    if surge == 0 and unavailable == 0:
        unavailable = 1
    text = CLUSTER.replace("replicas 4", f"replicas {replicas}").replace(
        "max-surge=1 max-unavailable=1", f"max-surge={surge} max-unavailable={unavailable}")
    sim = started(seed=seed, text=text)
    failed = set()
    disturbed = False
    want = replicas
    for op, arg in schedule:
        if op == "fail" and len(failed) < 2:
            failed.add(f"worker-{arg}")
            sim.fail_node(f"worker-{arg}")
        elif op == "crash":
            pods = running(sim)
            disturbed = True
            if pods:
                sim.crash_pod(pods[arg % len(pods)].name)
        elif op == "scale":
            want = arg
            sim.scale("Deployment", "web", arg)
        elif op == "image":
            sim.run_until_stable()
            sim.apply(dsl.parse(text.replace("replicas", "replicas", 1).replace(f"replicas {replicas}",
                                                                                f"replicas {want}")
                                .replace("serve v1", f"serve v{arg + 1}")))
            # during the rollout: never more than replicas + surge pods, never fewer than
            # replicas - unavailable available (when no failure or crash intervenes)
            if not failed:
                for _ in range(120):
                    sim.advance(0.5)
                    pods = [p for p in sim.list("Pod", "app=web") if p.metadata.deletionTimestamp is None
                            and p.status.get("phase") != "Failed"]
                    assert len(pods) <= want + surge
                    if not disturbed:
                        available = [p for p in pods if is_ready(p)]
                        assert len(available) >= want - unavailable
        else:
            sim.advance(arg)
    sim.run_until_stable()
    pods = running(sim)
    assert len(pods) == want
    assert all(p.spec["nodeName"] not in failed for p in pods)
    names = [p.name for p in sim.list("Pod")]
    assert len(names) == len(set(names))
