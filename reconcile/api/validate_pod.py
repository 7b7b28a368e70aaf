"""The API server's checks of a pod spec, a pod template, labels and annotations.

Ported from ``pkg/apis/core/validation/validation.go`` (``ValidatePodSpec``,
``ValidateContainers``, ``validateContainerPorts``, ``validateProbe``,
``ValidateResourceRequirements``, ``validateTolerations``,
``ValidatePodTemplateSpec``) and ``k8s.io/apimachinery``'s ``ValidateLabels``
and ``ValidateAnnotations``, with upstream's field paths and words. Each
function returns a list of :class:`~reconcile.api.fielderrors.FieldError`,
empty when all is well; a value of the wrong JSON type is an error too,
never an exception.

Kubernetes validates after defaulting, so a field that it defaults is
checked when present and accepted when absent (the default applies); an
explicitly empty string is ``Required value``. Two deliberate differences:
a container needs no ``image`` (here a container may be a command run in a
Ray runtime_env), and resource quantities are named ``requests.cpu`` (the
issue's spelling) where upstream writes ``requests[cpu]``.

>>> spec = {"containers": [{"name": "web", "resources": {"requests": {"cpu": "12x"}}}]}
>>> [str(e) for e in validate_pod_spec(spec, "spec")]  # doctest: +ELLIPSIS
['spec.containers[0].resources.requests.cpu: Invalid value: "12x": quantities must match the regular expression ...']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconcile.api import validation as _v
from reconcile.api.fielderrors import (
    Bare, FieldError, duplicate, forbidden, invalid, not_supported, required, too_long,
)
from reconcile.api.memo import IdentityMemo
from reconcile.api.quantity import Quantity, QuantityError

__all__ = [
    "NEGATIVE", "MAX_INT32", "is_int", "is_map", "is_list", "non_negative", "parse_quantity_value",
    "validate_labels", "validate_annotations", "validate_pod_spec", "validate_pod_template",
    "validate_taints", "validate_resource_name", "port_number_or_name",
]

NEGATIVE = "must be greater than or equal to 0"
MAX_INT32 = 2**31 - 1
ANNOTATIONS_LIMIT = 256 * 1024                       # TotalAnnotationSizeLimitB
QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "Never", "IfNotPresent")
PROTOCOLS = ("TCP", "UDP", "SCTP")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_HTTP_SCHEMES = ("HTTP", "HTTPS")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROBE_COUNTS = ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold")
_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


# ---------------------------------------------------------------- small checks

def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_map(v: Any) -> bool:
    return isinstance(v, Mapping)


def is_list(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, (str, bytes))


def non_negative(errs: list, path: str, value: Any, most: int | None = None) -> None:
    """``ValidateNonnegativeField`` of an optional integer (and an upper bound, when given)."""
    if value is None:
        return
    if not is_int(value):
        errs.append(invalid(path, value, "must be an integer"))
    elif value < 0:
        errs.append(invalid(path, value, NEGATIVE))
    elif most is not None and value > most:
        errs.append(invalid(path, value, f"must be less than or equal to {most}"))


def _string(errs: list, path: str, value: Any) -> bool:
    """Whether ``value`` is a string (or absent); records an error when it is something else."""
    if value is None or isinstance(value, str):
        return True
    errs.append(invalid(path, value, "must be a string"))
    return False


def _enum(errs: list, path: str, value: Any, allowed: tuple) -> None:
    """A defaulted enum: absent is fine, "" is required, anything else must be one of ``allowed``."""
    if value is None or not _string(errs, path, value):
        return
    if value == "":
        errs.append(required(path))
    elif value not in allowed:
        errs.append(not_supported(path, value, allowed))


def _object(errs: list, path: str, value: Any) -> bool:
    if is_map(value):
        return True
    errs.append(invalid(path, value, "must be an object"))
    return False


def _list(errs: list, path: str, value: Any) -> bool:
    if is_list(value):
        return True
    errs.append(invalid(path, value, "must be a list"))
    return False


def parse_quantity_value(value: Any) -> Quantity | None:
    """A quantity as JSON may hold it (a string or a number), or None when it is not one."""
    if isinstance(value, bool):
        return None
    try:
        return Quantity(value if isinstance(value, (str, int)) else str(value))
    except (QuantityError, ValueError, TypeError):
        return None


# ---------------------------------------------------------------- labels and annotations

_LABELS_MEMO = IdentityMemo()
_ANNOTATIONS_MEMO = IdentityMemo()


def validate_labels(labels: Any, path: str) -> list[FieldError]:
    """``ValidateLabels``: every key a qualified name, every value a label value."""
    if not labels:
        return []
    found = _LABELS_MEMO.get(lambda: _labels(labels), labels)
    return [FieldError(e.type, path, e.value, e.detail) for e in found] if found else []


def _labels(labels: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    if not _object(errs, "", labels):
        return errs
    for k in sorted(labels, key=str):
        v = labels[k]
        if not isinstance(k, str) or not isinstance(v, str):
            errs.append(invalid("", Bare(f"{k!r}: {v!r}"), "label keys and values must be strings"))
            continue
        errs += [invalid("", k, m) for m in _v.validate_label_key(k)]
        errs += [invalid("", v, m) for m in _v.validate_label_value(v)]
    return errs


def validate_annotations(annotations: Any, path: str) -> list[FieldError]:
    """``ValidateAnnotations``: keys are qualified names (in any case); 256 KiB in all."""
    if not annotations:
        return []
    found = _ANNOTATIONS_MEMO.get(lambda: _annotations(annotations), annotations)
    return [FieldError(e.type, path, e.value, e.detail) for e in found] if found else []


def _annotations(annotations: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    if not _object(errs, "", annotations):
        return errs
    size = 0
    for k in sorted(annotations, key=str):
        v = annotations[k]
        if not isinstance(k, str) or not isinstance(v, str):
            errs.append(invalid("", Bare(f"{k!r}: {v!r}"), "annotation keys and values must be strings"))
            continue
        errs += [invalid("", k, m) for m in _v.validate_label_key(k.lower())]
        size += len(k.encode("utf-8", "surrogatepass")) + len(v.encode("utf-8", "surrogatepass"))
    if size > ANNOTATIONS_LIMIT:
        errs.append(too_long("", ANNOTATIONS_LIMIT))
    return errs


# ---------------------------------------------------------------- the pod spec

_POD_SPEC_MEMO = IdentityMemo()


def validate_pod_spec(spec: Any, path: str) -> list[FieldError]:
    """``ValidatePodSpec``: containers, restart and DNS policy, node selection, tolerations.

    The answer is kept per spec object: a template's pods share their spec.
    """
    if not is_map(spec):
        return [invalid(path, spec, "must be an object")]
    return _prefixed(_POD_SPEC_MEMO.get(lambda: _pod_spec(spec), spec), path)


def _prefixed(errors: list[FieldError], path: str) -> list[FieldError]:
    return [FieldError(e.type, f"{path}.{e.field}", e.value, e.detail) for e in errors] if errors else []


def _pod_spec(spec: Any) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set = set()
    containers = spec.get("containers")
    if not containers:
        errs.append(required("containers"))
    elif _list(errs, "containers", containers):
        _containers(errs, containers, "containers", names)
    init = spec.get("initContainers")
    if init and _list(errs, "initContainers", init):
        _containers(errs, init, "initContainers", names)
    _enum(errs, "restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    _enum(errs, "dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES)
    non_negative(errs, "terminationGracePeriodSeconds", spec.get("terminationGracePeriodSeconds"))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not (is_int(deadline) and 1 <= deadline <= MAX_INT32):
        errs.append(invalid("activeDeadlineSeconds", deadline, _v.inclusive_range_error(1, MAX_INT32)))
    errs += validate_labels(spec.get("nodeSelector"), "nodeSelector")
    for name, check in (("nodeName", _v.validate_dns1123_subdomain), ("schedulerName", _v.validate_dns1123_subdomain),
                        ("serviceAccountName", _v.validate_dns1123_subdomain),
                        ("hostname", _v.validate_dns1123_label), ("subdomain", _v.validate_dns1123_label)):
        value = spec.get(name)
        if value and _string(errs, name, value):
            errs += [invalid(name, value, m) for m in check(value)]
    tolerations = spec.get("tolerations")
    if tolerations and _list(errs, "tolerations", tolerations):
        _tolerations(errs, tolerations, "tolerations")
    return errs


def _containers(errs: list, containers: Sequence, path: str, names: set) -> None:
    """``validateContainers``: names are DNS labels unique in the pod; ports, env, resources, probes."""
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        if not _object(errs, p, c):
            continue
        name = c.get("name")
        if not name:
            errs.append(required(f"{p}.name"))
        elif _string(errs, f"{p}.name", name):
            errs += [invalid(f"{p}.name", name, m) for m in _v.validate_dns1123_label(name)]
            if name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        _string(errs, f"{p}.image", c.get("image"))
        _string(errs, f"{p}.workingDir", c.get("workingDir"))
        _enum(errs, f"{p}.imagePullPolicy", c.get("imagePullPolicy"), PULL_POLICIES)
        for part in ("command", "args"):
            words = c.get(part)
            if words is not None and _list(errs, f"{p}.{part}", words):
                for j, w in enumerate(words):
                    _string(errs, f"{p}.{part}[{j}]", w)
        if c.get("ports") is not None and _list(errs, f"{p}.ports", c["ports"]):
            _container_ports(errs, c["ports"], f"{p}.ports")
        if c.get("env") is not None and _list(errs, f"{p}.env", c["env"]):
            _env(errs, c["env"], f"{p}.env")
        if c.get("resources") is not None and _object(errs, f"{p}.resources", c["resources"]):
            _resources(errs, c["resources"], f"{p}.resources")
        for probe in _PROBES:
            if c.get(probe) is not None:
                _probe(errs, c[probe], f"{p}.{probe}", must_succeed_once=probe != "readinessProbe")


def _container_ports(errs: list, ports: Sequence, path: str) -> None:
    names: set = set()
    for i, port in enumerate(ports):
        p = f"{path}[{i}]"
        if not _object(errs, p, port):
            continue
        name = port.get("name")
        if name and _string(errs, f"{p}.name", name):
            problems = _v.validate_port_name(name)
            if problems:
                errs += [invalid(f"{p}.name", name, m) for m in problems]
            elif name in names:
                errs.append(duplicate(f"{p}.name", name))
            names.add(name)
        number = port.get("containerPort")
        if not number:
            errs.append(required(f"{p}.containerPort"))
        else:
            _port_number(errs, f"{p}.containerPort", number)
        if port.get("hostPort"):
            _port_number(errs, f"{p}.hostPort", port["hostPort"])
        _enum(errs, f"{p}.protocol", port.get("protocol"), PROTOCOLS)


def _port_number(errs: list, path: str, number: Any) -> None:
    if not is_int(number):
        errs.append(invalid(path, number, "must be an integer"))
    else:
        errs += [invalid(path, number, m) for m in _v.validate_port_number(number)]


def port_number_or_name(errs: list, path: str, port: Any) -> None:
    """``ValidatePortNumOrName``: a number 1-65535, or an IANA service name (``"8080"`` is neither)."""
    if isinstance(port, str):
        errs += [invalid(path, port, m) for m in _v.validate_port_name(port)]
    else:
        _port_number(errs, path, port)


def _env(errs: list, env: Sequence, path: str) -> None:
    for i, var in enumerate(env):
        p = f"{path}[{i}]"
        if not _object(errs, p, var):
            continue
        name = var.get("name")
        if not name:
            errs.append(required(f"{p}.name"))
        elif _string(errs, f"{p}.name", name):
            errs += [invalid(f"{p}.name", name, m) for m in _v.validate_env_var_name(name)]
        _string(errs, f"{p}.value", var.get("value"))


# ---------------------------------------------------------------- resources

def validate_resource_name(name: Any, path: str, container: bool = True) -> list[FieldError]:
    """``validateContainerResourceName`` (or, for a node, ``validateResourceName``)."""
    if not isinstance(name, str):
        return [invalid(path, Bare(repr(name)), "must be a string")]
    errs = [invalid(path, name, m) for m in _v.validate_label_key(name)]
    if errs or not container:
        return errs
    if "/" not in name:
        if name not in _CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            errs.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _native(name) and _v.validate_label_key("requests." + name):
        errs.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return errs


def _native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _overcommit_allowed(name: str) -> bool:
    """``IsOvercommitAllowed``: not for extended resources (``nvidia.com/gpu``) nor huge pages."""
    return _native(name) and not name.startswith("hugepages-")


def _resources(errs: list, res: Mapping, path: str) -> None:
    """``ValidateResourceRequirements``: names, quantities >= 0, requests <= limits."""
    parsed: dict = {}
    for part in ("limits", "requests"):
        values = res.get(part)
        if values is None or not _object(errs, f"{path}.{part}", values):
            continue
        for name in sorted(values, key=str):
            p = f"{path}.{part}.{name}"
            errs += validate_resource_name(name, p)
            value = values[name]
            q = parse_quantity_value(value)
            if q is None:
                errs.append(invalid(p, value if isinstance(value, str) else Bare(repr(value)), QUANTITY_FORMAT))
                continue
            parsed[part, name] = q
            if q < _ZERO:
                errs.append(invalid(p, str(q), NEGATIVE))
            elif not _native(name) and q.value.denominator != 1:
                errs.append(invalid(p, str(q), "must be an integer"))
    for (part, name), q in sorted(parsed.items()):
        if part != "requests":
            continue
        limit = parsed.get(("limits", name))
        if limit is not None:
            if q != limit and not _overcommit_allowed(name):
                errs.append(invalid(f"{path}.requests.{name}", str(q), f"must be equal to {name} limit of {limit}"))
            elif q > limit:
                errs.append(invalid(f"{path}.requests.{name}", str(q),
                                    f"must be less than or equal to {name} limit of {limit}"))
        elif not _overcommit_allowed(name) and not (is_map(res.get("limits")) and name in res["limits"]):
            errs.append(required(f"{path}.limits", "Limit must be set for non overcommitable resources"))


_ZERO = Quantity(0)


# ---------------------------------------------------------------- probes

def _probe(errs: list, probe: Any, path: str, must_succeed_once: bool) -> None:
    """``validateProbe`` and ``validateHandler``: one handler, counts >= 0; liveness and startup
    probes succeed once (``successThreshold`` 1)."""
    if not _object(errs, path, probe):
        return
    for name in _PROBE_COUNTS:
        non_negative(errs, f"{path}.{name}", probe.get(name))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and (not is_int(grace) or grace <= 0):
        errs.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0"))
    success = probe.get("successThreshold")
    if must_succeed_once and is_int(success) and success != 1:
        errs.append(invalid(f"{path}.successThreshold", success, "must be 1"))
    handlers = 0
    for h in _HANDLERS:
        action = probe.get(h)
        if action is None:
            continue
        hp = f"{path}.{h}"
        if handlers:
            errs.append(forbidden(hp, "may not specify more than 1 handler type"))
            continue
        handlers += 1
        if not _object(errs, hp, action):
            continue
        if h == "exec":
            command = action.get("command")
            if not command:
                errs.append(required(f"{hp}.command"))
            else:
                _list(errs, f"{hp}.command", command)
        elif h == "grpc":
            _port_number(errs, f"{hp}.port", action.get("port"))
        else:
            if action.get("port") is None:
                errs.append(required(f"{hp}.port"))
            else:
                port_number_or_name(errs, f"{hp}.port", action["port"])
            if h == "httpGet":
                _string(errs, f"{hp}.path", action.get("path"))
                _enum(errs, f"{hp}.scheme", action.get("scheme"), _HTTP_SCHEMES)
    if not handlers:
        errs.append(required(path, "must specify a handler type"))


# ---------------------------------------------------------------- taints and tolerations

def _tolerations(errs: list, tolerations: Sequence, path: str) -> None:
    """``validateTolerations``."""
    for i, t in enumerate(tolerations):
        p = f"{path}[{i}]"
        if not _object(errs, p, t):
            continue
        key, op, value = t.get("key") or "", t.get("operator") or "", t.get("value") or ""
        if not (_string(errs, f"{p}.key", key) and _string(errs, f"{p}.operator", op)
                and _string(errs, f"{p}.value", value)):
            continue
        if key:
            errs += [invalid(f"{p}.key", key, m) for m in _v.validate_label_key(key)]
        elif op != "Exists":
            errs.append(invalid(f"{p}.operator", op, "operator must be Exists when `key` is empty, "
                                                     "which means \"match all values and all keys\""))
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            errs.append(invalid(f"{p}.effect", t.get("effect") or "",
                                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("", "Equal"):
            errs += [invalid(f"{p}.value", value, m) for m in _v.validate_label_value(value)]
        elif op == "Exists":
            if value:
                errs.append(invalid(f"{p}.operator", Bare(f"{{key: {key}, value: {value}}}"),
                                    "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(not_supported(f"{p}.operator", op, ("Equal", "Exists")))
        effect = t.get("effect")
        if effect:
            _enum(errs, f"{p}.effect", effect, TAINT_EFFECTS)


def validate_taints(taints: Any, path: str) -> list[FieldError]:
    """``validateNodeTaints``: keys and values as labels, a known effect, one taint per key and effect."""
    errs: list[FieldError] = []
    if taints is None or not _list(errs, path, taints):
        return errs
    seen: set = set()
    for i, t in enumerate(taints):
        p = f"{path}[{i}]"
        if not _object(errs, p, t):
            continue
        key, value, effect = t.get("key"), t.get("value") or "", t.get("effect")
        if not key:
            errs.append(required(f"{p}.key"))   # ValidateLabelName of "": name part must be non-empty
        elif _string(errs, f"{p}.key", key):
            errs += [invalid(f"{p}.key", key, m) for m in _v.validate_label_key(key)]
        if _string(errs, f"{p}.value", value):
            errs += [invalid(f"{p}.value", value, m) for m in _v.validate_label_value(value)]
        if not effect:
            errs.append(required(f"{p}.effect"))
        else:
            _enum(errs, f"{p}.effect", effect, TAINT_EFFECTS)
        if (key, effect) in seen:
            e = duplicate(p, Bare(f"{key}:{effect}"))
            errs.append(FieldError(e.type, e.field, e.value, "taints must be unique by key and effect pair"))
        seen.add((key, effect))
    return errs


# ---------------------------------------------------------------- templates

def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """``ValidatePodTemplateSpec``: the template's labels and annotations, then its pod spec."""
    if template is None:
        return [required(path)]
    errs: list[FieldError] = []
    if not _object(errs, path, template):
        return errs
    meta = template.get("metadata") or {}
    if not _object(errs, f"{path}.metadata", meta):
        return errs
    errs += validate_labels(meta.get("labels"), f"{path}.metadata.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.metadata.annotations")
    spec = template.get("spec")
    if spec is None:
        errs.append(required(f"{path}.spec.containers"))
    else:
        errs += validate_pod_spec(spec, f"{path}.spec")
    return errs
