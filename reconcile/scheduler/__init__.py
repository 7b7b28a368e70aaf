"""The scheduler: a pure function from a pending pod and the nodes to a binding or a reason.

What it knows of pods and nodes (:mod:`~reconcile.scheduler.nodeinfo`), its filter and score
plugins ported from kube-scheduler (:mod:`~reconcile.scheduler.plugins`), the framework that runs
them (:mod:`~reconcile.scheduler.framework`), and the engine rule that binds pending pods with
it (:mod:`~reconcile.scheduler.rule`); ``schedulerName`` picks another scheduler.

>>> from reconcile.api import Node, Pod
>>> nodes = [NodeInfo.from_node(Node.new("n1", status={"allocatable": {"cpu": "2", "memory": "2Gi"}}))]
>>> Scheduler().schedule(Pod.new("p", spec={"containers": [{"name": "c"}]}), nodes).node_name
'n1'
"""

from reconcile.scheduler.framework import (
    Binding, Cursor, Failed, Scheduler, Unschedulable, num_feasible_nodes_to_find, pick_scheduler, schedule_many,
)
from reconcile.scheduler.nodeinfo import NodeInfo, PodRequests, pod_requests
from reconcile.scheduler.plugins import (
    DEFAULT_FILTERS, DEFAULT_SCORES, MAX_NODE_SCORE, balanced_allocation, fit_resources, least_allocated,
    node_selector, node_unschedulable, taint_toleration, tolerates_taint,
)
from reconcile.scheduler.rule import scheduler_key, scheduling_rule

__all__ = [
    "Scheduler", "Binding", "Unschedulable", "Failed", "Cursor", "num_feasible_nodes_to_find", "pick_scheduler",
    "schedule_many", "NodeInfo", "PodRequests", "pod_requests", "DEFAULT_FILTERS", "DEFAULT_SCORES",
    "MAX_NODE_SCORE", "balanced_allocation", "fit_resources", "least_allocated", "node_selector",
    "node_unschedulable", "taint_toleration", "tolerates_taint", "scheduling_rule", "scheduler_key",
]
