"""Kubernetes defaulting, kind by kind (what the API server fills in).

Each function fills only what is missing in a plain-dict spec, so applying
defaults twice changes nothing. The values are Kubernetes' own
(``pkg/apis/*/v1/defaults.go``).
"""

from __future__ import annotations

from typing import Callable

__all__ = ["DEFAULT_SCHEDULER", "apply", "pod_spec", "container", "probe", "deployment", "replicaset",
           "statefulset", "daemonset", "job", "cronjob", "service", "pod", "hpa"]

DEFAULT_SCHEDULER = "default-scheduler"


def _set(d: dict, key: str, value) -> None:
    if d.get(key) is None:
        d[key] = value


def probe(p: dict) -> None:
    _set(p, "timeoutSeconds", 1)
    _set(p, "periodSeconds", 10)
    _set(p, "successThreshold", 1)
    _set(p, "failureThreshold", 3)
    if isinstance(p.get("httpGet"), dict):
        _set(p["httpGet"], "scheme", "HTTP")


def container(c: dict) -> None:
    for port in c.get("ports") or ():
        _set(port, "protocol", "TCP")
    for name in ("readinessProbe", "livenessProbe", "startupProbe"):
        if isinstance(c.get(name), dict):
            probe(c[name])


def pod_spec(spec: dict, restart_policy: str = "Always") -> dict:
    _set(spec, "restartPolicy", restart_policy)
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "schedulerName", DEFAULT_SCHEDULER)
    for part in ("containers", "initContainers"):
        for c in spec.get(part) or ():
            if isinstance(c, dict):
                container(c)
    return spec


def _template(spec: dict, restart_policy: str = "Always") -> None:
    t = spec.setdefault("template", {})
    if isinstance(t, dict):
        t.setdefault("metadata", {})
        if isinstance(t.setdefault("spec", {}), dict):
            pod_spec(t["spec"], restart_policy)


def deployment(spec: dict) -> dict:
    _set(spec, "replicas", 1)
    strategy = spec.setdefault("strategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        _set(ru, "maxUnavailable", "25%")
        _set(ru, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(spec)
    return spec


def replicaset(spec: dict) -> dict:
    _set(spec, "replicas", 1)
    _template(spec)
    return spec


def statefulset(spec: dict) -> dict:
    _set(spec, "replicas", 1)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(strategy.setdefault("rollingUpdate", {}), "partition", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)
    return spec


def daemonset(spec: dict) -> dict:
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        _set(ru, "maxUnavailable", 1)
        _set(ru, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(spec)
    return spec


def job(spec: dict) -> dict:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    _set(spec, "parallelism", 1)
    _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _template(spec, restart_policy="Never")
    return spec


def cronjob(spec: dict) -> dict:
    _set(spec, "concurrencyPolicy", "Allow")
    _set(spec, "suspend", False)
    _set(spec, "successfulJobsHistoryLimit", 3)
    _set(spec, "failedJobsHistoryLimit", 1)
    jt = spec.setdefault("jobTemplate", {})
    if isinstance(jt, dict):
        jt.setdefault("metadata", {})
        if isinstance(jt.setdefault("spec", {}), dict):
            job(jt["spec"])
    return spec


def service(spec: dict) -> dict:
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            _set(port, "protocol", "TCP")
            _set(port, "targetPort", port.get("port"))
    return spec


def pod(spec: dict) -> dict:
    return pod_spec(spec)


def hpa(spec: dict) -> dict:
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    return spec


_BY_KIND: dict[str, Callable[[dict], dict]] = {
    "Deployment": deployment, "ReplicaSet": replicaset, "StatefulSet": statefulset,
    "DaemonSet": daemonset, "Job": job, "CronJob": cronjob, "Service": service,
    "Pod": pod, "HorizontalPodAutoscaler": hpa,
}


def apply(kind: str, spec: dict) -> dict:
    """Fill in Kubernetes' defaults for ``kind`` in a plain-dict ``spec``."""
    fn = _BY_KIND.get(kind)
    return fn(spec) if fn else spec
