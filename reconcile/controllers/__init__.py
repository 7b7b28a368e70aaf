"""The built-in controllers: pure rules with Kubernetes semantics.

Each module decides only (``reconcile(snapshot, key, now) -> Result``); the
engine does. :func:`default_rules` is the controller manager's set.
"""

from __future__ import annotations

from reconcile.engine import Rule

__all__ = ["default_rules"]


def default_rules(node_grace: float = 40.0, eviction_timeout: float = 300.0, schedulers=None) -> tuple[Rule, ...]:
    """Every built-in controller, with the node lifecycle periods given."""
    from reconcile.controllers import (
        daemonset, deployment, endpoints, gc, job, nodelifecycle, replicaset, scheduling, statefulset,
    )
    rules = [deployment.RULE, replicaset.RULE, statefulset.RULE, daemonset.RULE, job.RULE, endpoints.RULE,
             *gc.RULES, *nodelifecycle.rules(grace=node_grace, eviction=eviction_timeout),
             scheduling.scheduling_rule(schedulers)]
    return tuple(rules)
