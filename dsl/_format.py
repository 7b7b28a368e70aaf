"""``dsl.format``: model objects -> canonical text of the language.

The output is canonical: one field per line, two-space indents, fields in a
fixed order, Kubernetes defaults left out. ``parse(format(m)) == m`` for
every manifest the language can express; :func:`lossy_fields` names what a
manifest holds that the language cannot (for ``reconcile convert``).
"""

from __future__ import annotations

import json

from reconcile.api import labels as _labels
from reconcile.api import model as _model
from reconcile.api.diff import diff_fields
from reconcile.api.model import thaw
from reconcile.api.quantity import format_duration
from dsl._build_rules import ACTIONS, FIELD_KEYS
from dsl._format_pod import WORKLOAD_WORD, Writer, pairs_text, value_text, write_pod

__all__ = ["format", "lossy_fields"]

def _selector_text(label_selector: dict) -> str:
    sel = _labels.from_label_selector(label_selector.get("matchLabels"),
                                      label_selector.get("matchExpressions"))
    return str(sel)


_JOB_SETTINGS = (("backoffLimit", "backoff-limit", 6, False), ("activeDeadlineSeconds", "active-deadline", None, True),
                 ("ttlSecondsAfterFinished", "ttl-after-finished", None, True))


def _job_fields(w: Writer, spec: dict) -> None:
    c, p = spec.get("completions"), spec.get("parallelism")
    if c is not None and not (c == 1 and p == 1):
        w.line(f"completions {c}")
    if p != 1 or c is None:
        w.line(f"parallelism {p}")
    for key, word, default, seconds in _JOB_SETTINGS:
        if spec.get(key) is not None and spec[key] != default:
            w.line(f"{word} {format_duration(spec[key]) if seconds else spec[key]}")
    if spec.get("completionMode", "NonIndexed") != "NonIndexed":
        w.line("completion-mode indexed")
    if spec.get("suspend"):
        w.line("suspend")


def _strategy(kind: str, s: dict) -> str | None:
    t = s.get("type", "RollingUpdate")
    if t != "RollingUpdate":
        return "strategy " + {"Recreate": "recreate", "OnDelete": "on-delete"}[t]
    ru = s.get("rollingUpdate") or {}
    defaults = {"Deployment": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "DaemonSet": {"maxSurge": 0, "maxUnavailable": 1},
                "StatefulSet": {"partition": 0}}[kind]
    words = {"maxSurge": "max-surge", "maxUnavailable": "max-unavailable", "partition": "partition"}
    opts = [f"{words[k]}={v}" for k, v in ru.items() if defaults.get(k, None) != v]
    return "strategy rolling" + "".join(" " + o for o in sorted(opts)) if opts else None


def _workload(w: Writer, o) -> None:
    kind = o.kind
    spec = thaw(o.spec)
    meta = o.metadata
    w.open(f"{WORKLOAD_WORD[kind]} {o.name}")
    job = spec
    if kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = job.get("template") or {}
    pod_labels = (template.get("metadata") or {}).get("labels") or {}
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        w.line(f"replicas {spec.get('replicas')}")
    if pod_labels:
        w.line(f"labels {pairs_text(pod_labels)}")
    if meta.annotations:
        w.line(f"annotations {pairs_text(dict(meta.annotations))}")
    if kind not in ("Job", "CronJob") and spec.get("selector") != {"matchLabels": pod_labels}:
        w.line(f"selector {_selector_text(spec.get('selector') or {})}")
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        text = _strategy(kind, spec.get("strategy" if kind == "Deployment" else "updateStrategy") or {})
        if text:
            w.line(text)
    if spec.get("minReadySeconds"):
        w.line(f"min-ready {format_duration(spec['minReadySeconds'])}")
    if kind in ("Deployment", "StatefulSet", "DaemonSet") and spec.get("revisionHistoryLimit", 10) != 10:
        w.line(f"revision-history {spec['revisionHistoryLimit']}")
    if kind == "Deployment":
        if spec.get("progressDeadlineSeconds", 600) != 600:
            w.line(f"progress-deadline {format_duration(spec['progressDeadlineSeconds'])}")
        if spec.get("paused"):
            w.line("paused")
    if kind == "StatefulSet":
        if spec.get("serviceName"):
            w.line(f"service-name {spec['serviceName']}")
        if spec.get("podManagementPolicy", "OrderedReady") != "OrderedReady":
            w.line("pod-management parallel")
    if kind == "CronJob":
        w.line(f"schedule {json.dumps(spec.get('schedule', ''))}")
        if spec.get("concurrencyPolicy", "Allow") != "Allow":
            w.line(f"concurrency {spec['concurrencyPolicy'].lower()}")
        if spec.get("suspend"):
            w.line("suspend")
        for key, word, default in (("successfulJobsHistoryLimit", "keep-successful", 3),
                                   ("failedJobsHistoryLimit", "keep-failed", 1)):
            if spec.get(key, default) != default:
                w.line(f"{word} {spec[key]}")
        if spec.get("startingDeadlineSeconds") is not None:
            w.line(f"starting-deadline {format_duration(spec['startingDeadlineSeconds'])}")
    if kind in ("Job", "CronJob"):
        _job_fields(w, job)
    write_pod(w, kind, template)
    w.close()


def _meta_lines(w: Writer, meta) -> None:
    if meta.labels:
        w.line(f"labels {pairs_text(dict(meta.labels))}")
    if meta.annotations:
        w.line(f"annotations {pairs_text(dict(meta.annotations))}")


def _node_body(w: Writer, o) -> None:
    _meta_lines(w, o.metadata)
    status = thaw(o.status)
    if status.get("capacity"):
        w.line(f"capacity {pairs_text(status['capacity'])}")
    for t in o.spec.get("taints") or ():
        key = f"{t['key']}={value_text(t['value'])}" if t.get("value") is not None else t["key"]
        w.line(f"taint {key}:{t['effect']}")
    if o.spec.get("unschedulable"):
        w.line("unschedulable")


def _nodes(w: Writer, group: list) -> None:
    first = group[0]
    if len(group) > 1:
        base = first.name.rsplit("-", 1)[0]
        w.open(f"nodes {base} x{len(group)}")
    else:
        w.open(f"nodes {first.name}")
    _node_body(w, first)
    w.close()


def _same_node(a, b) -> bool:
    return a.spec == b.spec and a.status == b.status and a.metadata.labels == b.metadata.labels \
        and a.metadata.annotations == b.metadata.annotations


def _service(w: Writer, o) -> None:
    spec = thaw(o.spec)
    w.open(f"service {o.name}")
    _meta_lines(w, o.metadata)
    if spec.get("selector"):
        w.line("selector " + ",".join(f"{k}={v}" for k, v in sorted(spec["selector"].items())))
    for p in spec.get("ports") or ():
        parts = [p["name"]] if p.get("name") else []
        parts.append(str(p.get("port")))
        if p.get("protocol", "TCP") != "TCP":
            parts.append(p["protocol"].lower())
        if p.get("targetPort") is not None and p.get("targetPort") != p.get("port"):
            parts += ["->", str(p["targetPort"])]
        w.line("port " + " ".join(parts))
    if spec.get("clusterIP") == "None":
        w.line("type headless")
    elif spec.get("type", "ClusterIP") != "ClusterIP":
        w.line("type " + {"NodePort": "node-port", "LoadBalancer": "load-balancer"}[spec["type"]])
    w.close()


def _autoscale(w: Writer, o) -> None:
    spec = thaw(o.spec)
    ref = spec.get("scaleTargetRef") or {}
    kind = "" if ref.get("kind") == "Deployment" else WORKLOAD_WORD[ref["kind"]] + " "
    w.open(f"autoscale {kind}{ref.get('name', o.name)}")
    if spec.get("minReplicas", 1) != 1:
        w.line(f"min {spec['minReplicas']}")
    w.line(f"max {spec.get('maxReplicas')}")
    metrics = spec.get("metrics") or []
    default = [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 80}}}]
    if metrics != default:
        for m in metrics:
            r = m.get("resource") or {}
            t = r.get("target") or {}
            amount = f"{t['averageUtilization']}%" if t.get("type") == "Utilization" else t.get("averageValue")
            w.line(f"target {r.get('name')} {amount}")
    w.close()


def _selector_with_fields(selector: str, field_selector: str) -> str:
    parts = [str(r) for r in _labels.parse(selector).requirements] if selector else []
    back = {v: k for k, v in FIELD_KEYS.items()}
    for f in filter(None, (field_selector or "").split(",")):
        op = "!=" if "!=" in f else "="
        path, value = f.split(op, 1)
        parts.append(f"{back[path]}{op}{value}")
    return ", ".join(parts)


def _plural(kind: str) -> str:
    return _model.KINDS[kind].PLURAL


def _rule(w: Writer, o) -> None:
    spec = thaw(o.spec)
    when, then = spec.get("when") or {}, spec.get("then") or {}
    w.open(f"rule {o.name}")
    sel = _selector_with_fields(when.get("selector", ""), when.get("fieldSelector", ""))
    text = f"when count {_plural(when['kind'])}({sel}) {when['operator']} {when['count']}"
    if when.get("forSeconds") is not None:
        text += f" for {format_duration(when['forSeconds'])}"
    w.line(text)
    verb = " ".join(next(k for k, v in ACTIONS.items() if v == then.get("action")))
    if then.get("action") == "Delete" and "name" not in then:
        sel = _selector_with_fields(then.get("selector", ""), then.get("fieldSelector", ""))
        w.line(f"then {verb} {_plural(then['kind'])}({sel})")
    else:
        text = f"then {verb} {then['kind'].lower()} {then['name']}"
        if then.get("action") == "Scale":
            text += f" {then['replicas']}"
        w.line(text)
    w.close()


def _policy(w: Writer, o) -> None:
    spec = thaw(o.spec)
    deny = spec.get("deny") or {}
    w.open(f"policy {o.name}")
    w.line(f"deny {_plural(deny['kind'])} where {deny.get('where', '')}")
    w.line(f"message {json.dumps(spec.get('message', ''))}")
    w.close()


def format(manifest) -> str:
    """Canonical text of the language for a manifest (a sequence of model objects).

    >>> from dsl import parse
    >>> print(format(parse("service web { selector app=web port 80 -> http }")), end="")
    service web {
      selector app=web
      port 80 -> http
    }
    """
    w = Writer()
    current = "default"
    objects = list(manifest)
    i = 0
    while i < len(objects):
        o = objects[i]
        if w.lines:
            w.lines.append("")
        if o.kind == "Namespace":
            if o.metadata.labels or o.metadata.annotations:
                w.open(f"namespace {o.name}")
                _meta_lines(w, o.metadata)
                w.close()
            else:
                w.line(f"namespace {o.name}")
            current = o.name
            i += 1
            continue
        if o.metadata.namespace and o.metadata.namespace != current:
            w.line(f"in namespace {o.metadata.namespace}")
            current = o.metadata.namespace
        if o.kind == "Node":
            group = [o]
            base, _, n = o.name.rpartition("-")
            if base and n == "1":
                while i + len(group) < len(objects):
                    nxt = objects[i + len(group)]
                    if nxt.kind == "Node" and nxt.name == f"{base}-{len(group) + 1}" and _same_node(o, nxt):
                        group.append(nxt)
                    else:
                        break
            _nodes(w, group)
            i += len(group)
            continue
        if o.kind in WORKLOAD_WORD:
            _workload(w, o)
        elif o.kind == "Service":
            _service(w, o)
        elif o.kind == "HorizontalPodAutoscaler":
            _autoscale(w, o)
        elif o.kind == "Rule":
            _rule(w, o)
        elif o.kind == "Policy":
            _policy(w, o)
        else:
            raise ValueError(f"a {o.kind} has no form in the language (it is made by the cluster, "
                             "not described); use YAML for it")
        i += 1
    return "\n".join(w.lines) + ("\n" if w.lines else "")


def lossy_fields(manifest) -> list[str]:
    """What of ``manifest`` the language's text cannot carry (empty when the round trip is exact)."""
    from dsl._parser import parse
    text = format(manifest)
    back = parse(text)
    problems = []
    if len(back) != len(manifest):
        return [f"{len(manifest)} objects became {len(back)}"]
    for a, b in zip(manifest, back):
        if a != b:
            problems.extend(f"{a.kind} {a.name}: {path} ({old!r} is lost)"
                            for path, old, _ in diff_fields(a.to_dict(), b.to_dict()))
    return problems

