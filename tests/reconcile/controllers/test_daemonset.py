"""DaemonSet controller, (state) -> actions, and DaemonSets in the simulator."""

import pytest

from reconcile.engine.actions import Create, UpdateStatus
from reconcile.controllers.workloads import is_ready
from reconcile.controllers.daemonset import DAEMON_TOLERATIONS, HASH_LABEL, reconcile_daemonset, target_node
from reconcile.api.errors import Invalid
from reconcile.api.model import DaemonSet, Node, Pod

from tests.reconcile.controllers.helpers import State, apply, settle as _settle, words

LABELS = {"app": "agent"}


# ---------------------------------------------------------------- building states

def template(image="v1", **spec):
    return {"metadata": {"labels": LABELS}, "spec": {"containers": [{"name": "c", "image": image}], **spec}}


def daemonset(s, strategy=None, **template_spec):
    spec = {"selector": {"matchLabels": LABELS}, "template": template(**template_spec)}
    if strategy is not None:
        spec["updateStrategy"] = strategy
    return s.add(DaemonSet.new("agent", "default", spec=spec))


def nodes(s, *names, **kw):
    for n in names:
        s.add(Node.new(n, **kw))


def run(s):
    return reconcile_daemonset(s.snapshot, ("DaemonSet", "default", "agent"), s.now)


def _bind_and_start(s):
    """The scheduler and the kubelets: new pods bound where their affinity says, running and ready."""
    for p in s.store.list("Pod"):
        if not p.spec.get("nodeName"):
            s.store.bind("default", p.name, target_node(p))
            s.status(s.store.get("Pod", p.name), phase="Running",
                     conditions=[{"type": "Ready", "status": "True", "lastTransitionTime": s.now}])


def settle(s):
    return _settle(s, reconcile_daemonset, ("DaemonSet", "default", "agent"), after=_bind_and_start)


def set_image(s, image):
    ds = s.store.get("DaemonSet", "agent")
    t = ds.spec["template"].transform(["spec", "containers", 0, "image"], image)
    s.store.update(ds.set(spec=ds.spec.set("template", t)))


def pods_on(s, node):
    return sorted(p.name for p in s.store.list("Pod") if target_node(p) == node)


def summary(result):
    """The actions as sorted words; a created pod is named by its node."""
    return sorted(words(result, create=lambda o: f"Create {target_node(o)}"))


# ---------------------------------------------------------------- the table
# Each setup builds a state and returns the pods it names; the expected actions use those names.

def _three_nodes(s):
    nodes(s, "n1", "n2", "n3")
    daemonset(s)
    return {}


def _converged(s):
    _three_nodes(s)
    settle(s)
    return {}


def _node_added(s):
    _converged(s)
    nodes(s, "n4")
    return {}


def _selector_skips(s):
    nodes(s, "ssd-1", labels={"disk": "ssd"})
    nodes(s, "hdd-1", labels={"disk": "hdd"})
    daemonset(s, nodeSelector={"disk": "ssd"})
    return {}


def _affinity_skips(s):
    nodes(s, "a-1", labels={"zone": "a"})
    nodes(s, "b-1", labels={"zone": "b"})
    daemonset(s, affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}}})
    return {}


def _tainted(s):
    nodes(s, "plain")
    nodes(s, "gpu", spec={"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]})
    nodes(s, "cordoned", spec={"unschedulable": True,
                               "taints": [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]})
    nodes(s, "unreachable", spec={"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]})
    daemonset(s)
    return {}


def _extra_pods(s):
    _converged(s)
    (keep,) = pods_on(s, "n1")
    s.now += 1
    twin = s.store.get("Pod", keep)
    s.add(Pod.new("agent-twin", "default", labels=twin.metadata.labels, spec=twin.spec).set(
        metadata=twin.metadata.set(name="agent-twin", uid="", resourceVersion="")))
    return {"twin": "agent-twin"}


def _node_relabelled(s):
    nodes(s, "n1", labels={"disk": "ssd"})
    daemonset(s, nodeSelector={"disk": "ssd"})
    settle(s)
    node = s.store.get("Node", "n1", None)
    s.store.update(node.set(metadata=node.metadata.set(labels=node.metadata.labels.set("disk", "hdd"))))
    return {"pod": pods_on(s, "n1")[0]}


def _no_schedule_taint_later(s):
    _converged(s)
    node = s.store.get("Node", "n1", None)
    s.store.update(node.set(spec=node.spec.set("taints", [{"key": "gpu", "effect": "NoSchedule"}])))
    return {}


def _no_execute_taint_later(s):
    _converged(s)
    node = s.store.get("Node", "n1", None)
    s.store.update(node.set(spec=node.spec.set("taints", [{"key": "gpu", "effect": "NoExecute"}])))
    return {"pod": pods_on(s, "n1")[0]}


def _pod_failed(s):
    _converged(s)
    (name,) = pods_on(s, "n2")
    s.status(s.store.get("Pod", name), phase="Failed", conditions=[{"type": "Ready", "status": "False"}])
    return {"pod": name}


def _node_gone_before_scheduling(s):
    _three_nodes(s)
    apply(s, run(s))            # created, not yet bound
    (name,) = pods_on(s, "n3")
    s.store.delete("Node", "n3", None)
    return {"pod": name}


def _new_image(s, strategy=None):
    nodes(s, "n1", "n2", "n3")
    daemonset(s, strategy=strategy)
    settle(s)
    set_image(s, "v2")
    return {"n1": pods_on(s, "n1")[0], "n2": pods_on(s, "n2")[0], "n3": pods_on(s, "n3")[0]}


def _new_image_one_in_progress(s):
    named = _new_image(s)
    s.store.delete("Pod", named["n1"])
    apply(s, run(s))            # the replacement is made, not yet running
    return named


def _new_image_on_delete(s):
    return _new_image(s, strategy={"type": "OnDelete"})


def _new_image_with_surge(s):
    return _new_image(s, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})


def _new_image_two_unavailable(s):
    return _new_image(s, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}})


TABLE = [
    ("a new daemonset makes a pod for every node", _three_nodes,
     ["Create n1", "Create n2", "Create n3", "Status"]),
    ("a daemonset with a ready pod on every node does nothing", _converged, []),
    ("a node added later gets a pod", _node_added, ["Create n4", "Status"]),
    ("a node without the selected labels gets none", _selector_skips, ["Create ssd-1", "Status"]),
    ("a node outside the required node affinity gets none", _affinity_skips, ["Create b-1", "Status"]),
    ("an untolerated taint keeps a pod off; cordoned and unreachable nodes are tolerated", _tainted,
     ["Create cordoned", "Create plain", "Create unreachable", "Status"]),
    ("of two pods on a node the newer goes", _extra_pods, ["Delete {twin}"]),
    ("a node that stops matching loses its pod", _node_relabelled, ["Delete {pod}", "Status"]),
    ("a NoSchedule taint added later leaves the running pod", _no_schedule_taint_later, ["Status"]),
    ("a NoExecute taint added later removes the pod", _no_execute_taint_later, ["Delete {pod}", "Status"]),
    ("a failed pod is deleted", _pod_failed, ["Delete {pod}", "Event FailedDaemonPod", "Status"]),
    ("an unscheduled pod for a node that is gone is deleted", _node_gone_before_scheduling,
     ["Delete {pod}", "Status"]),
    ("a new image replaces one node's pod at a time", _new_image, ["Delete {n1}", "Status"]),
    ("no more while a new pod is not yet available", _new_image_one_in_progress, ["Status"]),
    ("on-delete leaves old pods alone", _new_image_on_delete, ["Status"]),
    ("max-unavailable 50% of 3 replaces two at a time", _new_image_two_unavailable,
     ["Delete {n1}", "Delete {n2}", "Status"]),
    ("with surge a new pod starts beside the old one", _new_image_with_surge, ["Create n1", "Status"]),
]


@pytest.mark.parametrize("setup, expected", [(setup, want) for _, setup, want in TABLE],
                         ids=[name for name, _, _ in TABLE])
def test_daemonset_controller(setup, expected):
    s = State()
    named = setup(s)
    assert summary(run(s)) == sorted(e.format(**named) for e in expected)


# ---------------------------------------------------------------- the details

def test_a_daemon_pod_names_its_node_by_affinity_and_tolerates_node_trouble():
    s = State()
    nodes(s, "n1")
    daemonset(s, affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 1, "preference": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}]}})
    (create,) = [a for a in run(s).actions if isinstance(a, Create)]
    p = create.object
    assert "nodeName" not in p.spec            # the scheduler binds it
    affinity = p.spec["affinity"]["nodeAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"] == {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]}
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"] == 1     # kept
    keys = {(t["key"], t["effect"]) for t in p.spec["tolerations"]}
    assert keys == {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
                    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                    ("node.kubernetes.io/unschedulable", "NoSchedule")}
    assert len(p.metadata.labels[HASH_LABEL]) == 10 and p.metadata.ownerReferences[0].kind == "DaemonSet"


def test_a_toleration_the_template_has_is_not_added_twice_and_host_network_tolerates_no_network():
    s = State()
    nodes(s, "n1")
    daemonset(s, hostNetwork=True, tolerations=[dict(DAEMON_TOLERATIONS[0])])
    (create,) = [a for a in run(s).actions if isinstance(a, Create)]
    keys = [t["key"] for t in create.object.spec["tolerations"]]
    assert keys.count("node.kubernetes.io/not-ready") == 1 and "node.kubernetes.io/network-unavailable" in keys


def test_the_status_counts_nodes():
    s = State()
    nodes(s, "n1", "n2", labels={"disk": "ssd"})
    nodes(s, "n3")
    daemonset(s, nodeSelector={"disk": "ssd"})
    settle(s)
    stray = s.store.get("Pod", pods_on(s, "n1")[0])
    s.add(Pod.new("agent-stray", "default", labels=stray.metadata.labels, spec=stray.spec.set("nodeName", "n3")).set(
        metadata=stray.metadata.set(name="agent-stray", uid="", resourceVersion="")))
    set_image(s, "v2")
    s.status(s.store.get("Pod", pods_on(s, "n2")[0]), conditions=[{"type": "Ready", "status": "False"}])
    st = [a.object.status for a in run(s).actions if isinstance(a, UpdateStatus)][0]
    assert {k: st[k] for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                               "numberReady", "numberAvailable", "numberUnavailable", "updatedNumberScheduled",
                               "observedGeneration")} == {
        "desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberMisscheduled": 1, "numberReady": 1,
        "numberAvailable": 1, "numberUnavailable": 1, "updatedNumberScheduled": 0, "observedGeneration": 2}


def test_min_ready_seconds_holds_back_availability_and_wakes_the_daemonset():
    s = State()
    nodes(s, "n1")
    ds = daemonset(s)
    s.store.update(ds.set(spec=ds.spec.set("minReadySeconds", 30)))
    settle(s)
    result = run(s)
    assert result.requeue_after == 30.0
    assert s.store.get("DaemonSet", "agent").status["numberAvailable"] == 0


def test_orphans_matching_the_selector_are_adopted():
    s = State()
    nodes(s, "n1")
    daemonset(s)
    s.add(Pod.new("lost", "default", labels=LABELS, spec={"nodeName": "n1", "containers": [{"name": "c"}]}))
    (update,) = run(s).actions
    assert update.object.name == "lost" and update.object.metadata.ownerReferences[0].kind == "DaemonSet"


def test_a_selector_that_misses_the_template_does_nothing_but_warn():
    s = State()
    nodes(s, "n1")
    ds = DaemonSet.new("agent", "default", spec={"selector": {"matchLabels": {"app": "other"}}, "template": template()})
    with pytest.raises(Invalid, match="`selector` does not match template `labels`"):
        s.add(ds)                                       # refused on every write, as Kubernetes refuses it
    s.add_unvalidated(ds)                               # but one stored before that is not acted on
    assert summary(run(s)) == ["Event SelectorMismatch"]


# ---------------------------------------------------------------- in the simulator

def _sim():
    from reconcile.sim import SimCluster
    sim = SimCluster(seed=5, node_grace=20.0, eviction_timeout=30.0)
    sim.apply([Node.new(f"n{i}", labels={"disk": "ssd"}) for i in (1, 2, 3)])
    return sim


def _ds(sim, image="v1", **spec):
    sim.apply([DaemonSet.new("agent", "default", spec={"selector": {"matchLabels": LABELS},
                                                       "template": template(image, **spec)})])


def _per_node(sim):
    out: dict = {}
    for p in sim.list("Pod", "app=agent"):
        out.setdefault(p.spec.get("nodeName"), []).append(p)
    return out


def test_in_the_simulator_one_pod_per_node_also_on_a_node_added_later():
    sim = _sim()
    _ds(sim)
    sim.run_until_stable()
    placed = _per_node(sim)
    assert sorted(placed) == ["n1", "n2", "n3"] and all(len(v) == 1 for v in placed.values())
    assert all(is_ready(p) for ps in placed.values() for p in ps)
    sim.apply([Node.new("n4")])
    sim.run_until_stable()
    assert sorted(_per_node(sim)) == ["n1", "n2", "n3", "n4"]
    st = sim.get("DaemonSet", "agent").status
    assert (st["desiredNumberScheduled"], st["numberAvailable"], st["updatedNumberScheduled"]) == (4, 4, 4)


def test_in_the_simulator_a_node_not_matching_the_node_selector_gets_no_pod():
    sim = _sim()
    sim.apply([Node.new("hdd-1", labels={"disk": "hdd"})])
    _ds(sim, nodeSelector={"disk": "ssd"})
    sim.run_until_stable()
    assert sorted(_per_node(sim)) == ["n1", "n2", "n3"]
    assert sim.get("DaemonSet", "agent").status["desiredNumberScheduled"] == 3


def test_in_the_simulator_a_new_image_rolls_node_by_node_within_max_unavailable():
    sim = _sim()
    _ds(sim)
    sim.run_until_stable()
    # the ready daemon pods, pod name -> node, kept at every write; the nodes their new pods came to
    ready = {p.name: p.spec["nodeName"] for p in sim.list("Pod", "app=agent") if is_ready(p)}
    worst, order = [0], []

    def see(event):
        o = event.object
        if o.kind != "Pod":
            return
        if event.type != "DELETED" and is_ready(o) and o.spec.get("nodeName"):
            if o.name not in ready and o.spec["containers"][0]["image"] == "v2":
                order.append(o.spec["nodeName"])
            ready[o.name] = o.spec["nodeName"]
        else:
            ready.pop(o.name, None)
        worst[0] = max(worst[0], 3 - len(set(ready.values())))
    sim.store.add_listener(see)
    _ds(sim, image="v2")
    sim.run_until_stable()
    images = {n: [p.spec["containers"][0]["image"] for p in ps] for n, ps in _per_node(sim).items()}
    assert images == {"n1": ["v2"], "n2": ["v2"], "n3": ["v2"]}
    assert worst[0] == 1            # maxUnavailable 1: never two nodes without a ready pod
    assert order == ["n1", "n2", "n3"]
