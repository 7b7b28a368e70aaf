"""Tests of reconcile.scheduler: tables of (pods, nodes) -> binding or exact reason.

Where a table comes from Kubernetes, the Go test is named:
pkg/scheduler/framework/plugins/noderesources (fit_test.go, least_allocated_test.go,
balanced_allocation_test.go), tainttoleration/taint_toleration_test.go,
k8s.io/api core/v1 toleration_test.go, pkg/scheduler/schedule_one_test.go.
"""

import doctest

import pytest

from reconcile import scheduler as sched
from reconcile.api.model import Deployment, Node, Pod, pod_from_template
from reconcile.scheduler import (
    Binding, Cursor, NodeInfo, PodRequests, Scheduler, Unschedulable, balanced_allocation,
    fit_resources, least_allocated, node_selector, node_unschedulable, num_feasible_nodes_to_find,
    pick_scheduler, pod_requests, schedule_many, taint_toleration, tolerates_taint,
)

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


def node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=(), unschedulable=False):
    spec = {"taints": list(taints)} if taints else {}
    if unschedulable:
        spec["unschedulable"] = True
    alloc = {k: v for k, v in (("cpu", cpu), ("memory", memory), ("pods", pods)) if v is not None}
    return Node.new(name, labels=labels, spec=spec, status={"allocatable": alloc})


def container(cpu=None, memory=None, name="c", **extra):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": name, **({"resources": {"requests": requests}} if requests else {}), **extra}


def pod(name="p", cpu=None, memory=None, containers=None, **spec):
    return Pod.new(name, "default", spec={"containers": containers if containers is not None
                                          else [container(cpu, memory)], **spec})


def infos(*nodes, pods_on=None):
    pods_on = pods_on or {}
    return [NodeInfo.from_node(n, pods_on.get(n.name, ())) for n in nodes]


def decide(p, *nodes, pods_on=None, scheduler=None):
    return (scheduler or Scheduler()).schedule(p, infos(*nodes, pods_on=pods_on))


def outcome(result):
    return result.node_name if isinstance(result, Binding) else result.reason


# ------------------------------------------------------------ resources fit

FIT_CASES = [
    ("fits on the only node", pod(cpu="1", memory="1Gi"), [node("n1")], "n1"),
    ("insufficient cpu on every node", pod(cpu="5"), [node("n1"), node("n2"), node("n3")],
     "0/3 nodes are available: 3 Insufficient cpu."),
    ("insufficient memory", pod(memory="9Gi"), [node("n1")], "0/1 nodes are available: 1 Insufficient memory."),
    ("each short resource of a node is counted", pod(cpu="5", memory="9Gi"), [node("n1"), node("n2")],
     "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory."),
    ("too many pods", pod(cpu="1"), [node("n1", pods="0")], "0/1 nodes are available: 1 Too many pods."),
    ("too many pods and insufficient cpu", pod(cpu="5"), [node("n1", pods="0")],
     "0/1 nodes are available: 1 Insufficient cpu, 1 Too many pods."),
    ("a pod without requests is only checked for room", pod(), [node("n1", cpu="0", memory="0")], "n1"),
    ("exactly full still fits", pod(cpu="4", memory="8Gi"), [node("n1")], "n1"),
    ("a node without cpu fits no cpu request", pod(cpu="1m"), [node("n1", cpu=None)],
     "0/1 nodes are available: 1 Insufficient cpu."),
    ("milli-cpu is counted in millicores", pod(cpu="4001m"), [node("n1")],
     "0/1 nodes are available: 1 Insufficient cpu."),
]


@pytest.mark.parametrize("name, p, nodes, expected", FIT_CASES, ids=[c[0] for c in FIT_CASES])
def test_fit_resources_binds_or_says_which_resource_is_short(name, p, nodes, expected):
    assert outcome(decide(p, *nodes)) == expected


def test_requests_of_pods_already_on_a_node_are_taken_and_finished_pods_are_not():
    running = pod("a", cpu="3", memory="1Gi", nodeName="n1")
    done = Pod.new("b", "default", spec={"containers": [container("3")], "nodeName": "n2"},
                   status={"phase": "Succeeded"})
    nodes = [node("n1"), node("n2")]
    result = decide(pod(cpu="2"), *nodes, pods_on={"n1": [running], "n2": [done]})
    assert result == Binding("n2", decide(pod(cpu="2"), nodes[1]).score)
    full = decide(pod(cpu="2"), nodes[0], pods_on={"n1": [running]})
    assert full == Unschedulable("0/1 nodes are available: 1 Insufficient cpu.", {"Insufficient cpu": 1})


def test_fit_error_sorts_the_count_and_reason_strings_like_go():
    nodes = [node(f"a{i}", cpu="1", labels={"disk": "ssd"}) for i in range(3)] + [node("b0"), node("b1")]
    result = decide(pod(cpu="2", nodeSelector={"disk": "ssd"}), *nodes)
    assert result.reason == ("0/5 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
                             "3 Insufficient cpu.")
    assert result.counts == {"Insufficient cpu": 3, AFFINITY: 2}


def test_counts_compare_as_text_so_10_sorts_before_2():
    nodes = [node(f"a{i:02}", cpu="1", labels={"disk": "ssd"}) for i in range(10)] + [node("b0"), node("b1")]
    result = decide(pod(cpu="2", nodeSelector={"disk": "ssd"}), *nodes)
    assert result.reason == ("0/12 nodes are available: 10 Insufficient cpu, "
                             "2 node(s) didn't match Pod's node affinity/selector.")


def test_no_nodes_at_all():
    assert Scheduler().schedule(pod(), []) == Unschedulable("no nodes available to schedule pods", {})
    assert schedule_many([pod()], [], Scheduler()) == ([Unschedulable("no nodes available to schedule pods")], [])


# ------------------------------------------------------------ requests

REQUEST_CASES = [
    ("no containers", [], {}, (0, 0, 1, 0, 0)),
    ("missing requests count zero to fit, 100m/200Mi to score", [container()], {},
     (0, 0, 1, 100, 200 * 2**20)),
    ("an explicit zero stays zero for scoring", [container("0", "0")], {}, (0, 0, 1, 0, 0)),
    ("containers add up", [container("250m", "64Mi", "a"), container("1", "1Gi", "b")], {},
     (1250, 64 * 2**20 + 2**30, 1, 1250, 64 * 2**20 + 2**30)),
    # computePodResourceRequest's example: max(sum of containers, largest init container) per resource
    ("init containers: max per resource", [container("2", "1G", "c1"), container("1", "1G", "c2")],
     {"initContainers": [container("2", "1G", "i1"), container("2", "3G", "i2")]},
     (3000, 3 * 10**9, 1, 3000, 3 * 10**9)),
    ("a big init container wins", [container("1", "1G")], {"initContainers": [container("4", "512M", "i")]},
     (4000, 10**9, 1, 4000, 10**9)),
    ("a sidecar adds to the containers and to later init containers", [container("1", "1G")],
     {"initContainers": [container("500m", "100M", "s", restartPolicy="Always"), container("2", "1G", "i")]},
     (2500, 11 * 10**8, 1, 2500, 11 * 10**8)),
    ("overhead is added", [container("1", "1G")], {"overhead": {"cpu": "100m", "memory": "10M"}},
     (1100, 1010 * 10**6, 1, 1100, 1010 * 10**6)),
]


@pytest.mark.parametrize("name, containers, spec, expected", REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_pod_requests_follow_kubernetes_pod_requests(name, containers, spec, expected):
    assert pod_requests(pod(containers=containers, **spec)) == PodRequests(*expected)


def test_init_container_requests_decide_the_fit():
    p = pod(containers=[container("1")], initContainers=[container("3", name="init")])
    assert outcome(decide(p, node("small", cpu="2"), node("big", cpu="3"))) == "big"
    assert outcome(decide(p, node("small", cpu="2"))) == "0/1 nodes are available: 1 Insufficient cpu."


# ------------------------------------------------------------ node selector and affinity

def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def expr(key, op, *values):
    return {"key": key, "operator": op, **({"values": list(values)} if values else {})}


SELECTOR_CASES = [
    ("no selector matches every node", {}, {"a": "b"}, True),
    ("nodeSelector label present", {"nodeSelector": {"disk": "ssd"}}, {"disk": "ssd", "zone": "a"}, True),
    ("nodeSelector value differs", {"nodeSelector": {"disk": "ssd"}}, {"disk": "hdd"}, False),
    ("nodeSelector label missing", {"nodeSelector": {"disk": "ssd"}}, {}, False),
    ("every nodeSelector label must match", {"nodeSelector": {"disk": "ssd", "zone": "b"}},
     {"disk": "ssd", "zone": "a"}, False),
    ("In", {"affinity": required({"matchExpressions": [expr("zone", "In", "a", "b")]})}, {"zone": "b"}, True),
    ("In, value not listed", {"affinity": required({"matchExpressions": [expr("zone", "In", "a")]})},
     {"zone": "c"}, False),
    ("NotIn", {"affinity": required({"matchExpressions": [expr("zone", "NotIn", "a")]})}, {"zone": "b"}, True),
    ("NotIn matches a node without the label",
     {"affinity": required({"matchExpressions": [expr("zone", "NotIn", "a")]})}, {}, True),
    ("NotIn, value listed", {"affinity": required({"matchExpressions": [expr("zone", "NotIn", "a")]})},
     {"zone": "a"}, False),
    ("Exists", {"affinity": required({"matchExpressions": [expr("gpu", "Exists")]})}, {"gpu": ""}, True),
    ("Exists, missing", {"affinity": required({"matchExpressions": [expr("gpu", "Exists")]})}, {}, False),
    ("DoesNotExist", {"affinity": required({"matchExpressions": [expr("gpu", "DoesNotExist")]})}, {}, True),
    ("DoesNotExist, present", {"affinity": required({"matchExpressions": [expr("gpu", "DoesNotExist")]})},
     {"gpu": "x"}, False),
    ("Gt", {"affinity": required({"matchExpressions": [expr("cores", "Gt", "8")]})}, {"cores": "16"}, True),
    ("Gt, equal is not greater", {"affinity": required({"matchExpressions": [expr("cores", "Gt", "8")]})},
     {"cores": "8"}, False),
    ("Gt, a label that is not a number", {"affinity": required({"matchExpressions": [expr("cores", "Gt", "8")]})},
     {"cores": "many"}, False),
    ("Lt", {"affinity": required({"matchExpressions": [expr("cores", "Lt", "8")]})}, {"cores": "4"}, True),
    ("Lt, greater", {"affinity": required({"matchExpressions": [expr("cores", "Lt", "8")]})}, {"cores": "9"}, False),
    ("expressions of a term all hold", {"affinity": required({"matchExpressions": [
        expr("zone", "In", "a"), expr("disk", "In", "ssd")]})}, {"zone": "a", "disk": "hdd"}, False),
    ("any term may hold", {"affinity": required({"matchExpressions": [expr("zone", "In", "x")]},
                                                {"matchExpressions": [expr("zone", "In", "a")]})}, {"zone": "a"}, True),
    ("an empty term matches nothing", {"affinity": required({})}, {"zone": "a"}, False),
    ("no terms match nothing", {"affinity": required()}, {"zone": "a"}, False),
    ("an invalid operator matches nothing", {"affinity": required({"matchExpressions": [expr("zone", "Is", "a")]})},
     {"zone": "a"}, False),
    ("Gt needs one integer", {"affinity": required({"matchExpressions": [expr("cores", "Gt", "x")]})},
     {"cores": "9"}, False),
    ("an invalid term does not spoil a valid one", {"affinity": required(
        {"matchExpressions": [expr("zone", "In")]}, {"matchExpressions": [expr("zone", "In", "a")]})},
     {"zone": "a"}, True),
    ("matchFields metadata.name In", {"affinity": required({"matchFields": [expr("metadata.name", "In", "n1")]})},
     {}, True),
    ("matchFields metadata.name NotIn", {"affinity": required({"matchFields": [
        expr("metadata.name", "NotIn", "n1")]})}, {}, False),
    ("matchFields on another field matches nothing", {"affinity": required({"matchFields": [
        expr("spec.x", "In", "n1")]})}, {}, False),
    ("nodeSelector and affinity must both hold", {"nodeSelector": {"disk": "ssd"}, "affinity": required(
        {"matchExpressions": [expr("zone", "In", "a")]})}, {"zone": "a"}, False),
    ("preferred affinity does not filter", {"affinity": {"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {
            "matchExpressions": [expr("zone", "In", "x")]}}]}}}, {"zone": "a"}, True),
]


@pytest.mark.parametrize("name, spec, labels, fits", SELECTOR_CASES, ids=[c[0] for c in SELECTOR_CASES])
def test_node_selector_and_required_node_affinity(name, spec, labels, fits):
    p = pod(**spec)
    n = NodeInfo.from_node(node("n1", labels=labels))
    assert node_selector(p, pod_requests(p), n) == (None if fits else AFFINITY)
    assert outcome(Scheduler().schedule(p, [n])) == ("n1" if fits else f"0/1 nodes are available: 1 {AFFINITY}.")


def test_node_selector_picks_the_labelled_node():
    p = pod(cpu="1", nodeSelector={"disk": "ssd"})
    assert outcome(decide(p, node("a"), node("b", labels={"disk": "ssd"}), node("c", labels={"disk": "hdd"}))) == "b"


# ------------------------------------------------------------ cordoned nodes

UNSCHEDULABLE_TOLERATION = {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}

CORDON_CASES = [
    ("a cordoned node takes no pod", [], False),
    ("unless the pod tolerates the unschedulable taint", [UNSCHEDULABLE_TOLERATION], True),
    ("a toleration of every taint also tolerates cordoning", [{"operator": "Exists"}], True),
    ("a toleration with no effect matches NoSchedule", [{"key": "node.kubernetes.io/unschedulable",
                                                          "operator": "Exists"}], True),
    ("a NoExecute toleration does not", [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                          "effect": "NoExecute"}], False),
    ("another key does not", [{"key": "other", "operator": "Exists"}], False),
]


@pytest.mark.parametrize("name, tolerations, fits", CORDON_CASES, ids=[c[0] for c in CORDON_CASES])
def test_cordoned_nodes(name, tolerations, fits):
    p = pod(cpu="1", tolerations=tolerations)
    n = NodeInfo.from_node(node("n1", unschedulable=True))
    assert node_unschedulable(p, pod_requests(p), n) == (None if fits else "node(s) were unschedulable")
    assert outcome(Scheduler().schedule(p, [n])) == (
        "n1" if fits else "0/1 nodes are available: 1 node(s) were unschedulable.")


def test_pods_go_around_a_cordoned_node():
    assert outcome(decide(pod(cpu="1"), node("a", cpu="64", unschedulable=True), node("b"))) == "b"


# ------------------------------------------------------------ taints and tolerations

def taint(key, value=None, effect="NoSchedule"):
    return {"key": key, **({"value": value} if value is not None else {}), "effect": effect}


def tol(key=None, op=None, value=None, effect=None):
    return {k: v for k, v in (("key", key), ("operator", op), ("value", value), ("effect", effect)) if v is not None}


TOLERATES_TAINT_CASES = [
    # k8s.io/api core/v1 TestTolerationToleratesTaint
    ("same key and effect, Exists, taint has no value", tol("foo", "Exists", effect="NoSchedule"),
     taint("foo"), True),
    ("same key and effect, Exists, taint has some value", tol("foo", "Exists", effect="NoSchedule"),
     taint("foo", "bar"), True),
    ("same effect, empty key and Exists match all taints", tol(None, "Exists", effect="NoSchedule"),
     taint("foo", "bar"), True),
    ("same key, effect and value, Equal", tol("foo", "Equal", "bar", "NoSchedule"), taint("foo", "bar"), True),
    ("same key and effect, different values, Equal", tol("foo", "Equal", "value1", "NoSchedule"),
     taint("foo", "value2"), False),
    ("same key and value, different effects, Equal", tol("foo", "Equal", "bar", "NoSchedule"),
     taint("foo", "bar", "NoExecute"), False),
    # every operator and effect combination beyond the Go table
    ("empty operator means Equal", tol("foo", None, "bar"), taint("foo", "bar"), True),
    ("empty operator, other value", tol("foo", None, "baz"), taint("foo", "bar"), False),
    ("Equal with no value matches a taint with no value", tol("foo", "Equal"), taint("foo"), True),
    ("Equal with no value does not match a value", tol("foo", "Equal"), taint("foo", "bar"), False),
    ("empty effect matches NoSchedule", tol("foo", "Exists"), taint("foo", "bar", "NoSchedule"), True),
    ("empty effect matches NoExecute", tol("foo", "Exists"), taint("foo", "bar", "NoExecute"), True),
    ("empty effect matches PreferNoSchedule", tol("foo", "Exists"), taint("foo", "bar", "PreferNoSchedule"), True),
    ("empty key and Exists with no effect match everything", tol(None, "Exists"), taint("x", "y", "NoExecute"), True),
    ("empty key with Equal matches any key of that value", tol(None, "Equal", "y"), taint("x", "y"), True),
    ("empty key with Equal, other value", tol(None, "Equal", "z"), taint("x", "y"), False),
    ("Exists with another key", tol("other", "Exists"), taint("foo", "bar"), False),
    ("PreferNoSchedule toleration does not match NoSchedule", tol("foo", "Exists", effect="PreferNoSchedule"),
     taint("foo"), False),
    ("NoExecute toleration matches NoExecute", tol("foo", "Equal", "bar", "NoExecute"),
     taint("foo", "bar", "NoExecute"), True),
    ("Gt is behind a disabled feature gate", tol("sla", "Gt", "100"), taint("sla", "950"), False),
    ("an unknown operator tolerates nothing", tol("foo", "Matches", "bar"), taint("foo", "bar"), False),
]


@pytest.mark.parametrize("name, toleration, the_taint, expected", TOLERATES_TAINT_CASES,
                         ids=[c[0] for c in TOLERATES_TAINT_CASES])
def test_tolerates_taint(name, toleration, the_taint, expected):
    assert tolerates_taint(toleration, the_taint) is expected


TAINT_FILTER_CASES = [
    # tainttoleration TestTaintTolerationFilter (the reason names the taint, as before Kubernetes 1.34)
    ("a pod having no tolerations can't be scheduled onto a node with nonempty taints",
     [], [taint("dedicated", "user1")], "{dedicated: user1}"),
    ("a pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
     [tol("dedicated", None, "user1", "NoSchedule")], [taint("dedicated", "user1")], None),
    ("a pod which can't be scheduled on a dedicated node assigned to user2 with effect NoSchedule",
     [tol("dedicated", "Equal", "user2", "NoSchedule")], [taint("dedicated", "user1")], "{dedicated: user1}"),
    ("a toleration using operator Exists tolerates the taints on the node",
     [tol("foo", "Exists", effect="NoSchedule")], [taint("foo", "bar")], None),
    ("multiple tolerations, multiple taints, all tolerated",
     [tol("dedicated", "Equal", "user2", "NoSchedule"), tol("foo", "Exists", effect="NoSchedule")],
     [taint("dedicated", "user2"), taint("foo", "bar")], None),
    ("keys and values match but a non-empty effect doesn't",
     [tol("foo", "Equal", "bar", "PreferNoSchedule")], [taint("foo", "bar")], "{foo: bar}"),
    ("keys and values match and the toleration's effect is empty",
     [tol("foo", "Equal", "bar")], [taint("foo", "bar")], None),
    ("the toleration doesn't match, but the taint is PreferNoSchedule",
     [tol("dedicated", "Equal", "user2", "NoSchedule")], [taint("dedicated", "user1", "PreferNoSchedule")], None),
    ("no toleration, the taint is PreferNoSchedule", [], [taint("dedicated", "user1", "PreferNoSchedule")], None),
    # NoExecute and the wording of the reason
    ("a NoExecute taint must be tolerated too", [], [taint("gpu", "yes", "NoExecute")], "{gpu: yes}"),
    ("a NoSchedule toleration does not cover NoExecute", [tol("gpu", "Exists", effect="NoSchedule")],
     [taint("gpu", "yes", "NoExecute")], "{gpu: yes}"),
    ("a taint without a value", [], [taint("node-role.kubernetes.io/control-plane")],
     "{node-role.kubernetes.io/control-plane: }"),
    ("the first untolerated taint is named", [tol("a", "Exists")],
     [taint("a", "1"), taint("b", "2"), taint("c", "3")], "{b: 2}"),
]


@pytest.mark.parametrize("name, tolerations, taints, untolerated", TAINT_FILTER_CASES,
                         ids=[c[0] for c in TAINT_FILTER_CASES])
def test_taint_toleration_filter(name, tolerations, taints, untolerated):
    p = pod(tolerations=tolerations)
    n = NodeInfo.from_node(node("nodeA", taints=taints))
    reason = None if untolerated is None else f"node(s) had untolerated taint {untolerated}"
    assert taint_toleration(p, pod_requests(p), n) == reason
    assert outcome(Scheduler().schedule(p, [n])) == ("nodeA" if reason is None else
                                                     f"0/1 nodes are available: 1 {reason}.")


def test_tainted_nodes_are_counted_per_taint_in_the_reason():
    nodes = [node("a", taints=[taint("gpu", "yes")]), node("b", taints=[taint("gpu", "yes")]),
             node("c", taints=[taint("spot", "true", "NoExecute")])]
    assert decide(pod(), *nodes).reason == ("0/3 nodes are available: 1 node(s) had untolerated taint {spot: true}, "
                                            "2 node(s) had untolerated taint {gpu: yes}.")


# ------------------------------------------------------------ scores

def score_all(plugin, p, nodes, pods_on=None):
    r = pod_requests(p)
    return [plugin(p, r, ni) for ni in infos(*nodes, pods_on=pods_on)]


def on(name, cpu, memory):
    """A pod already bound to the node it is listed under."""
    return pod(name, cpu=cpu, memory=memory)


TWO_CONTAINERS = [container("1000", "2000", "a"), container("2000", "3000", "b")]

LEAST_ALLOCATED_CASES = [
    # noderesources TestLeastAllocatedScoringStrategy (cpu in cores as there: "4000" is 4000 cores)
    ("nothing scheduled, nothing requested", pod(containers=[]),
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")], {}, [100, 100]),
    ("nothing scheduled, resources requested, differently sized nodes", pod(containers=TWO_CONTAINERS),
     [node("node1", "4000", "10000"), node("node2", "6000", "10000")], {}, [37, 50]),
    ("no resources requested, pods scheduled", pod(containers=[]),
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")],
     {"node1": [pod("a", containers=[]), pod("b", containers=[])],
      "node2": [pod("c", containers=[]), pod("d", containers=[])]}, [100, 100]),
    ("no resources requested, pods scheduled with resources", pod(containers=[]),
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     {"node1": [on("a", "3000", "0"), on("b", "3000", "0")], "node2": [on("c", "3000", "0"), on("d", "3000", "5000")]},
     [70, 57]),
    ("resources requested, pods scheduled with resources", pod(containers=TWO_CONTAINERS),
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     {"node1": [on("a", "3000", "0")], "node2": [on("b", "3000", "5000")]}, [57, 45]),
    ("resources requested, pods scheduled with resources, differently sized nodes", pod(containers=TWO_CONTAINERS),
     [node("node1", "10000", "20000"), node("node2", "10000", "50000")],
     {"node1": [on("a", "3000", "0")], "node2": [on("b", "3000", "5000")]}, [57, 60]),
    ("requested resources exceed node capacity", pod(cpu="3000", memory="0"),
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")],
     {"node1": [on("a", "3000", "0")], "node2": [on("b", "3000", "5000")]}, [50, 25]),
    ("zero node resources, pods scheduled with resources", pod(containers=[]),
     [node("node1", None, None), node("node2", None, None)],
     {"node1": [on("a", "3000", "0")], "node2": [on("b", "3000", "5000")]}, [0, 0]),
    # the non-zero defaults: a container without requests counts 100m and 200Mi when scoring
    ("a pod without requests is scored as 100m and 200Mi", pod(), [node("n", "1", "2000Mi")], {}, [(90 + 90) // 2]),
]


@pytest.mark.parametrize("name, p, nodes, pods_on, expected", LEAST_ALLOCATED_CASES,
                         ids=[c[0] for c in LEAST_ALLOCATED_CASES])
def test_least_allocated_scores(name, p, nodes, pods_on, expected):
    assert score_all(least_allocated, p, nodes, pods_on) == expected


CPU_AND_MEMORY = [container("1000m", "2000", "a"), container("2000m", "3000", "b")]
CPU_ONLY = [container("1000m", "0", "a"), container("2000m", "0", "b")]

BALANCED_CASES = [
    # noderesources TestNodeResourcesBalancedAllocation (makeNode takes milli-cpu)
    ("nothing scheduled, nothing requested: best-effort pods are not balanced", pod(containers=[]),
     [node("node1", "4000m", "10000"), node("node2", "4000m", "10000")], {}, [0, 0]),
    ("nothing scheduled, resources requested, differently sized nodes", pod(containers=CPU_AND_MEMORY),
     [node("node1", "4000m", "10000"), node("node2", "6000m", "10000")], {}, [87, 100]),
    ("resources requested, pods scheduled with resources", pod(containers=CPU_AND_MEMORY),
     [node("node1", "10000m", "20000"), node("node2", "10000m", "20000")],
     {"node1": [pod("a", containers=CPU_ONLY)], "node2": [pod("b", containers=CPU_AND_MEMORY)]}, [82, 95]),
    ("resources requested, pods scheduled with resources, differently sized nodes", pod(containers=CPU_AND_MEMORY),
     [node("node1", "10000m", "20000"), node("node2", "10000m", "50000")],
     {"node1": [pod("a", containers=CPU_ONLY)], "node2": [pod("b", containers=CPU_AND_MEMORY)]}, [82, 80]),
    ("requested resources at node capacity", pod(containers=CPU_ONLY),
     [node("node1", "6000m", "10000"), node("node2", "6000m", "10000")],
     {"node1": [pod("a", containers=CPU_ONLY)], "node2": [pod("b", containers=CPU_AND_MEMORY)]}, [50, 75]),
    # balanced allocation counts real requests only, never the 100m/200Mi defaults
    ("a pod with cpu only on an empty node", pod(cpu="1"), [node("n", "2", "1Gi")], {}, [75]),
    ("a node without memory leaves one share, which is balanced", pod(cpu="1"), [node("n", "2", None)], {}, [100]),
]


@pytest.mark.parametrize("name, p, nodes, pods_on, expected", BALANCED_CASES, ids=[c[0] for c in BALANCED_CASES])
def test_balanced_allocation_scores(name, p, nodes, pods_on, expected):
    assert score_all(balanced_allocation, p, nodes, pods_on) == expected


def test_the_least_allocated_node_wins():
    busy = {"a": [on("x", "3", "1Gi")], "b": [on("y", "1", "1Gi")], "c": [on("z", "2", "1Gi")]}
    result = decide(pod(cpu="500m", memory="1Gi"), node("a"), node("b"), node("c"), pods_on=busy)
    assert outcome(result) == "b"


def test_pods_without_requests_spread_by_their_default_requests():
    busy = {"a": [on("x", None, None)] * 3, "b": [on("y", None, None)]}
    assert outcome(decide(pod(), node("a"), node("b"), pods_on=busy)) == "b"


def test_balanced_allocation_prefers_the_node_it_leaves_balanced():
    p, wide, even = pod(cpu="1", memory="4Gi"), node("wide", "8", "8Gi"), node("even", "2", "8Gi")
    # after the pod: "wide" has 1/8 of its cpu and 4/8 of its memory taken, "even" 1/2 and 4/8
    assert score_all(balanced_allocation, p, [wide, even]) == [81, 100]
    assert score_all(least_allocated, p, [wide, even]) == [68, 50]
    assert outcome(decide(p, wide, even, scheduler=Scheduler(scores=[balanced_allocation]))) == "even"
    assert outcome(decide(p, wide, even, scheduler=Scheduler(scores=[least_allocated]))) == "wide"
    assert decide(p, wide, even) == Binding("even", 150)
    only_balanced = Scheduler(scores=[balanced_allocation])
    p = pod(cpu="1", memory="1Gi")
    memory_heavy = {"mem": [on("x", "0", "6Gi")]}
    assert outcome(decide(p, node("cpu", "4", "8Gi"), node("mem", "4", "8Gi"), pods_on=memory_heavy,
                          scheduler=only_balanced)) == "cpu"
    cpu_heavy = {"mem": [on("x", "3", "0")]}
    # node "mem" after the pod: cpu 4/4, memory 1/8; node "cpu": cpu 1/4, memory 1/8
    assert score_all(balanced_allocation, p, [node("cpu"), node("mem")], cpu_heavy) == [93, 56]


def test_weights_multiply_scores_and_the_binding_reports_the_sum():
    p = pod(cpu="1", memory="2Gi")
    n = [node("n1")]
    la, ba = score_all(least_allocated, p, n)[0], score_all(balanced_allocation, p, n)[0]
    assert decide(p, *n) == Binding("n1", la + ba)
    assert decide(p, *n, scheduler=Scheduler(scores=[(least_allocated, 3), (balanced_allocation, 2)])) == \
        Binding("n1", 3 * la + 2 * ba)


# ------------------------------------------------------------ ties and plugins

def test_ties_go_to_the_first_name_whatever_the_order_of_nodes():
    nodes = [node("c"), node("a"), node("b")]
    assert outcome(decide(pod(cpu="1"), *nodes)) == "a"
    assert outcome(decide(pod(cpu="1"), *reversed(nodes))) == "a"


def test_custom_filters_and_scores_plug_in():
    def even_only(p, r, ni):
        return None if int(ni.name[1:]) % 2 == 0 else "node(s) were odd"

    def prefer_high(p, r, ni):
        return int(ni.name[1:])

    s = Scheduler(filters=[even_only, fit_resources], scores=[prefer_high], name="custom")
    assert outcome(decide(pod(cpu="1"), *[node(f"n{i}") for i in range(5)], scheduler=s)) == "n4"
    assert decide(pod(cpu="1"), node("n1"), node("n3"), scheduler=s) == Unschedulable(
        "0/2 nodes are available: 2 node(s) were odd.", {"node(s) were odd": 2})
    assert not s.shape_only and Scheduler().shape_only


def test_the_first_failing_filter_gives_the_reason():
    n = node("n1", cpu="1", unschedulable=True, taints=[taint("gpu", "yes")])
    assert decide(pod(cpu="2"), n).reason == "0/1 nodes are available: 1 node(s) were unschedulable."
    s = Scheduler(filters=[fit_resources, node_unschedulable])
    assert decide(pod(cpu="2"), n, scheduler=s).reason == "0/1 nodes are available: 1 Insufficient cpu."


# ------------------------------------------------------------ schedulerName

PICK_CASES = [
    ("no schedulerName means the default scheduler", {}, "default-scheduler"),
    ("the default scheduler by name", {"schedulerName": "default-scheduler"}, "default-scheduler"),
    ("another scheduler by name", {"schedulerName": "gpu-scheduler"}, "gpu-scheduler"),
    ("an unknown scheduler leaves the pod pending", {"schedulerName": "nobody"}, None),
]


@pytest.mark.parametrize("name, spec, expected", PICK_CASES, ids=[c[0] for c in PICK_CASES])
def test_scheduler_name_picks_the_scheduler(name, spec, expected):
    schedulers = {s.name: s for s in (Scheduler(), Scheduler(scores=[balanced_allocation], name="gpu-scheduler"))}
    picked = pick_scheduler(pod(**spec), schedulers)
    assert (picked.name if picked else None) == expected


def test_a_pod_without_any_scheduler_spec_still_gets_the_default():
    bare = Pod.from_dict({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}})
    bare = bare.set(spec=bare.spec.remove("schedulerName"))
    assert pick_scheduler(bare, {"default-scheduler": Scheduler()}).name == "default-scheduler"


# ------------------------------------------------------------ how many nodes to look at

@pytest.mark.parametrize("nodes, percentage, expected", [
    # schedule_one_test.go TestNumFeasibleNodesToFind
    (10, 0, 10), (10, 40, 10), (1000, 0, 420), (1000, 40, 400), (6000, 0, 300), (6000, 40, 2400),
    # the adaptive percentage at the sizes we run
    (50, 0, 50), (99, 0, 99), (100, 0, 100), (1000, 0, 420), (5000, 0, 500), (10000, 0, 500),
    (200, 10, 100), (300, 100, 300),
])
def test_num_feasible_nodes_to_find(nodes, percentage, expected):
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_a_cursor_starts_where_the_last_search_stopped():
    nodes = infos(*[node(f"n{i:03}") for i in range(200)])     # 200 nodes: 100 feasible end a search
    cursor = Cursor()
    s = Scheduler()
    first = s.schedule(pod(cpu="1"), nodes, cursor)
    assert (first.node_name, cursor.next_start_node_index) == ("n000", 100)
    second = s.schedule(pod(cpu="1"), nodes, cursor)
    assert (second.node_name, cursor.next_start_node_index) == ("n100", 0)


def test_nodes_that_fail_filters_count_as_looked_at():
    nodes = infos(*[node(f"n{i:03}", cpu="1" if i < 50 else "4") for i in range(200)])
    cursor = Cursor(150)
    result = Scheduler().schedule(pod(cpu="2"), nodes, cursor)
    # from n150: 50 feasible, then n000..n049 fail, then n050..n099 make 100 feasible
    assert (result.node_name, cursor.next_start_node_index) == ("n050", 100)


def test_an_unschedulable_pod_looks_at_every_node_and_leaves_the_cursor():
    nodes = infos(*[node(f"n{i:03}", cpu="1") for i in range(300)])
    cursor = Cursor(42)
    assert Scheduler().schedule(pod(cpu="2"), nodes, cursor).counts == {"Insufficient cpu": 300}
    assert cursor.next_start_node_index == 42


def test_without_a_cursor_every_node_is_scored():
    nodes = infos(*[node(f"n{i:03}", cpu="2" if i < 250 else "8") for i in range(300)])
    assert outcome(Scheduler().schedule(pod(cpu="1"), nodes)) == "n250"
    assert outcome(Scheduler().schedule(pod(cpu="1"), nodes, Cursor())) == "n000"
    assert outcome(Scheduler(percentage_of_nodes_to_score=100).schedule(pod(cpu="1"), nodes, Cursor())) == "n250"


# ------------------------------------------------------------ many pods

def template_pods(count, cpu="1", memory="1Gi", **spec):
    d = Deployment.new("web", "default", labels={"app": "web"}, spec={"template": {
        "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container(cpu, memory)], **spec}}})
    return [pod_from_template(d.spec["template"], f"web-{i}", "default", owner=d) for i in range(count)]


def test_schedule_many_spreads_pods_over_the_nodes():
    results, after = schedule_many(template_pods(12), infos(*[node(f"n{i}") for i in range(4)]), Scheduler())
    assert [outcome(r) for r in results] == ["n0", "n1", "n2", "n3"] * 3
    assert [ni.requested for ni in after] == [(3000, 3 * 2**30, 3)] * 4


def test_schedule_many_respects_capacity_and_says_why_the_rest_wait():
    nodes = infos(node("big", cpu="3"), node("small", cpu="1"))
    results, after = schedule_many(template_pods(5), nodes, Scheduler())
    assert [outcome(r) for r in results[:4]].count("big") == 3
    assert results[4] == Unschedulable("0/2 nodes are available: 2 Insufficient cpu.", {"Insufficient cpu": 2})
    assert {ni.name: ni.requested[0] for ni in after} == {"big": 3000, "small": 1000}


def test_schedule_many_returns_node_infos_by_name_and_leaves_its_input_alone():
    nodes = infos(node("b"), node("a"))
    results, after = schedule_many(template_pods(1), nodes, Scheduler())
    assert [ni.name for ni in after] == ["a", "b"] and results == [Binding("a", results[0].score)]
    assert [ni.requested for ni in nodes] == [(0, 0, 0), (0, 0, 0)]


def test_schedule_many_at_scale_spreads_over_a_window_of_nodes():
    nodes = infos(*[node(f"n{i:04}", cpu="8", memory="16Gi", pods="110") for i in range(1000)])
    results, after = schedule_many(template_pods(2000), nodes, Scheduler())
    assert all(isinstance(r, Binding) for r in results)
    counts = [ni.requested[2] for ni in after]
    # each pod sees a window of 420 nodes, and the windows rotate round all 1000:
    # every node gets pods, none more than a few (Kubernetes spreads no better)
    assert sum(counts) == 2000 and min(counts) >= 1 and max(counts) <= 3


def reference_loop(pods, node_infos, scheduler):
    nodes, cursor, results = sorted(node_infos, key=lambda ni: ni.name), Cursor(), []
    for p in pods:
        r = scheduler.schedule(p, nodes, cursor)
        if isinstance(r, Binding):
            i = [ni.name for ni in nodes].index(r.node_name)
            nodes[i] = nodes[i].add_pod(p)
        results.append(r)
    return results, nodes


def test_reused_verdicts_give_the_same_answers_as_scheduling_one_by_one():
    sizes = [("4", "8Gi"), ("2", "4Gi"), ("8", "4Gi")]
    nodes = infos(*[node(f"n{i:03}", *sizes[i % 3], labels={"zone": "ab"[i % 2]}) for i in range(150)])
    pods = (template_pods(150, "500m", "1Gi") + template_pods(100, "3", "256Mi", nodeSelector={"zone": "a"})
            + [pod(f"p{i}", cpu=f"{100 + 37 * i}m", memory="128Mi") for i in range(60)])
    pods = [pods[(i * 7) % len(pods)] for i in range(len(pods))]           # interleave the shapes
    fast = schedule_many(pods, nodes, Scheduler())

    def unmarked(fn):
        return lambda p, r, ni: fn(p, r, ni)
    plain = Scheduler(filters=[unmarked(f) for f in sched.DEFAULT_FILTERS],
                      scores=[(unmarked(f), w) for f, w in sched.DEFAULT_SCORES])
    assert fast == schedule_many(pods, nodes, plain) == reference_loop(pods, nodes, Scheduler())
    assert sum(isinstance(r, Unschedulable) for r in fast[0]) > 0          # the zone-a pods run out of room


def test_a_cursor_carries_the_rotation_from_one_batch_to_the_next():
    nodes = infos(*[node(f"n{i:03}") for i in range(200)])
    cursor = Cursor()
    first, nodes = schedule_many(template_pods(1), nodes, Scheduler(), cursor)
    second, _ = schedule_many(template_pods(1), nodes, Scheduler(), cursor)
    assert [outcome(first[0]), outcome(second[0])] == ["n000", "n100"]


# ------------------------------------------------------------ node infos

def test_node_infos_and_results_are_immutable():
    ni = NodeInfo.from_node(node("n1"))
    with pytest.raises(AttributeError):
        ni.requested = (1, 1, 1)
    with pytest.raises(AttributeError):
        Binding("n1").node_name = "n2"


def test_node_info_from_a_node_and_adding_pods():
    n = Node.new("n1", labels={"zone": "a"}, spec={"taints": [taint("gpu")], "unschedulable": True},
                 status={"capacity": {"cpu": "2", "memory": "1Gi"}})
    ni = NodeInfo.from_node(n)
    assert ni == NodeInfo("n1", n.metadata.labels, (2000, 2**30, 110), (0, 0, 0), (0, 0),
                          (n.spec["taints"][0],), True)
    p = pod(cpu="500m")
    added = ni.add_pod(p)
    assert added.requested == (500, 0, 1) and added.non_zero_requested == (500, 200 * 2**20)
    assert ni.requested == (0, 0, 0)
    assert added.add_pod(p, pod_requests(p)).requested == (1000, 0, 2)


def test_the_doctests_run():
    from reconcile.scheduler import framework, nodeinfo, plugins
    results = [doctest.testmod(m) for m in (sched, framework, nodeinfo, plugins)]
    assert sum(r.attempted for r in results) >= 10 and sum(r.failed for r in results) == 0
