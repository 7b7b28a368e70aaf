"""Admission: what every write must pass before it is stored.

First validation (names, namespaces, labels, as Kubernetes checks them),
then the cluster's policies: a ``Policy`` denies objects of its kind whose
*facts* match its ``where`` selector. An object's facts are its labels plus
what a policy may ask of its pods: ``requests.cpu``, ``requests.memory``,
``limits.cpu``, ``limits.memory`` (present when every container sets them)
and ``image`` (present when every container has one). For workloads the
facts come from the pod template.

>>> from reconcile.api.model import Pod
>>> facts(Pod.new("p", "default", labels={"app": "web"},
...               spec={"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}))
{'app': 'web', 'requests.cpu': '1'}
"""

from __future__ import annotations

from reconcile.api import labels as _labels
from reconcile.api.memo import IdentityMemo
from reconcile.api.errors import Forbidden, Invalid
from reconcile.api.model import KObject

__all__ = ["admit", "validate", "facts", "check_policies"]

_LABEL_NAMED = {"Namespace", "Service"}
_RESOURCE_FACTS = (("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory"))


def validate(obj: KObject) -> None:
    meta = obj.metadata
    if not meta.name:
        raise Invalid(f"{obj.kind}: metadata.name: Required value")
    check = _labels.validate_dns1123_label if obj.kind in _LABEL_NAMED else _labels.validate_dns1123_subdomain
    problems = check(meta.name)
    if problems:
        raise Invalid(f"{obj.kind} {meta.name!r} is invalid: metadata.name: {problems[0]}")
    if obj.NAMESPACED and not meta.namespace:
        raise Invalid(f"{obj.kind} {meta.name}: metadata.namespace: Required value")
    if not obj.NAMESPACED and meta.namespace:
        raise Invalid(f"{obj.kind} {meta.name}: a {obj.kind} is cluster-scoped and has no namespace")
    # a template's pods share their labels: checked once per labels object
    problem = _LABEL_PROBLEM.get(lambda: _label_problem(meta.labels), meta.labels)
    if problem:
        raise Invalid(f"{obj.kind} {meta.name}: metadata.labels: Invalid value: {problem}")


def _label_problem(labels) -> str | None:
    for k, v in labels.items():
        problems = _labels.validate_label_key(k) or _labels.validate_label_value(v)
        if problems:
            return f"{k}={v!r}: {problems[0]}"
    return None


_LABEL_PROBLEM = IdentityMemo()


def _pod_spec(obj: KObject):
    if obj.kind == "Pod":
        return obj.spec
    spec = obj.spec
    if obj.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template.get("spec") if template else None


def facts(obj: KObject) -> dict:
    """The labels and pod facts that a policy's ``where`` is matched against."""
    out = dict(obj.metadata.labels)
    pod = _pod_spec(obj)
    if pod is None:
        return out
    containers = list(pod.get("containers") or ())
    if not containers:
        return out
    for part, name in _RESOURCE_FACTS:
        values = [((c.get("resources") or {}).get(part) or {}).get(name) for c in containers]
        if all(v is not None for v in values):
            out[f"{part}.{name}"] = str(values[0]) if len(set(values)) == 1 else "mixed"
    images = [c.get("image") for c in containers]
    if all(images):
        out["image"] = "set"
    return out


def check_policies(obj: KObject, snapshot) -> None:
    for policy in snapshot.list("Policy"):
        deny = policy.spec.get("deny") or {}
        if deny.get("kind") not in (obj.kind, "*"):
            continue
        selector = _labels.parse(deny.get("where") or "")
        if selector.matches(facts(obj)):
            raise Forbidden(f"{obj.kind} {obj.metadata.name} is denied by policy {policy.metadata.name}: "
                            f"{policy.spec.get('message') or deny.get('where')}")


def admit(new: KObject, old: KObject | None, snapshot, policies: bool = True) -> None:
    """Raise :class:`Invalid` or :class:`Forbidden` if ``new`` may not be written."""
    validate(new)
    if policies and snapshot.count("Policy") and new.metadata.deletionTimestamp is None:
        check_policies(new, snapshot)
