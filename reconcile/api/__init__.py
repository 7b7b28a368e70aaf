"""The object model and what defines an object, the layer everything else stands on.

Kubernetes-shaped immutable objects (:mod:`~reconcile.api.model`: ``apiVersion``, ``kind``,
``metadata``, ``spec``, ``status`` in pyrsistent records), their defaults
(:mod:`~reconcile.api.defaults`), names and label rules (:mod:`~reconcile.api.validation`), label
selectors (:mod:`~reconcile.api.labels`), quantities, durations and int-or-percent values
(:mod:`~reconcile.api.quantity`), status conditions (:mod:`~reconcile.api.conditions`), the errors
of the control plane (:mod:`~reconcile.api.errors`), identity memos for pure functions of
shared values (:mod:`~reconcile.api.memo`), and the field-by-field diff of two JSON-like values
(:mod:`~reconcile.api.diff`). Nothing here knows of a store, a clock or a runtime.

>>> from reconcile.api import Deployment, parse
>>> d = Deployment.new("web", labels={"app": "web"})
>>> parse("app in (web, api)").matches(d.metadata.labels)
True
"""

from reconcile.api.conditions import condition, get_condition, set_condition
from reconcile.api.errors import (AlreadyExists, Conflict, Forbidden, Gone, Invalid, NotFound, ReconcileError,
                                  StateError, StateInUse)
from reconcile.api.labels import EVERYTHING, NOTHING, Requirement, Selector, SelectorSyntaxError, parse
from reconcile.api.memo import IdentityMemo
from reconcile.api.model import (
    EMPTY_MAP, EMPTY_VEC, KINDS, ControllerRevision, CronJob, DaemonSet, Deployment, Endpoints,
    HorizontalPodAutoscaler, Job, KObject, Lease, ModelError, Namespace, Node, ObjectMeta, OwnerReference, Pod,
    Policy, ReplicaSet, Rule, Service, StatefulSet, freeze, from_dict, kind_class, pod_from_template, thaw,
)
from reconcile.api.quantity import DurationError, Quantity, QuantityError, parse_duration, parse_quantity

__all__ = [
    "KINDS", "KObject", "ObjectMeta", "OwnerReference", "ModelError", "ControllerRevision", "CronJob",
    "DaemonSet", "Deployment", "Endpoints", "HorizontalPodAutoscaler", "Job", "Lease", "Namespace", "Node",
    "Pod", "Policy", "ReplicaSet", "Rule", "Service", "StatefulSet", "from_dict", "kind_class",
    "pod_from_template", "freeze", "thaw", "EMPTY_MAP", "EMPTY_VEC",
    "Selector", "Requirement", "SelectorSyntaxError", "EVERYTHING", "NOTHING", "parse",
    "Quantity", "QuantityError", "parse_quantity", "DurationError", "parse_duration",
    "condition", "get_condition", "set_condition",
    "ReconcileError", "NotFound", "AlreadyExists", "Conflict", "Gone", "Invalid", "Forbidden", "StateError", "StateInUse",
    "IdentityMemo",
]
