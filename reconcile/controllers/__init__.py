"""The built-in controllers: pure rules with Kubernetes semantics, and the facts they share.

Each controller module decides only (``reconcile(snapshot, key, now) -> Result``); the engine
does. :func:`default_rules` is the controller manager's set (with the scheduler's rule).
:mod:`~reconcile.controllers.workloads` holds the pod and workload facts the controllers and the
runtimes share (readiness, activity, deletion order, back-off, ownership, pod names);
:mod:`~reconcile.controllers.rollout` and :mod:`~reconcile.controllers.progress` the Deployment's
rollout arithmetic and progress.
"""

from __future__ import annotations

from reconcile.engine import Rule

__all__ = ["default_rules"]


def default_rules(node_grace: float = 40.0, eviction_timeout: float = 300.0, schedulers=None) -> tuple[Rule, ...]:
    """Every built-in controller, with the node lifecycle periods given."""
    from reconcile.controllers import (
        daemonset, deployment, endpoints, gc, job, nodelifecycle, replicaset, statefulset,
    )
    from reconcile.scheduler.rule import scheduling_rule
    rules = [deployment.RULE, replicaset.RULE, statefulset.RULE, daemonset.RULE, job.RULE, endpoints.RULE,
             *gc.RULES, *nodelifecycle.rules(grace=node_grace, eviction=eviction_timeout),
             scheduling_rule(schedulers)]
    return tuple(rules)
