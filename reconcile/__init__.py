"""reconcile: a small Kubernetes in Python.

The core: the object model (:mod:`reconcile.model`), label selectors
(:mod:`reconcile.labels`), quantities and durations
(:mod:`reconcile.quantity`). The language lives in :mod:`dsl`, the Ray
runtime in :mod:`cluster_ray`.
"""

from reconcile.model import (
    KINDS, CronJob, DaemonSet, Deployment, Endpoints, HorizontalPodAutoscaler, Job, KObject,
    Lease, ModelError, Namespace, Node, ObjectMeta, OwnerReference, Pod, Policy, ReplicaSet, Rule,
    Service, StatefulSet, from_dict,
)

__version__ = "0.1.0"

__all__ = [
    "KINDS", "CronJob", "DaemonSet", "Deployment", "Endpoints", "HorizontalPodAutoscaler", "Job",
    "KObject", "Lease", "ModelError", "Namespace", "Node", "ObjectMeta", "OwnerReference", "Pod",
    "Policy", "ReplicaSet", "Rule", "Service", "StatefulSet", "from_dict", "__version__",
]
