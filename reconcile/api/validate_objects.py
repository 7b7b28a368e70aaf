"""Validation of whole objects, kind by kind, as the Kubernetes API server validates them.

Ported from ``pkg/apis/core/validation`` (``ValidateObjectMeta``,
``ValidateService``, ``ValidateNode``), ``pkg/apis/apps/validation``
(``ValidateDeployment``, ``ValidateReplicaSet``, ``ValidateStatefulSet``,
``ValidateDaemonSet``, ``ValidateControllerRevision``), ``pkg/apis/batch/validation``
(``ValidateJob``, ``ValidateCronJob``), ``pkg/apis/autoscaling/validation`` and
``pkg/apis/coordination/validation``, with upstream's field paths and words;
the pod spec's checks are :mod:`reconcile.api.validate_pod`. Every error of
an object is reported at once, as upstream's aggregate:

>>> from reconcile.api.model import Deployment
>>> d = Deployment.new("web", spec={"replicas": -1, "template": {"metadata": {"labels": {"app": "web"}},
...                                 "spec": {"containers": [{"name": "web"}]}}})
>>> check_object(d)
Traceback (most recent call last):
  ...
reconcile.api.validate_objects.InvalidObject: Deployment.apps "web" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]

A bound Kubernetes does not have: a count of pods (``replicas``, a Job's
``parallelism`` and ``completions``, an autoscaler's ``maxReplicas``) is at
most :data:`MAX_REPLICAS`, 100,000. Kubernetes' own bound is int32's, two
billion, which is no bound here: every pod is an object in this process's
memory (about 4 KB each), so ``replicas 1000000000`` would exhaust it long
before a pod ran. 100,000 is the cap Kubernetes itself puts on an Indexed
Job's completions and parallelism (``maxParallelismForIndexedJob``), and
below the 150,000 pods its scalability limits allow a whole cluster.

Status is not checked on these writes (it is kept from the stored object,
as Kubernetes' main resource ignores it); a Node's capacity, which a user
declares, is.
"""

from __future__ import annotations

from typing import Any, Callable

from reconcile.api import labels as _labels
from reconcile.api import validation as _v
from reconcile.api.errors import Invalid
from reconcile.api.fielderrors import (
    Bare, FieldError, aggregate, forbidden, go_quote, invalid, not_supported, required,
)
from reconcile.api.memo import IdentityMemo
from reconcile.api.model import KINDS, KObject
from reconcile.api.validate_pod import (
    NEGATIVE, is_int, is_list, is_map, non_negative, parse_quantity_value, port_number_or_name,
    validate_annotations, validate_labels, validate_pod_spec, validate_pod_template, validate_resource_name,
    validate_taints,
)

__all__ = ["MAX_REPLICAS", "InvalidObject", "validate_object", "validate_metadata", "validate_spec",
           "validate_status", "validate_label_selector", "check_object", "qualified_kind"]

MAX_REPLICAS = 100_000
MAX_INDEXED_COMPLETIONS = 100_000


class InvalidObject(Invalid):
    """An object that breaks rules of its kind; ``errors`` are the :class:`FieldError` s, all of them."""

    def __init__(self, obj: KObject, errors: list[FieldError]):
        self.errors = tuple(errors)
        self.kind, self.name = obj.kind, obj.metadata.name
        super().__init__(f"{qualified_kind(obj)} {go_quote(obj.metadata.name or '')} is invalid: "
                         f"{aggregate(errors)}")


def qualified_kind(obj: KObject) -> str:
    """Upstream's ``GroupKind.String()``: ``Deployment.apps``, ``Pod`` (the core group has no name)."""
    api = obj.apiVersion or type(obj).API_VERSION
    return f"{obj.kind}.{api.split('/')[0]}" if "/" in api else obj.kind


def check_object(obj: KObject) -> None:
    """Raise :class:`InvalidObject` (an :class:`~reconcile.api.errors.Invalid`) if ``obj`` is not valid."""
    errors = validate_object(obj)
    if errors:
        raise InvalidObject(obj, errors)


def validate_object(obj: KObject) -> list[FieldError]:
    """Every error of ``obj``: its metadata, then its spec (kept per spec object, so a write that
    leaves the spec as it was, or a template's pods, validate the spec once)."""
    errs = validate_metadata(obj) + validate_spec(obj.kind, obj.spec)
    return errs + validate_status(obj) if obj.kind in _STATUS_CHECKS else errs


# ---------------------------------------------------------------- metadata

_LABEL_NAMED = {"Namespace", "StatefulSet"}        # DNS-1123 labels (a Service: DNS-1035); the rest subdomains
_OWNERS_MEMO = IdentityMemo()


def validate_metadata(obj: KObject) -> list[FieldError]:
    """``ValidateObjectMeta``: name (by kind), namespace, labels, annotations, owners, finalizers."""
    meta = obj.metadata
    errs: list[FieldError] = []
    name = meta.name
    if not name:
        errs.append(required("metadata.name", "name or generateName is required"))
    elif not isinstance(name, str):
        errs.append(invalid("metadata.name", Bare(repr(name)), "must be a string"))
    else:
        check = (_v.validate_dns1035_label if obj.kind == "Service"
                 else _v.validate_dns1123_label if obj.kind in _LABEL_NAMED else _v.validate_dns1123_subdomain)
        errs += [invalid("metadata.name", name, m) for m in check(name)]
    ns = meta.namespace
    if type(obj).NAMESPACED:
        if not ns:
            errs.append(required("metadata.namespace"))
        elif not isinstance(ns, str):
            errs.append(invalid("metadata.namespace", Bare(repr(ns)), "must be a string"))
        else:
            errs += [invalid("metadata.namespace", ns, m) for m in _v.validate_dns1123_label(ns)]
    elif ns:
        errs.append(forbidden("metadata.namespace", "not allowed on this type"))
    non_negative(errs, "metadata.generation", meta.generation)
    errs += validate_labels(meta.labels, "metadata.labels")
    errs += validate_annotations(meta.annotations, "metadata.annotations")
    if meta.ownerReferences:
        errs += _OWNERS_MEMO.get(lambda: _owners(meta.ownerReferences), meta.ownerReferences)
    for i, f in enumerate(meta.finalizers):
        if not isinstance(f, str):
            errs.append(invalid(f"metadata.finalizers[{i}]", Bare(repr(f)), "must be a string"))
        else:
            errs += [invalid("metadata.finalizers", f, m) for m in _v.validate_label_key(f)]
    return errs


def _owners(refs) -> list[FieldError]:
    """``ValidateOwnerReferences`` (every path is ``metadata.ownerReferences``, as upstream's)."""
    errs: list[FieldError] = []
    path = "metadata.ownerReferences"
    controller = ""
    for ref in refs:
        api = ref.apiVersion or ""
        if not api.rpartition("/")[2]:
            errs.append(invalid(f"{path}.apiVersion", api, "version must not be empty"))
        for part in ("kind", "name", "uid"):
            if not getattr(ref, part):
                errs.append(invalid(f"{path}.{part}", getattr(ref, part) or "", "must not be empty"))
        if ref.controller:
            this = f"{ref.kind}/{ref.name}"
            if controller:
                errs.append(invalid(path, Bare(f"[{controller}, {this}]"),
                                    "Only one reference can have Controller set to true. "
                                    f"Found \"true\" in references for {controller} and {this}"))
            else:
                controller = this
    return errs


# ---------------------------------------------------------------- selectors

def validate_label_selector(selector: Any, path: str) -> list[FieldError]:
    """``ValidateLabelSelector``: matchLabels as labels; matchExpressions' keys, operators and values."""
    if not is_map(selector):
        return [invalid(path, selector, "must be an object")]
    errs = validate_labels(selector.get("matchLabels"), f"{path}.matchLabels")
    exprs = selector.get("matchExpressions") or ()
    if not is_list(exprs):
        return errs + [invalid(f"{path}.matchExpressions", exprs, "must be a list")]
    for i, e in enumerate(exprs):
        p = f"{path}.matchExpressions[{i}]"
        if not is_map(e):
            errs.append(invalid(p, e, "must be an object"))
            continue
        op, values = e.get("operator"), e.get("values") or ()
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(f"{p}.values", "may not be specified when `operator` is 'Exists' or "
                                                      "'DoesNotExist'"))
        else:
            errs.append(invalid(f"{p}.operator", op, "not a valid selector operator"))
        key = e.get("key")
        if not isinstance(key, str):
            errs.append(invalid(f"{p}.key", key, "must be a string"))
        else:
            errs += [invalid(f"{p}.key", key, m) for m in _v.validate_label_key(key)]
        if not is_list(values):
            errs.append(invalid(f"{p}.values", values, "must be a list"))
            continue
        for j, v in enumerate(values):
            if not isinstance(v, str):
                errs.append(invalid(f"{p}.values[{j}]", v, "must be a string"))
            else:
                errs += [invalid(f"{p}.values[{j}]", v, m) for m in _v.validate_label_value(v)]
    return errs


def _selector(errs: list, spec, what: str, needed: bool = True) -> None:
    """A workload's selector: required, valid, not empty, and matching its template's labels."""
    sel = spec.get("selector")
    if sel is None:
        if needed:
            errs.append(required("spec.selector"))
        return
    found = validate_label_selector(sel, "spec.selector")
    errs += found
    if found or not is_map(sel):
        return
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        errs.append(invalid("spec.selector", sel, f"empty selector is invalid for {what}"))
        return
    try:
        selector = _labels.from_label_selector(sel.get("matchLabels") or {}, sel.get("matchExpressions"))
    except ValueError:
        errs.append(invalid("spec.selector", sel, "invalid label selector"))
        return
    template = spec.get("template")
    tlabels = ((template.get("metadata") or {}).get("labels") or {}) if is_map(template) else {}
    if is_map(tlabels) and not selector.matches(tlabels):
        errs.append(invalid("spec.template.metadata.labels", tlabels, "`selector` does not match template `labels`"))


# ---------------------------------------------------------------- kinds

_SPEC_MEMO = IdentityMemo()


def validate_spec(kind: str, spec: Any) -> list[FieldError]:
    """The errors of a spec of ``kind`` (kept per spec object)."""
    check = _BY_KIND.get(kind)
    if check is None:
        return []
    if not is_map(spec):
        return [invalid("spec", spec, "must be an object")]
    return _SPEC_MEMO.get(lambda: _collect(check, spec), spec, check)


def _collect(check: Callable, spec) -> list[FieldError]:
    errs: list[FieldError] = []
    check(errs, spec)
    return errs


def _replicas(errs: list, path: str, value: Any) -> None:
    non_negative(errs, path, value, MAX_REPLICAS)


def _pod_template(errs: list, spec, path: str, restart: tuple, owner: str | None) -> None:
    template = spec.get("template")
    errs += validate_pod_template(template, path)
    pod = template.get("spec") if is_map(template) else None
    if not is_map(pod):
        return
    policy = pod.get("restartPolicy")
    if policy and isinstance(policy, str) and policy not in restart:
        errs.append(not_supported(f"{path}.spec.restartPolicy", policy, restart))
    if owner and pod.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(f"{path}.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {owner} is not Supported"))


def _int_or_percent(errs: list, path: str, value: Any) -> int | None:
    """``ValidatePositiveIntOrPercent`` and ``IsNotMoreThan100Percent``: the value (a percent as its number)."""
    if value is None:
        return None
    if isinstance(value, str):
        problems = _v.validate_percent(value)
        errs += [invalid(path, Bare(value), m) for m in problems]
        if problems:
            return None
        n = int(value[:-1])
        if n > 100:
            errs.append(invalid(path, Bare(value), "must not be greater than 100%"))
        return n
    if not is_int(value):
        errs.append(invalid(path, value, "must be an integer or percentage (e.g '5%')"))
        return None
    if value < 0:
        errs.append(invalid(path, value, NEGATIVE))
    return value


def _deployment(errs: list, spec) -> None:
    _replicas(errs, "spec.replicas", spec.get("replicas"))
    _selector(errs, spec, "deployment")
    _pod_template(errs, spec, "spec.template", ("Always",), "ReplicaSet")
    strategy = spec.get("strategy") or {}
    if not is_map(strategy):
        errs.append(invalid("spec.strategy", strategy, "must be an object"))
    else:
        kind, ru = strategy.get("type"), strategy.get("rollingUpdate")
        if kind == "Recreate":
            if ru is not None:
                errs.append(forbidden("spec.strategy.rollingUpdate",
                                      "may not be specified when strategy `type` is 'Recreate'"))
        elif kind in ("RollingUpdate", None):
            if is_map(ru):
                p = "spec.strategy.rollingUpdate"
                unavailable = _int_or_percent(errs, f"{p}.maxUnavailable", ru.get("maxUnavailable"))
                surge = _int_or_percent(errs, f"{p}.maxSurge", ru.get("maxSurge"))
                if unavailable == 0 and surge == 0:
                    errs.append(invalid(f"{p}.maxUnavailable", Bare(str(ru.get("maxUnavailable"))),
                                        "may not be 0 when `maxSurge` is 0"))
            elif ru is not None:
                errs.append(invalid("spec.strategy.rollingUpdate", ru, "must be an object"))
        else:
            errs.append(not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate")))
    for name in ("minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        non_negative(errs, f"spec.{name}", spec.get(name))
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if is_int(deadline) and is_int(ready) and deadline >= 0 and deadline <= ready:
        errs.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))


def _replicaset(errs: list, spec) -> None:
    _replicas(errs, "spec.replicas", spec.get("replicas"))
    non_negative(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    _selector(errs, spec, "deployment")            # sic: upstream says "deployment" for a ReplicaSet too
    _pod_template(errs, spec, "spec.template", ("Always",), "ReplicaSet")


def _statefulset(errs: list, spec) -> None:
    policy = spec.get("podManagementPolicy")
    if policy == "":
        errs.append(required("spec.podManagementPolicy"))
    elif policy is not None and policy not in ("OrderedReady", "Parallel"):
        errs.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    strategy = spec.get("updateStrategy") or {}
    kind = strategy.get("type") if is_map(strategy) else None
    ru = strategy.get("rollingUpdate") if is_map(strategy) else None
    if not is_map(strategy):
        errs.append(invalid("spec.updateStrategy", strategy, "must be an object"))
    elif kind == "":
        errs.append(required("spec.updateStrategy"))
    elif kind == "OnDelete":
        if ru is not None:
            errs.append(invalid("spec.updateStrategy.rollingUpdate", ru,
                                "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind in ("RollingUpdate", None):
        if is_map(ru):
            p = "spec.updateStrategy.rollingUpdate"
            non_negative(errs, f"{p}.partition", ru.get("partition"))
            if ru.get("maxUnavailable") is not None:
                n = _int_or_percent(errs, f"{p}.maxUnavailable", ru["maxUnavailable"])
                if n == 0:
                    errs.append(invalid(f"{p}.maxUnavailable", Bare(str(ru["maxUnavailable"])), "cannot be 0"))
    else:
        errs.append(invalid("spec.updateStrategy.type", kind, "must be 'RollingUpdate' or 'OnDelete'"))
    _replicas(errs, "spec.replicas", spec.get("replicas"))
    non_negative(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    non_negative(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    _selector(errs, spec, "statefulset")
    _pod_template(errs, spec, "spec.template", ("Always",), "StatefulSet")


def _daemonset(errs: list, spec) -> None:
    _selector(errs, spec, "daemonset")
    _pod_template(errs, spec, "spec.template", ("Always",), "DaemonSet")
    non_negative(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    non_negative(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    strategy = spec.get("updateStrategy") or {}
    if not is_map(strategy):
        errs.append(invalid("spec.updateStrategy", strategy, "must be an object"))
        return
    kind, ru = strategy.get("type"), strategy.get("rollingUpdate")
    p = "spec.updateStrategy.rollingUpdate"
    if kind == "OnDelete":
        return
    if kind not in ("RollingUpdate", None):
        errs.append(not_supported("spec.updateStrategy.type", kind, ("RollingUpdate", "OnDelete")))
    elif kind == "RollingUpdate" and ru is None:
        errs.append(required(p))
    elif is_map(ru):
        unavailable = _int_or_percent(errs, f"{p}.maxUnavailable", ru.get("maxUnavailable"))
        surge = _int_or_percent(errs, f"{p}.maxSurge", ru.get("maxSurge"))
        if unavailable and surge:
            errs.append(invalid(f"{p}.maxSurge", Bare(str(ru.get("maxSurge"))),
                                "may not be set when maxUnavailable is non-zero"))
        elif not unavailable and not surge and None not in (unavailable, surge):
            errs.append(required(f"{p}.maxUnavailable", "cannot be 0 when maxSurge is 0"))


def _job_spec(errs: list, spec, path: str) -> None:
    """``validateJobSpec`` (also a CronJob's job template)."""
    for name, most in (("parallelism", MAX_REPLICAS), ("completions", MAX_REPLICAS),
                       ("activeDeadlineSeconds", None), ("backoffLimit", None), ("ttlSecondsAfterFinished", None)):
        non_negative(errs, f"{path}.{name}", spec.get(name), most)
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        errs.append(not_supported(f"{path}.completionMode", mode, ("NonIndexed", "Indexed")))
    if mode == "Indexed":
        completions = spec.get("completions")
        if completions is None:
            errs.append(required(f"{path}.completions", "when completion mode is Indexed"))
    for flag in ("suspend", "manualSelector"):
        if spec.get(flag) is not None and not isinstance(spec.get(flag), bool):
            errs.append(invalid(f"{path}.{flag}", spec.get(flag), "must be a boolean"))
    _pod_template(errs, spec, f"{path}.template", ("OnFailure", "Never"), None)


def _job(errs: list, spec) -> None:
    _job_spec(errs, spec, "spec")
    if spec.get("manualSelector") is True and spec.get("selector") is None:
        errs.append(required("spec.selector"))
    else:
        _selector(errs, spec, "job", needed=False)


def _cronjob(errs: list, spec) -> None:
    schedule = spec.get("schedule")
    if not schedule:
        errs.append(required("spec.schedule"))
    elif not isinstance(schedule, str):
        errs.append(invalid("spec.schedule", schedule, "must be a string"))
    for name in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        non_negative(errs, f"spec.{name}", spec.get(name))
    policy = spec.get("concurrencyPolicy")
    if policy == "":
        errs.append(required("spec.concurrencyPolicy"))
    elif policy is not None and policy not in ("Allow", "Forbid", "Replace"):
        errs.append(not_supported("spec.concurrencyPolicy", policy, ("Allow", "Forbid", "Replace")))
    jt = spec.get("jobTemplate")
    if not is_map(jt):
        errs.append(required("spec.jobTemplate") if jt is None else invalid("spec.jobTemplate", jt, "must be an object"))
        return
    meta = jt.get("metadata") or {}
    if is_map(meta):
        errs += validate_labels(meta.get("labels"), "spec.jobTemplate.metadata.labels")
        errs += validate_annotations(meta.get("annotations"), "spec.jobTemplate.metadata.annotations")
    js = jt.get("spec") or {}
    if not is_map(js):
        errs.append(invalid("spec.jobTemplate.spec", js, "must be an object"))
    else:
        _job_spec(errs, js, "spec.jobTemplate.spec")


_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def _service(errs: list, spec) -> None:
    kind = spec.get("type")
    if kind == "":
        errs.append(required("spec.type"))
    elif kind is not None and kind not in _SERVICE_TYPES:
        errs.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        errs.append(not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
    if kind == "ExternalName" and not spec.get("externalName"):
        errs.append(required("spec.externalName"))
    errs += validate_labels(spec.get("selector"), "spec.selector")
    ports = spec.get("ports") or ()
    if not is_list(ports):
        errs.append(invalid("spec.ports", ports, "must be a list"))
        return
    if not ports and spec.get("clusterIP") != "None" and kind != "ExternalName":
        errs.append(required("spec.ports"))
    names: set = set()
    keys: set = set()
    for i, port in enumerate(ports):
        p = f"spec.ports[{i}]"
        if not is_map(port):
            errs.append(invalid(p, port, "must be an object"))
            continue
        name = port.get("name")
        if not name:
            if len(ports) > 1:
                errs.append(required(f"{p}.name"))
        elif not isinstance(name, str):
            errs.append(invalid(f"{p}.name", name, "must be a string"))
        else:
            errs += [invalid(f"{p}.name", name, m) for m in _v.validate_dns1123_label(name)]
            if name in names:
                errs.append(FieldError("Duplicate value", f"{p}.name", name))
            names.add(name)
        number = port.get("port")
        if not is_int(number):
            errs.append(required(f"{p}.port") if number is None else invalid(f"{p}.port", number, "must be an integer"))
        else:
            errs += [invalid(f"{p}.port", number, m) for m in _v.validate_port_number(number)]
        protocol = port.get("protocol")
        if protocol is not None and protocol not in ("TCP", "UDP", "SCTP"):
            errs.append(required(f"{p}.protocol") if protocol == "" else
                        not_supported(f"{p}.protocol", protocol, ("TCP", "UDP", "SCTP")))
        if port.get("targetPort") is not None:
            port_number_or_name(errs, f"{p}.targetPort", port["targetPort"])
        if port.get("nodePort"):
            port_number_or_name(errs, f"{p}.nodePort", port["nodePort"])
        key = (number, protocol or "TCP")
        if key in keys:
            errs.append(FieldError("Duplicate value", p, Bare(f"{number}/{protocol or 'TCP'}")))
        keys.add(key)


def _node(errs: list, spec) -> None:
    errs += validate_taints(spec.get("taints"), "spec.taints")
    if spec.get("unschedulable") is not None and not isinstance(spec["unschedulable"], bool):
        errs.append(invalid("spec.unschedulable", spec["unschedulable"], "must be a boolean"))


def _node_status(obj: KObject) -> list[FieldError]:
    """A Node's capacity and allocatable: resource names and quantities >= 0."""
    errs: list[FieldError] = []
    for part in ("capacity", "allocatable"):
        values = obj.status.get(part)
        if values is None:
            continue
        if not is_map(values):
            errs.append(invalid(f"status.{part}", values, "must be an object"))
            continue
        for name in sorted(values, key=str):
            p = f"status.{part}.{name}"
            errs += validate_resource_name(name, p, container=False)
            q = parse_quantity_value(values[name])
            if q is None:
                errs.append(invalid(p, values[name], "quantities must match the regular expression "
                                                    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
            elif q.value < 0:
                errs.append(invalid(p, str(q), NEGATIVE))
    return errs


def _hpa(errs: list, spec) -> None:
    low = spec.get("minReplicas")
    if low is not None and (not is_int(low) or low < 1):
        errs.append(invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    high = spec.get("maxReplicas")
    if not is_int(high):
        errs.append(required("spec.maxReplicas") if high is None else
                    invalid("spec.maxReplicas", high, "must be an integer"))
    elif high < 1:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than 0"))
    elif high > MAX_REPLICAS:
        errs.append(invalid("spec.maxReplicas", high, f"must be less than or equal to {MAX_REPLICAS}"))
    elif is_int(low) and high < low:
        errs.append(invalid("spec.maxReplicas", high, "must be greater than or equal to `minReplicas`"))
    ref = spec.get("scaleTargetRef")
    if not is_map(ref):
        errs.append(required("spec.scaleTargetRef") if ref is None else
                    invalid("spec.scaleTargetRef", ref, "must be an object"))
    else:
        for part in ("kind", "name"):
            if not ref.get(part):
                errs.append(required(f"spec.scaleTargetRef.{part}"))
    for i, metric in enumerate(spec.get("metrics") or ()):
        target = ((metric.get("resource") or {}).get("target") or {}) if is_map(metric) else {}
        p = f"spec.metrics[{i}].resource.target"
        util = target.get("averageUtilization") if is_map(target) else None
        if util is not None and (not is_int(util) or util <= 0):
            errs.append(invalid(f"{p}.averageUtilization", util, "must be greater than 0"))
        value = target.get("averageValue") if is_map(target) else None
        if value is not None:
            q = parse_quantity_value(value)
            if q is None or q.value <= 0:
                errs.append(invalid(f"{p}.averageValue", value, "must be positive"))


def _lease(errs: list, spec) -> None:
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and (not is_int(duration) or duration <= 0):
        errs.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))


def _controller_revision(errs: list, spec) -> None:
    non_negative(errs, "revision", spec.get("revision"))


def _policy(errs: list, spec) -> None:
    deny = spec.get("deny")
    if not is_map(deny):
        errs.append(required("spec.deny") if deny is None else invalid("spec.deny", deny, "must be an object"))
        return
    kind = deny.get("kind")
    if not kind:
        errs.append(required("spec.deny.kind"))
    elif kind != "*" and kind not in KINDS:
        errs.append(not_supported("spec.deny.kind", kind, ("*",) + tuple(sorted(KINDS))))
    where = deny.get("where") or ""
    if not isinstance(where, str):
        errs.append(invalid("spec.deny.where", where, "must be a string"))
        return
    try:
        _labels.parse(where)
    except ValueError as e:
        errs.append(invalid("spec.deny.where", where, str(e)))


_BY_KIND: dict[str, Callable] = {
    "Deployment": _deployment, "ReplicaSet": _replicaset, "StatefulSet": _statefulset,
    "DaemonSet": _daemonset, "Job": _job, "CronJob": _cronjob, "Service": _service, "Node": _node,
    "HorizontalPodAutoscaler": _hpa, "Lease": _lease, "ControllerRevision": _controller_revision,
    "Policy": _policy,
}


def _pod(errs: list, spec) -> None:
    errs += validate_pod_spec(spec, "spec")


_BY_KIND["Pod"] = _pod
_STATUS_CHECKS = {"Node": _node_status}


def validate_status(obj: KObject) -> list[FieldError]:
    """What a user may declare in a status (a Node's capacity); other status is the cluster's own."""
    check = _STATUS_CHECKS.get(obj.kind)
    return check(obj) if check and obj.status else []
