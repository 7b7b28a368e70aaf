"""Workloads, pod templates and containers: fields of the language -> Kubernetes JSON."""

from __future__ import annotations

import json
import re

from dsl._check import Checker

__all__ = ["build_workload", "WORKLOAD_KINDS", "CALL_PREFIX", "IMAGE_KEYS", "iana_name_problem"]

# `call module:function` runs a Python callable through this module.
CALL_PREFIX = ("python", "-m", "cluster_ray.call")

WORKLOAD_KINDS = {
    "deployment": "Deployment", "replicaset": "ReplicaSet", "statefulset": "StatefulSet",
    "daemonset": "DaemonSet", "job": "Job", "cronjob": "CronJob",
}

_POD_FIELDS = {"labels", "annotations", "pod-annotations", "image", "container", "init-container",
               "node-selector",
               "tolerate", "restart", "termination-grace", "scheduler", "service-account"}
_JOB_FIELDS = {"completions", "parallelism", "backoff-limit", "active-deadline",
               "ttl-after-finished", "completion-mode", "suspend"}
FIELDS = {
    "Deployment": _POD_FIELDS | {"replicas", "selector", "strategy", "min-ready", "revision-history",
                                 "progress-deadline", "paused"},
    "ReplicaSet": _POD_FIELDS | {"replicas", "selector", "min-ready"},
    "StatefulSet": _POD_FIELDS | {"replicas", "selector", "strategy", "min-ready", "revision-history",
                                  "service-name", "pod-management"},
    "DaemonSet": _POD_FIELDS | {"selector", "strategy", "min-ready", "revision-history"},
    "Job": _POD_FIELDS | _JOB_FIELDS,
    "CronJob": _POD_FIELDS | _JOB_FIELDS | {"schedule", "concurrency", "keep-successful",
                                            "keep-failed", "starting-deadline"},
}

# language option -> Ray runtime_env key
IMAGE_KEYS = {"pip": "pip", "uv": "uv", "conda": "conda", "env": "env_vars",
              "working-dir": "working_dir", "py-modules": "py_modules", "excludes": "excludes",
              "py-executable": "py_executable"}
_IMAGE_LISTS = {"pip", "uv", "py_modules", "excludes"}

_STRATEGIES = {
    "Deployment": {"rolling": "RollingUpdate", "recreate": "Recreate"},
    "StatefulSet": {"rolling": "RollingUpdate", "on-delete": "OnDelete"},
    "DaemonSet": {"rolling": "RollingUpdate", "on-delete": "OnDelete"},
}
_STRATEGY_OPTIONS = {
    "Deployment": {"max-surge": "maxSurge", "max-unavailable": "maxUnavailable"},
    "StatefulSet": {"partition": "partition", "max-unavailable": "maxUnavailable"},
    "DaemonSet": {"max-surge": "maxSurge", "max-unavailable": "maxUnavailable"},
}
RESTART = {"always": "Always", "on-failure": "OnFailure", "never": "Never"}
_PROBE_NAMES = {"readiness": "readinessProbe", "liveness": "livenessProbe", "startup": "startupProbe"}
_PROBE_OPTIONS = {"every": "periodSeconds", "after": "initialDelaySeconds", "timeout": "timeoutSeconds",
                  "failures": "failureThreshold", "successes": "successThreshold"}


def runtime_env(ck: Checker, options) -> str | None:
    """``image pip=[..] env=[K=V]`` -> the canonical JSON of a Ray runtime_env."""
    env: dict = {}
    for key, val in options:
        name = IMAGE_KEYS.get(key[0])
        if name is None:
            ck.error(f"unknown image option {key[0]!r}; expected one of {', '.join(IMAGE_KEYS)}", key[1])
            continue
        if name in env:
            ck.error(f"image option {key[0]!r} is given twice", key[1])
        is_list = val[0] == "list"
        items = [t[0] for t in val[2]] if is_list else [val[0]]
        if name == "env_vars":
            if not is_list:
                ck.error("image env takes a list like env=[NAME=value]", key[1])
                continue
            vars_: dict = {}
            for t in val[2]:
                k, eq, v = t[0].partition("=")
                if not eq or not k:
                    ck.error(f"image env entries look like NAME=value, got {t[0]!r}", t[1])
                vars_[k] = v
            env[name] = vars_
        elif name in _IMAGE_LISTS:
            env[name] = items
        elif is_list and name == "conda":
            env[name] = {"dependencies": items}
        elif is_list:
            ck.error(f"image option {key[0]!r} takes one value, not a list", key[1])
        else:
            env[name] = items[0]
    return json.dumps(env, sort_keys=True, separators=(",", ":"))


def _argv(ck: Checker, field):
    name, pos, argv = field
    if isinstance(argv, tuple):
        ck.error(f"{name}: {argv[1]}", pos)
        return None
    if not argv:
        ck.error(f"{name} needs at least one word", pos)
        return None
    return list(argv)


def _ports(ck: Checker, fields, container: dict):
    ports = []
    for _, pos, toks in fields:
        if toks and toks[-1][0] == "->":
            ck.error("'->' maps a service port to a target; a container port is just "
                     "'port [NAME] NUMBER [udp]'", toks[-1][1])
            continue
        words = list(toks)
        entry: dict = {}
        if len(words) > 1 and not words[0][0].isdigit():
            entry["name"] = words.pop(0)[0]
            problems = iana_name_problem(entry["name"])
            if problems:
                ck.error(f"invalid port name {entry['name']!r}: {problems}", toks[0][1])
        number = ck.port_number(words.pop(0), "container port") if words else None
        if number is not None:
            entry["containerPort"] = number
        if words:
            proto = ck.choice(words.pop(0), "port protocol", {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"})
            entry["protocol"] = proto
        else:
            entry["protocol"] = "TCP"
        for extra in words:
            ck.error(f"unexpected {extra[0]!r}: a port is 'port [NAME] NUMBER [tcp|udp]'", extra[1])
        ports.append((entry, pos))
    names: set = set()
    for entry, pos in ports:
        name = entry.get("name")
        if name is not None and name in names:
            ck.error(f"port name {name!r} is used twice in this container", pos)
        names.add(name)
    if ports:
        container["ports"] = [entry for entry, _ in ports]


def iana_name_problem(name: str) -> str:
    """What is wrong with a port name (an IANA service name), or ``""``."""
    ok = (0 < len(name) <= 15 and all(c.isdigit() or "a" <= c <= "z" or c == "-" for c in name)
          and any("a" <= c <= "z" for c in name) and "--" not in name
          and name[0] != "-" and name[-1] != "-")
    return "" if ok else ("must be no more than 15 lowercase letters, digits or '-', with at "
                          "least one letter, not starting or ending with '-' (an IANA service name)")


def _probe(ck: Checker, payload, container: dict, kind_tok):
    kind, action, options = payload
    probe: dict = {}
    port_tok = None
    for kw, val in options:
        if kw[0] == "on":
            port_tok = val
            continue
        key = _PROBE_OPTIONS[kw[0]]
        if key in ("failureThreshold", "successThreshold"):
            n = ck.integer(val, f"{kind[0]} {kw[0]}", 1)
        else:
            n = ck.seconds(val, f"{kind[0]} {kw[0]}")
        if n is not None:
            probe[key] = n
    how, pos, arg = action
    if how == "exec":
        probe["exec"] = {"command": [t[0] for t in arg[2]]}
        if port_tok is not None:
            ck.error("an exec probe has no port", port_tok[1])
    else:
        if how == "tcp":
            if port_tok is not None:
                ck.error("a tcp probe names its port once: 'tcp PORT'", port_tok[1])
            port_tok = arg
        port = _probe_port(ck, port_tok, container, kind[0], pos)
        if how == "http":
            probe["httpGet"] = {"path": arg[0], "port": port}
        else:
            probe["tcpSocket"] = {"port": port}
    container[_PROBE_NAMES[kind[0]]] = probe


def _probe_port(ck: Checker, tok, container: dict, kind: str, pos: int):
    if tok is None:
        ports = container.get("ports") or []
        if not ports:
            ck.missing(f"{kind} probe needs a port: add 'on PORT', or a port line before it", pos)
            return 0
        return ports[0].get("name") or ports[0].get("containerPort")
    if tok[0].isdigit():
        return ck.port_number(tok, f"{kind} probe port")
    names = {p.get("name") for p in container.get("ports") or ()}
    if tok[0] not in names:
        ck.error(f"{kind} probe port {tok[0]!r} names no port of this container", tok[1])
    return tok[0]


def _resource_name(ck: Checker, key) -> None:
    from reconcile.api import labels as _labels
    problems = _labels.validate_label_key(key[0])
    if problems:
        ck.error(f"invalid resource name {key[0]!r}: {problems[0]}", key[1])


def _requests_within_limits(ck: Checker, resources: dict, where: dict) -> None:
    from reconcile.api.quantity import Quantity
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for name in sorted(set(requests) & set(limits)):
        r, lim = requests[name], limits[name]
        if r is not None and lim is not None and Quantity(r) > Quantity(lim):
            ck.error(f"requests {name} ({r}) must be no more than limits {name} ({lim})",
                     where.get("requests", -1))


def build_container(ck: Checker, payload, pod_image: str | None) -> tuple[str, dict]:
    kind_tok, name_tok, fields = payload
    c: dict = {"name": ck.name(name_tok, "container", "label") or name_tok[0]}
    seen: dict = {}
    seen_resources: dict = {}
    ports = [f for f in fields if f[0] == "port"]
    _ports(ck, ports, c)
    for f in fields:
        fname, pos, payload_ = f
        if fname in seen and fname not in ("port", "probe"):
            ck.error(f"{fname} is given twice in container {c['name']!r}", pos)
        seen[fname] = pos
        if fname == "image":
            c["image"] = payload_ if isinstance(payload_, str) else runtime_env(ck, payload_)
        elif fname == "command":
            argv = _argv(ck, f)
            if argv is not None:
                c["command"] = argv
        elif fname == "args":
            argv = _argv(ck, f)
            if argv is not None:
                c["args"] = argv
        elif fname == "call":
            c["command"] = [*CALL_PREFIX, payload_[0]]
        elif fname in ("requests", "limits"):
            res = {}
            for key, val in payload_:
                _resource_name(ck, key)
                q = ck.quantity(val, f"{fname} {key[0]}")
                if key[0] in res:
                    ck.error(f"{fname} {key[0]!r} is set twice", key[1])
                res[key[0]] = q
            if fname in seen_resources:
                ck.error(f"{fname} is given twice in container {c['name']!r}", pos)
            seen_resources[fname] = pos
            c.setdefault("resources", {})[fname] = res
        elif fname == "env":
            env = c.setdefault("env", [])
            names = {e["name"] for e in env}
            for key, val in payload_:
                if key[0] in names:
                    ck.error(f"env {key[0]!r} is set twice", key[1])
                names.add(key[0])
                env.append({"name": key[0], "value": val[0]})
        elif fname == "workdir":
            c["workingDir"] = payload_[0]
        elif fname == "probe":
            if payload_[0][0] in seen:
                ck.error(f"{payload_[0][0]} probe is given twice", pos)
            seen[payload_[0][0]] = pos
            _probe(ck, payload_, c, payload_[0])
    _requests_within_limits(ck, c.get("resources") or {}, seen_resources)
    if "command" in seen and "call" in seen:
        ck.error("a container has either 'command' or 'call', not both",
                 max(seen["call"], seen["command"]))
    if "image" not in c and pod_image is not None:
        c["image"] = pod_image
    return kind_tok[0], c


def build_pod_template(ck: Checker, kind: str, fields, pod_labels: dict, where: int) -> dict:
    """The ``template`` part of a workload from its pod-level fields."""
    meta: dict = {}
    if pod_labels:
        meta["labels"] = pod_labels
    spec: dict = {}
    pod_image = None
    for name, pos, payload in fields:
        if name == "image":
            pod_image = payload if isinstance(payload, str) else runtime_env(ck, payload)
    containers, inits = [], []
    for name, pos, payload in fields:
        if name == "container":
            ckind, c = build_container(ck, payload, pod_image)
            (inits if ckind == "init-container" else containers).append((c, pos))
        elif name == "pod-annotations":
            meta["annotations"] = ck.label_map(payload, "annotation")
        elif name == "node-selector":
            spec["nodeSelector"] = ck.label_map(payload, "label")
        elif name == "tolerate":
            spec.setdefault("tolerations", []).append(_toleration(ck, payload))
        elif name == "restart":
            spec["restartPolicy"] = ck.choice(payload, "restart", RESTART)
            if kind not in ("Job", "CronJob") and spec["restartPolicy"] not in (None, "Always"):
                ck.error(f"a {kind.lower()}'s pods always restart (Kubernetes allows only 'restart always' "
                         "here; use a job for pods that finish)", pos)
        elif name == "termination-grace":
            spec["terminationGracePeriodSeconds"] = ck.seconds(payload, "termination-grace")
        elif name == "scheduler":
            spec["schedulerName"] = ck.name(payload, "scheduler")
        elif name == "service-account":
            spec["serviceAccountName"] = ck.name(payload, "service account")
    names: dict = {}
    for c, pos in inits + containers:
        if c["name"] in names:
            ck.error(f"container name {c['name']!r} is used twice in this pod", pos)
        names[c["name"]] = pos
    if not containers:
        ck.missing(f"a {kind.lower()} needs at least one container: add 'container NAME {{ command ... }}'",
                 where)
    spec["containers"] = [c for c, _ in containers]
    if inits:
        spec["initContainers"] = [c for c, _ in inits]
    if kind in ("Job", "CronJob") and spec.get("restartPolicy") == "Always":
        ck.error(f"a {kind}'s pods must restart on-failure or never, not always",
                 next(p for n, p, _ in fields if n == "restart"))
    return {"metadata": meta, "spec": spec}


def _toleration(ck: Checker, toks) -> dict:
    t: dict = {}
    it = list(toks)
    first = it.pop(0)
    if first[0] == "all" and first[2] != "KEY":
        t["operator"] = "Exists"
    else:
        t["key"] = first[0]
        if first[2] == "KEY":
            t["operator"] = "Equal"
            t["value"] = it.pop(0)[0]
        else:
            t["operator"] = "Exists"
    if it and it[0][2] == "WORD":
        t["effect"] = ck.choice(it.pop(0), "taint effect", _EFFECTS)
    if it:
        secs = ck.seconds(it.pop(0), "toleration time")
        t["tolerationSeconds"] = secs
        if t.get("effect") != "NoExecute":
            ck.error("'for' only applies to the NoExecute effect", first[1])
    return t


_EFFECTS = {"NoSchedule": "NoSchedule", "PreferNoSchedule": "PreferNoSchedule",
            "NoExecute": "NoExecute", "no-schedule": "NoSchedule",
            "prefer-no-schedule": "PreferNoSchedule", "no-execute": "NoExecute"}
EFFECTS = _EFFECTS


def build_workload(ck: Checker, kind: str, name: str, fields, selector_of, where: int) -> dict:
    """Kubernetes JSON for a workload; ``selector_of(field)`` builds a LabelSelector."""
    allowed = FIELDS[kind]
    seen: dict = {}
    spec: dict = {}
    pod_labels: dict = {}
    object_annotations: dict = {}
    pod_fields = []
    for f in fields:
        fname, pos, payload = f
        if fname not in allowed:
            ck.error(f"{fname!r} is not a field of a {kind.lower()} "
                     f"(a {kind.lower()} has: {', '.join(sorted(allowed))})", pos)
            continue
        if fname in seen and fname not in ("container", "tolerate"):
            ck.error(f"{fname} is given twice in {kind.lower()} {name!r}", pos)
        seen[fname] = pos
        if fname in _POD_FIELDS:
            if fname == "labels":
                pod_labels = ck.label_map(payload, "label")
            elif fname == "annotations":
                object_annotations = ck.label_map(payload, "annotation")
            else:
                pod_fields.append(f)
            continue
        _workload_field(ck, kind, spec, fname, pos, payload, selector_of)
    template = build_pod_template(ck, kind, pod_fields, pod_labels, where)
    if kind == "Deployment" and spec.get("minReadySeconds") is not None \
            and spec["minReadySeconds"] >= (spec.get("progressDeadlineSeconds") or 600):
        ck.error("progress-deadline must be longer than min-ready (a pod must be able to become "
                 "available before the rollout is declared stuck)", seen["min-ready"])
    metadata: dict = {"name": name}
    if pod_labels:
        metadata["labels"] = pod_labels
    if object_annotations:
        metadata["annotations"] = object_annotations
    if kind in ("Job", "CronJob"):
        moved = _JOB_KEYS - {"suspend"} if kind == "CronJob" else _JOB_KEYS
        job_spec = {k: spec.pop(k) for k in list(spec) if k in moved}
        job_spec["template"] = template
        if kind == "CronJob":
            spec["jobTemplate"] = {"metadata": {}, "spec": job_spec}
            if "schedule" not in spec:
                ck.missing("a cronjob needs a schedule, like schedule \"*/5 * * * *\"", where)
        else:
            spec = job_spec
    else:
        spec["template"] = template
        if "selector" not in spec:
            if not pod_labels:
                ck.missing(f"a {kind.lower()} needs labels for its pods (its selector defaults to "
                         "them): add 'labels app=NAME'", where)
            spec["selector"] = {"matchLabels": pod_labels}
        else:
            sel_tok = seen["selector"]
            matcher = spec.pop("_matcher", None)
            if matcher is not None and not matcher.matches(pod_labels):
                ck.missing(f"selector does not match the pod labels "
                         f"({', '.join(f'{k}={v}' for k, v in pod_labels.items()) or 'none'}): "
                         f"the {kind.lower()} would never find its pods", sel_tok)
    return {"metadata": metadata, "spec": spec}


_JOB_KEYS = {"completions", "parallelism", "backoffLimit", "activeDeadlineSeconds",
             "ttlSecondsAfterFinished", "completionMode", "suspend"}
_SETTINGS = {
    "min-ready": ("minReadySeconds", "seconds"), "revision-history": ("revisionHistoryLimit", "int"),
    "progress-deadline": ("progressDeadlineSeconds", "seconds"),
    "completions": ("completions", "int"), "parallelism": ("parallelism", "int"),
    "backoff-limit": ("backoffLimit", "int"), "active-deadline": ("activeDeadlineSeconds", "seconds"),
    "ttl-after-finished": ("ttlSecondsAfterFinished", "seconds"),
    "keep-successful": ("successfulJobsHistoryLimit", "int"),
    "keep-failed": ("failedJobsHistoryLimit", "int"),
    "starting-deadline": ("startingDeadlineSeconds", "seconds"),
    "service-name": ("serviceName", "name"),
}
_CHOICES = {
    "completion-mode": ("completionMode", {"non-indexed": "NonIndexed", "indexed": "Indexed"}),
    "concurrency": ("concurrencyPolicy", {"allow": "Allow", "forbid": "Forbid", "replace": "Replace"}),
    "pod-management": ("podManagementPolicy", {"ordered-ready": "OrderedReady", "parallel": "Parallel"}),
}


_CRON = re.compile(r"(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every \S+|"
                   r"(TZ=\S+\s+)?[\w*?,/-]+(\s+[\w*?,/-]+){4})\Z")


def _workload_field(ck, kind, spec, fname, pos, payload, selector_of):
    if fname == "replicas":
        spec["replicas"] = ck.integer(payload, "replicas")
    elif fname == "selector":
        label_selector, matcher = selector_of(payload, pos)
        spec["selector"] = label_selector
        spec["_matcher"] = matcher
    elif fname == "strategy":
        _strategy(ck, kind, spec, payload)
    elif fname in ("paused", "suspend"):
        spec[fname] = True
    elif fname == "schedule":
        spec["schedule"] = payload[0]
        if not _CRON.match(payload[0].strip()):
            ck.error(f"schedule {payload[0]!r} is not a cron schedule like \"*/5 * * * *\" or @hourly", pos)
    elif fname in _SETTINGS:
        key, how = _SETTINGS[fname]
        if how == "int":
            spec[key] = ck.integer(payload, fname)
        elif how == "seconds":
            spec[key] = ck.seconds(payload, fname)
        else:
            spec[key] = ck.name(payload, "service", "1035")
    elif fname in _CHOICES:
        key, choices = _CHOICES[fname]
        spec[key] = ck.choice(payload, fname, choices)


def _strategy(ck, kind, spec, payload):
    type_tok, options = payload
    stype = ck.choice(type_tok, "strategy", _STRATEGIES[kind])
    key = "strategy" if kind == "Deployment" else "updateStrategy"
    strategy: dict = {"type": stype}
    known = _STRATEGY_OPTIONS[kind]
    ru: dict = {}
    for k, v in options:
        if k[0] not in known:
            ck.error(f"unknown strategy option {k[0]!r}; expected one of {', '.join(known)}", k[1])
            continue
        if k[0] == "partition":
            ru["partition"] = ck.integer(v, "partition")
        else:
            ru[known[k[0]]] = ck.int_or_percent(v, k[0])
            value = ru[known[k[0]]]
            if k[0] == "max-unavailable" and isinstance(value, str) and int(value[:-1] or 0) > 100:
                ck.error("max-unavailable must not be more than 100%", v[1])
    if ru:
        if stype != "RollingUpdate":
            ck.error(f"{', '.join(k[0] for k, _ in options)}: options of a rolling strategy only",
                     options[0][0][1])
        strategy["rollingUpdate"] = ru
    if kind != "StatefulSet" and ru.get("maxSurge", 0 if kind == "DaemonSet" else None) in (0, "0%") \
            and ru.get("maxUnavailable") in (0, "0%"):
        ck.error("max-surge and max-unavailable cannot both be 0: the rollout could never make progress",
                 options[0][0][1])
    spec[key] = strategy
