"""Admission: what every write must pass before it is stored.

First validation of the whole object, as the Kubernetes API server validates
it (:mod:`reconcile.api.validate_objects`: names, namespaces, labels,
annotations, the spec of every kind; all errors in one
:class:`~reconcile.api.errors.Invalid`), then the cluster's policies: a
``Policy`` denies objects of its kind whose *facts* match its ``where``
selector.

An object's facts are its labels plus what a policy may ask of its pods
(for a workload, of its pod template):

- ``requests.cpu``, ``requests.memory``, ``limits.cpu``, ``limits.memory``:
  the pod's total, as the scheduler counts it (the sum over its containers,
  or an init container's, whichever is larger), compared as quantities: a
  container that sets none counts as zero. ``requests.cpu > 4`` denies
  ``8000m``, ``4500m``, ``8.5`` and a pod of two containers requesting 3
  each; ``=``, ``!=``, ``in`` and ``notin`` compare quantities too
  (``requests.cpu=4`` matches ``4000m``). The bare key (``requests.cpu``,
  ``!requests.cpu``) asks whether *every* container sets it, so
  ``!requests.cpu`` denies a pod with one container lacking a cpu request.
- ``image``: present (``set``) when every container has one.

>>> from reconcile.api.model import Pod
>>> p = Pod.new("p", "default", labels={"app": "web"}, spec={"containers": [
...     {"name": "a", "resources": {"requests": {"cpu": "4500m"}}}, {"name": "b"}]})
>>> facts(p), totals(p)["requests.cpu"]
({'app': 'web'}, Quantity('4500m'))
>>> matches(_labels.parse("requests.cpu>4"), p), matches(_labels.parse("!requests.cpu"), p)
(True, True)
"""

from __future__ import annotations

from reconcile.api import labels as _labels
from reconcile.api.errors import Forbidden
from reconcile.api.memo import IdentityMemo
from reconcile.api.model import KObject
from reconcile.api.quantity import Quantity
from reconcile.api.validate_objects import check_object
from reconcile.api.validate_pod import is_list, is_map, parse_quantity_value

__all__ = ["admit", "validate", "facts", "totals", "matches", "check_policies", "QUANTITY_FACTS"]

QUANTITY_FACTS = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
_ZERO = Quantity(0)


def validate(obj: KObject) -> None:
    """Raise :class:`~reconcile.api.errors.Invalid` naming every field of ``obj`` that Kubernetes would refuse."""
    check_object(obj)


def _pod_spec(obj: KObject):
    if obj.kind == "Pod":
        return obj.spec
    spec = obj.spec
    if obj.kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    return template.get("spec") if is_map(template) else None


def _containers(pod) -> tuple[list, list]:
    if not is_map(pod):
        return [], []
    parts = [pod.get("containers") or (), pod.get("initContainers") or ()]
    return tuple([c for c in part if is_map(c)] if is_list(part) else [] for part in parts)  # type: ignore


def _resource(container, fact: str) -> Quantity | None:
    part, name = fact.split(".")
    values = (container.get("resources") or {}).get(part) or {}
    value = values.get(name) if is_map(values) else None
    return None if value is None else parse_quantity_value(value)


_FACTS_MEMO, _TOTALS_MEMO = IdentityMemo(), IdentityMemo()


def facts(obj: KObject) -> dict:
    """The labels and pod facts that a policy's ``where`` is matched against (as strings)."""
    out = dict(obj.metadata.labels)
    pod = _pod_spec(obj)
    if pod is not None:
        out.update(_FACTS_MEMO.get(lambda: _pod_facts(pod), pod))
    return out


def _pod_facts(pod) -> dict:
    containers, _ = _containers(pod)
    out: dict = {}
    if not containers:
        return out
    sums = totals_of(pod)
    for fact in QUANTITY_FACTS:
        if all(_resource(c, fact) is not None for c in containers):
            out[fact] = str(sums[fact])
    if all(c.get("image") for c in containers):
        out["image"] = "set"
    return out


def totals(obj: KObject) -> dict[str, Quantity]:
    """The pod's total of each resource fact (a container that sets none counts as zero); {} without pods."""
    pod = _pod_spec(obj)
    return {} if pod is None else totals_of(pod)


def totals_of(pod) -> dict[str, Quantity]:
    return _TOTALS_MEMO.get(lambda: _totals(pod), pod)


def _totals(pod) -> dict[str, Quantity]:
    containers, init = _containers(pod)
    if not containers:
        return {}
    out = {}
    for fact in QUANTITY_FACTS:
        total = sum((_resource(c, fact) or _ZERO for c in containers), _ZERO)
        for c in init:                  # init containers run one at a time, before the others
            total = max(total, _resource(c, fact) or _ZERO)
        out[fact] = total
    return out


def matches(selector: _labels.Selector, obj: KObject) -> bool:
    """Whether a policy's selector matches ``obj``'s facts, resource facts compared as quantities."""
    found = facts(obj)
    sums = totals(obj)
    for r in selector.requirements:
        total = sums.get(r.key)
        if total is None or r.operator in ("exists", "!"):
            if not r.matches(found):
                return False
        elif not _compare(r, total):
            return False
    return True


def _compare(r: _labels.Requirement, total: Quantity) -> bool:
    values = [q for q in map(parse_quantity_value, r.values) if q is not None]
    op = r.operator
    if op in ("gt", "lt"):
        return bool(values) and (total > values[0] if op == "gt" else total < values[0])
    equal = any(total == q for q in values)
    return equal if op in ("=", "==", "in") else not equal


_SELECTORS = IdentityMemo(256)


def _parse_where(where: str) -> _labels.Selector | None:
    """A policy's selector; None for one stored before validation refused its ``where`` (it matches nothing)."""
    try:
        return _labels.parse(where)
    except ValueError:
        return None


def check_policies(obj: KObject, snapshot) -> None:
    for policy in snapshot.list("Policy"):
        deny = policy.spec.get("deny") or {}
        if deny.get("kind") not in (obj.kind, "*"):
            continue
        where = deny.get("where") or ""
        selector = _SELECTORS.get(lambda: _parse_where(where), policy.spec)
        if selector is not None and matches(selector, obj):
            raise Forbidden(f"{obj.kind} {obj.metadata.name} is denied by policy {policy.metadata.name}: "
                            f"{policy.spec.get('message') or deny.get('where')}")


def admit(new: KObject, old: KObject | None, snapshot, policies: bool = True) -> None:
    """Raise :class:`Invalid` or :class:`Forbidden` if ``new`` may not be written."""
    validate(new)
    if policies and snapshot.count("Policy") and new.metadata.deletionTimestamp is None:
        check_policies(new, snapshot)
