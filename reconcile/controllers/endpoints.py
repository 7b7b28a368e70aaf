"""The Endpoints controller: each Service's ready (and not-ready) pod addresses and ports.

Kubernetes semantics (``pkg/controller/endpoint``): for a Service with a
selector, an ``Endpoints`` object of the same name lists, per distinct port
set, the addresses of the selected pods: ready pods under ``addresses``,
the others under ``notReadyAddresses``; terminating and finished pods are
left out. A service port's ``targetPort`` is a number, or the name of a
container port (looked up in each pod, so pods may differ).
"""

from __future__ import annotations

from reconcile.api import labels
from reconcile.engine.actions import Create, Delete, Result, Update
from reconcile.controllers.workloads import is_active, is_ready
from reconcile.engine import Rule
from reconcile.api.model import Endpoints, freeze

__all__ = ["reconcile_endpoints", "RULE", "endpoint_subsets"]


def _target_port(pod, port) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in pod.spec.get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == target and p.get("protocol", "TCP") == port.get("protocol", "TCP"):
                return p.get("containerPort")
    return None


def endpoint_subsets(service, pods) -> list:
    """The ``subsets`` of a service's Endpoints for the given pods (sorted, deterministic)."""
    groups: dict = {}
    for pod in pods:
        if not is_active(pod) or not pod.spec.get("nodeName"):
            continue
        ports = []
        for port in service.spec.get("ports") or ():
            number = _target_port(pod, port)
            if number is None:
                continue
            entry = {"port": number, "protocol": port.get("protocol", "TCP")}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
        if not ports:
            continue
        key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        group = groups.setdefault(key, {"ports": ports, "addresses": [], "notReadyAddresses": []})
        address = {"ip": pod.status.get("podIP") or "", "nodeName": pod.spec.get("nodeName"),
                   "targetRef": {"kind": "Pod", "namespace": pod.metadata.namespace, "name": pod.name,
                                 "uid": pod.metadata.uid}}
        group["addresses" if is_ready(pod) else "notReadyAddresses"].append(address)
    subsets = []
    for key in sorted(groups):
        g = groups[key]
        subset = {"ports": sorted(g["ports"], key=lambda p: (p.get("name", ""), p["port"]))}
        for part in ("addresses", "notReadyAddresses"):
            if g[part]:
                subset[part] = sorted(g[part], key=lambda a: (a["targetRef"]["name"]))
        subsets.append(subset)
    return subsets


def reconcile_endpoints(snapshot, key, now: float) -> Result:
    _, ns, name = key
    service = snapshot.get("Service", name, ns)
    current = snapshot.get("Endpoints", name, ns)
    if service is None or not service.spec.get("selector"):
        if current is not None and service is None:
            return Result((Delete("Endpoints", name, ns),))
        return Result()
    pods = snapshot.list("Pod", ns, _selector(service))
    subsets = freeze(endpoint_subsets(service, pods))
    if current is None:
        ep = Endpoints.new(name, ns, labels=dict(service.metadata.labels))
        return Result((Create(ep.set(spec=ep.spec.set("subsets", subsets))),))
    if current.spec.get("subsets") != subsets:
        return Result((Update(current.set(spec=current.spec.set("subsets", subsets))),))
    return Result()


def _selector(service):
    return labels.from_set(dict(service.spec["selector"]))


def _pod_to_services(event, snapshot):
    """Services selecting the pod, before or after the change (a relabel leaves one, joins another)."""
    if not snapshot.objects.get("Service"):
        return []
    pod = event.object
    label_sets = [pod.metadata.labels] + ([event.old.metadata.labels] if event.old is not None else [])
    return [s.key for s in snapshot.list("Service", pod.metadata.namespace)
            if s.spec.get("selector") and any(all(ls.get(k) == v for k, v in s.spec["selector"].items())
                                              for ls in label_sets)]


def _endpoints_to_service(event, snapshot):
    return [("Service", event.object.metadata.namespace, event.object.name)]


RULE = Rule("endpoints-controller", reconcile_endpoints, primary="Service",
            watches={"Pod": _pod_to_services, "Endpoints": _endpoints_to_service}, priority=50)
