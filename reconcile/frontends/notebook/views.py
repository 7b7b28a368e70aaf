"""How the front ends show cluster objects: kubectl's columns, statuses and rollout messages.

Pure functions of objects (and a snapshot for the node table's pod counts): the ``get`` tables
of :class:`~reconcile.frontends.notebook.session.Session`, the dashboard's cells and ``rollout status``.

>>> from reconcile.api.model import Node
>>> node_status(Node.new("n1", spec={"unschedulable": True}))
'NotReady,SchedulingDisabled'
"""

from __future__ import annotations


import yaml

from reconcile.controllers.workloads import is_ready
from reconcile.controllers.job import job_finished
from reconcile.api.model import KObject, kind_class, thaw
from reconcile.frontends.notebook.commands import SessionError
from reconcile.frontends.notebook.display import age

__all__ = ["rollout_status", "pod_ready", "pod_status", "node_status", "to_yaml", "resource_name", "COLUMNS"]


def rollout_status(obj: KObject) -> tuple[bool, str]:
    """kubectl's rollout status viewers: (done, message) for a Deployment, StatefulSet or DaemonSet.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("web", spec={"replicas": 3}, status={"observedGeneration": 1, "replicas": 3,
    ...                    "updatedReplicas": 1, "availableReplicas": 3})
    >>> rollout_status(d.set(metadata=d.metadata.set(generation=1)))
    (False, 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...')
    """
    st, spec, name = obj.status, obj.spec, obj.name
    observed = st.get("observedGeneration") or 0
    if obj.kind == "Deployment":
        if obj.metadata.generation > observed:
            return False, "Waiting for deployment spec update to be observed..."
        for c in st.get("conditions") or ():
            if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
                raise SessionError(f'deployment "{name}" exceeded its progress deadline')
        want = spec.get("replicas", 1)
        updated, total, available = (st.get("updatedReplicas", 0), st.get("replicas", 0),
                                     st.get("availableReplicas", 0))
        wait = f'Waiting for deployment "{name}" rollout to finish: '
        if updated < want:
            return False, wait + f"{updated} out of {want} new replicas have been updated..."
        if total > updated:
            return False, wait + f"{total - updated} old replicas are pending termination..."
        if available < updated:
            return False, wait + f"{available} of {updated} updated replicas are available..."
        return True, f'deployment "{name}" successfully rolled out'
    if obj.kind == "StatefulSet":
        if observed == 0 or obj.metadata.generation > observed:
            return False, "Waiting for statefulset spec update to be observed..."
        want, ready = spec.get("replicas", 1), st.get("readyReplicas", 0)
        if ready < want:
            return False, f"Waiting for {want - ready} pods to be ready..."
        if st.get("updateRevision") != st.get("currentRevision"):
            return False, (f"waiting for statefulset rolling update to complete {st.get('updatedReplicas', 0)} "
                           f"pods at revision {st.get('updateRevision')}...")
        return True, f"statefulset rolling update complete {want} pods at revision {st.get('currentRevision')}..."
    if obj.kind == "DaemonSet":
        if obj.metadata.generation > observed:
            return False, "Waiting for daemon set spec update to be observed..."
        want = st.get("desiredNumberScheduled", 0)
        updated, available = st.get("updatedNumberScheduled", 0), st.get("numberAvailable", 0)
        if updated < want:
            return False, (f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {want} new pods '
                           "have been updated...")
        if available < want:
            return False, (f'Waiting for daemon set "{name}" rollout to finish: {available} of {want} updated '
                           "pods are available...")
        return True, f'daemon set "{name}" successfully rolled out'
    return True, f"{obj.kind.lower()}/{name}"


def to_yaml(obj: KObject) -> str:
    return yaml.safe_dump(thaw(obj.to_dict()), sort_keys=False, default_flow_style=False)


def resource_name(kind: str) -> str:
    """kubectl's resource name of a kind: ``deployment.apps``, ``job.batch``, ``service``."""
    cls = kind_class(kind)
    group = cls.API_VERSION.split("/")[0] if "/" in cls.API_VERSION else ""
    return f"{cls.KIND.lower()}.{group}" if group else cls.KIND.lower()


pod_ready = is_ready        # whether the object's Ready condition is True (the controllers' own test)


def pod_status(p: KObject) -> str:
    """kubectl's STATUS column of a pod."""
    if p.metadata.deletionTimestamp is not None:
        return "Terminating"
    for c in p.status.get("containerStatuses") or ():
        state = c.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason"):
            return state["waiting"]["reason"]
        if "terminated" in state and p.status.get("phase") not in ("Succeeded", "Failed"):
            return state["terminated"].get("reason") or "Error"
    if p.status.get("phase") == "Succeeded":
        return "Completed"
    return p.status.get("phase") or "Pending"


def _age(o, now):
    created = o.metadata.creationTimestamp
    return age(now - created) if created is not None else "<unknown>"


def _pod_row(snap, p, now):
    cs = p.status.get("containerStatuses") or ()
    n = len(p.spec.get("containers") or ())
    ready = sum(1 for c in cs if c.get("ready"))
    restarts = sum(c.get("restartCount", 0) for c in cs)
    return [p.name, f"{ready}/{n}", pod_status(p), str(restarts), _age(p, now), p.spec.get("nodeName") or "<none>"]


def node_status(node: KObject) -> str:
    """kubectl's STATUS of a node: ``Ready``, ``NotReady`` or ``Unknown``, then ``,SchedulingDisabled``
    when it is cordoned."""
    ready = next((c.get("status") for c in node.status.get("conditions") or () if c.get("type") == "Ready"), None)
    text = {"True": "Ready", "Unknown": "Unknown"}.get(ready, "NotReady")
    return text + (",SchedulingDisabled" if node.spec.get("unschedulable") else "")


def _node_row(snap, n, now):
    pods = sum(1 for _ in snap.pods_on_node(n.name))
    return [n.name, node_status(n), str(pods), _age(n, now)]


def _deployment_row(snap, d, now):
    st = d.status
    return [d.name, f"{st.get('readyReplicas', 0)}/{d.spec.get('replicas', 1)}", str(st.get("updatedReplicas", 0)),
            str(st.get("availableReplicas", 0)), _age(d, now)]


def _replicaset_row(snap, r, now):
    st = r.status
    return [r.name, str(r.spec.get("replicas", 1)), str(st.get("replicas", 0)), str(st.get("readyReplicas", 0)),
            _age(r, now)]


def _statefulset_row(snap, o, now):
    return [o.name, f"{o.status.get('readyReplicas', 0)}/{o.spec.get('replicas', 1)}", _age(o, now)]


def _daemonset_row(snap, o, now):
    st = o.status
    return [o.name, *(str(st.get(k, 0)) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                                                  "updatedNumberScheduled", "numberAvailable")), _age(o, now)]


def _job_row(snap, j, now):
    st = j.status
    status = job_finished(j) or ("Suspended" if j.spec.get("suspend") else "Running")
    return [j.name, status, f"{st.get('succeeded', 0)}/{j.spec.get('completions', 1)}", _age(j, now)]


def _service_row(snap, o, now):
    ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in o.spec.get("ports") or ())
    ingress = ((o.status.get("loadBalancer") or {}).get("ingress") or [None])[0]
    external = ",".join(f"{ingress['ip']}:{p['port']}" for p in ingress.get("ports") or ()) if ingress else "<none>"
    return [o.name, o.spec.get("type", "ClusterIP"), external, ports or "<none>", _age(o, now)]


def _namespace_row(snap, o, now):
    return [o.name, "Terminating" if o.metadata.deletionTimestamp else "Active", _age(o, now)]


COLUMNS = {
    "Pod": (["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"], _pod_row),
    "Node": (["NAME", "STATUS", "PODS", "AGE"], _node_row),
    "Deployment": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], _deployment_row),
    "ReplicaSet": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], _replicaset_row),
    "StatefulSet": (["NAME", "READY", "AGE"], _statefulset_row),
    "DaemonSet": (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], _daemonset_row),
    "Job": (["NAME", "STATUS", "COMPLETIONS", "AGE"], _job_row),
    "Service": (["NAME", "TYPE", "EXTERNAL-IP", "PORT(S)", "AGE"], _service_row),
    "Namespace": (["NAME", "STATUS", "AGE"], _namespace_row),
    None: (["NAME", "AGE"], lambda snap, o, now: [o.name, _age(o, now)]),
}
