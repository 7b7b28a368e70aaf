"""reconcile: a small Kubernetes in Python.

The core: the object model (:mod:`reconcile.api.model`), label selectors
(:mod:`reconcile.api.labels`), quantities and durations
(:mod:`reconcile.api.quantity`). The language lives in :mod:`dsl`, the Ray
runtime in :mod:`cluster_ray`, the notebook front ends (the ``reconcile``
Jupyter kernel, the ``%%cluster`` magics, the widgets) in
:mod:`reconcile.frontends.notebook`: ``%load_ext reconcile`` loads the magics.
"""

from reconcile.api.model import (
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


def load_ipython_extension(ipython) -> None:
    """``%load_ext reconcile``: the ``%%cluster`` and ``%cluster`` magics (the front end is
    imported only here, so the core does not depend on it)."""
    from reconcile.frontends.notebook.magics import load_ipython_extension as load
    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from reconcile.frontends.notebook.magics import unload_ipython_extension as unload
    unload(ipython)
