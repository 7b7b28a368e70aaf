"""Semantic checks and model building: parsed statements -> model objects.

Every error of the file is collected (with its position) before anything is
returned, so a file with any error produces nothing.
"""

from __future__ import annotations

from reconcile.api import labels as _labels
from reconcile.api import model as _model

from dsl._build_pod import EFFECTS, WORKLOAD_KINDS, build_workload, iana_name_problem
from dsl._build_rules import build_policy, build_rule
from dsl._check import Checker
from dsl._errors import Locator

__all__ = ["build"]


def _label_selector(ck: Checker, reqs, pos):
    sel = ck.selector(reqs)
    if sel is None:
        return {}, None
    try:
        d = _labels.to_label_selector(sel) or {}
    except ValueError:
        ck.error("a workload selector cannot use '>' or '<' (Kubernetes label selectors have no "
                 "such operators)", pos)
        return {}, None
    return d, sel


class _Builder:
    def __init__(self, locator: Locator):
        self.ck = Checker(locator)
        self.namespace = "default"
        self.objects: list = []     # (kind, dict, pos)
        self.seen: dict = {}

    def add(self, kind: str, d: dict, pos: int) -> None:
        cls = _model.KINDS[kind]
        meta = d.setdefault("metadata", {})
        if cls.NAMESPACED:
            meta["namespace"] = self.namespace
        key = (kind, meta.get("namespace"), meta["name"])
        if key in self.seen:
            line, _ = self.ck.locator.position(self.seen[key])
            self.ck.error(f"{kind.lower()} {meta['name']!r} is defined twice (first on line {line})", pos)
            return
        self.seen[key] = pos
        self.objects.append((kind, d, pos))

    # -- statements
    def statement(self, st) -> None:
        head = st[0]
        if head in WORKLOAD_KINDS:
            kind = WORKLOAD_KINDS[head]
            name_tok, fields = st[1], st[2]
            name = self.ck.name(name_tok, head) or name_tok[0]
            d = build_workload(self.ck, kind, name, fields,
                               lambda reqs, pos: _label_selector(self.ck, reqs, pos), name_tok[1])
            self.add(kind, d, name_tok[1])
        else:
            getattr(self, "st_" + head)(st)

    def st_namespace(self, st):
        name = self.ck.name(st[1], "namespace", "label") or st[1][0]
        meta = {"name": name}
        self._meta_fields(st[2], meta, "namespace")
        self.namespace = "default"
        self.add("Namespace", {"metadata": meta}, st[1][1])
        self.namespace = name

    def st_in_namespace(self, st):
        self.namespace = self.ck.name(st[1], "namespace", "label") or st[1][0]

    def _meta_fields(self, fields, meta, what, allowed=("labels", "annotations")):
        for fname, pos, payload in fields:
            if fname not in allowed:
                self.ck.error(f"{fname!r} is not a field of a {what}", pos)
            elif fname in meta:
                self.ck.error(f"{fname} is given twice", pos)
            else:
                meta[fname] = self.ck.label_map(payload, fname[:-1])

    def st_nodes(self, st):
        ck = self.ck
        name_tok, rest = st[1], list(st[2])
        count = 1
        grouped = bool(rest) and isinstance(rest[0], tuple) and len(rest[0]) == 3 and rest[0][2] == "COUNT"
        if grouped:
            count = ck.integer((rest[0][0][1:], rest[0][1]), "node count", 1, 10000) or 1
            rest.pop(0)
        base = ck.name(name_tok, "node") or name_tok[0]
        meta: dict = {}
        spec: dict = {}
        status: dict = {}
        for fname, pos, payload in rest:
            if fname in ("labels", "annotations"):
                self._meta_fields([(fname, pos, payload)], meta, "node")
            elif fname == "capacity":
                if "capacity" in status:
                    ck.error("capacity is given twice", pos)
                cap = {}
                for k, v in payload:
                    if k[0] in cap:
                        ck.error(f"capacity {k[0]!r} is set twice", k[1])
                    cap[k[0]] = ck.quantity(v, f"capacity {k[0]}")
                status["capacity"] = cap
                status["allocatable"] = dict(cap)
            elif fname == "taint":
                spec.setdefault("taints", []).extend(self._taint(t) for t in payload)
            elif fname == "unschedulable":
                spec["unschedulable"] = True
            else:
                ck.error(f"{fname!r} is not a field of nodes", pos)
        taints = [(t.get("key"), t.get("effect")) for t in spec.get("taints", ())]
        if len(set(taints)) != len(taints):
            ck.error("a taint with the same key and effect is given twice", name_tok[1])
        for i in range(1, count + 1):
            m = dict(meta, name=f"{base}-{i}" if grouped else base)
            self.add("Node", {"metadata": m, "spec": dict(spec), "status": status}, name_tok[1])

    def _taint(self, toks):
        key = toks[0]
        taint = {"key": key[0]}
        if key[2] == "KEY":
            taint["value"] = toks[1][0]
        taint["effect"] = self.ck.choice(toks[-1], "taint effect", EFFECTS)
        problems = _labels.validate_label_key(key[0])
        if problems:
            self.ck.error(f"invalid taint key {key[0]!r}: {problems[0]}", key[1])
        return taint

    def st_service(self, st):
        ck = self.ck
        name = ck.name(st[1], "service", "1035") or st[1][0]
        meta = {"name": name}
        spec: dict = {}
        ports = []
        for fname, pos, payload in st[2]:
            if fname == "selector":
                if "selector" in spec:
                    ck.error("selector is given twice", pos)
                spec["selector"] = self._service_selector(payload, pos)
            elif fname == "port":
                ports.append(self._service_port(payload, pos))
            elif fname in ("labels", "annotations"):
                self._meta_fields([(fname, pos, payload)], meta, "service")
            elif fname == "type":
                if "type" in spec or "clusterIP" in spec:
                    ck.error("type is given twice", pos)
                t = ck.choice(payload, "service type", _SERVICE_TYPES)
                if t == "Headless":
                    spec["clusterIP"] = "None"
                else:
                    spec["type"] = t
        if not ports:
            ck.missing(f"service {name!r} needs a port, like 'port 80 -> http'", st[1][1])
        if len(ports) > 1:
            for p, pos in ports:
                if "name" not in p:
                    ck.error("when a service has several ports, each needs a name: "
                             "'port NAME NUMBER -> TARGET'", pos)
        seen_names: set = set()
        seen_ports: set = set()
        for p, pos in ports:
            if "name" in p and p["name"] in seen_names:
                ck.error(f"port name {p['name']!r} is used twice in service {name!r}", pos)
            seen_names.add(p.get("name"))
            key = (p.get("port"), p.get("protocol", "TCP"))
            if key in seen_ports:
                ck.error(f"port {key[0]}/{key[1]} is given twice in service {name!r}", pos)
            seen_ports.add(key)
        spec["ports"] = [p for p, _ in ports]
        self.add("Service", {"metadata": meta, "spec": spec}, st[1][1])
        self._service_targets.append((self.namespace, name, spec, ports))

    _service_targets: list

    def _service_selector(self, reqs, pos):
        pairs = []
        for key, op, values in reqs:
            if op not in ("=", "=="):
                self.ck.error("a service selector only has key=value requirements "
                              f"(got {key[0]} {op} ...)", key[1])
                continue
            pairs.append((key, values[0]))
        return self.ck.label_map(pairs, "label")   # checks keys and values the Kubernetes way

    def _service_port(self, toks, pos):
        ck = self.ck
        words = list(toks)
        target = None
        if words and words[-1][0] == "->":
            target = list(words.pop()[2])
        entry: dict = {}
        if len(words) > 1 and not words[0][0].isdigit():
            tok = words.pop(0)
            entry["name"] = ck.name(tok, "service port", "label") or tok[0]
        if words:
            entry["port"] = ck.port_number(words.pop(0), "service port")
        if words:
            entry["protocol"] = ck.choice(words.pop(0), "port protocol",
                                          {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"})
        if target:
            t = target.pop(0)
            if t[0].isdigit():
                entry["targetPort"] = ck.port_number(t, "target port")
            else:
                problem = iana_name_problem(t[0])
                if problem:
                    ck.error(f"invalid target port name {t[0]!r}: {problem}", t[1])
                entry["targetPort"] = t[0]
            entry["_target_pos"] = t[1]
            for extra in target:
                ck.error(f"unexpected {extra[0]!r} after the target port", extra[1])
        return entry, pos

    def st_autoscale(self, st):
        ck = self.ck
        c = list(st[1])
        target_kind = "Deployment"
        if len(c) > 1 and c[0][2] in ("DEPLOYMENT", "REPLICASET", "STATEFULSET", "DAEMONSET",
                                        "JOB", "CRONJOB"):
            target_kind = WORKLOAD_KINDS[c.pop(0)[0]]
            if target_kind not in ("Deployment", "ReplicaSet", "StatefulSet"):
                ck.error(f"a {target_kind.lower()} cannot be autoscaled", st[1][0][1])
        name_tok = c.pop(0)
        name = ck.name(name_tok, "autoscaler") or name_tok[0]
        spec: dict = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": name}}
        metrics = []
        for fname, pos, payload in c:
            if fname in ("min", "max"):
                key = "minReplicas" if fname == "min" else "maxReplicas"
                if key in spec:
                    ck.error(f"{fname} is given twice", pos)
                spec[key] = ck.integer(payload, fname, 1)
            else:
                metrics.append(self._metric(*payload))
        if "maxReplicas" not in spec:
            ck.missing("autoscale needs a max, like 'max 10'", name_tok[1])
        elif (spec.get("minReplicas") or 1) > (spec["maxReplicas"] or 0):
            ck.error("min must not be more than max", name_tok[1])
        if metrics:
            spec["metrics"] = metrics
        self.add("HorizontalPodAutoscaler", {"metadata": {"name": name}, "spec": spec}, name_tok[1])

    def _metric(self, resource, amount):
        ck = self.ck
        if resource[0] not in ("cpu", "memory"):
            ck.error(f"autoscale targets cpu or memory, got {resource[0]!r}", resource[1])
        if amount[0].endswith("%"):
            n = ck.integer((amount[0][:-1], amount[1]), f"target {resource[0]}", 1)
            target = {"type": "Utilization", "averageUtilization": n}
        else:
            target = {"type": "AverageValue", "averageValue": ck.quantity(amount, f"target {resource[0]}")}
        return {"type": "Resource", "resource": {"name": resource[0], "target": target}}

    def st_rule(self, st):
        name = self.ck.name(st[1], "rule") or st[1][0]
        self.add("Rule", {"metadata": {"name": name}, "spec": build_rule(self.ck, st[2])}, st[1][1])

    def st_policy(self, st):
        name = self.ck.name(st[1], "policy") or st[1][0]
        self.add("Policy", {"metadata": {"name": name}, "spec": build_policy(self.ck, st[2])}, st[1][1])

    # -- checks across objects
    def check_service_targets(self):
        """A service port that targets a port by name must find it on the pods it selects."""
        by_label: dict = {}   # (namespace, key, value) -> pod templates with that label
        for kind, d, _ in self.objects:
            if kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
                template = d["spec"].get("template") or {}
                labels = (template.get("metadata") or {}).get("labels") or {}
                ns = d["metadata"]["namespace"]
                for k, v in labels.items():
                    by_label.setdefault((ns, k, v), []).append((labels, template.get("spec") or {}))
        for ns, name, spec, ports in self._service_targets:
            sel = spec.get("selector")
            targets = [(p, p.pop("_target_pos", None)) for p, _ in ports]
            if not sel:
                continue
            k0, v0 = next(iter(sel.items()))
            matched = [pspec for labels, pspec in by_label.get((ns, k0, v0), ())
                       if all(labels.get(k) == v for k, v in sel.items())]
            if not matched:
                continue
            names = {p.get("name") for pspec in matched for c in pspec.get("containers", ())
                     for p in c.get("ports") or ()}
            for p, pos in targets:
                t = p.get("targetPort")
                if isinstance(t, str) and t not in names:
                    known = ", ".join(sorted(n for n in names if n)) or "none"
                    self.ck.missing(f"service {name!r} targets port {t!r}, but the pods it selects "
                                  f"have no port of that name (their ports: {known})", pos)


_SERVICE_TYPES = {"cluster-ip": "ClusterIP", "node-port": "NodePort", "load-balancer": "LoadBalancer",
                  "headless": "Headless", "ClusterIP": "ClusterIP", "NodePort": "NodePort",
                  "LoadBalancer": "LoadBalancer"}


def build(statements, locator: Locator):
    """Statements -> (list of (kind, dict, position of its name) in file order, list of errors)."""
    b = _Builder(locator)
    b._service_targets = []
    for st in statements:
        b.statement(st)
    b.check_service_targets()
    return list(b.objects), b.ck.errors
