"""Formatting of pods, containers and values for :mod:`dsl._format` (the canonical text)."""

from __future__ import annotations

import json
import re

from reconcile.api.quantity import format_duration

from dsl._build_pod import CALL_PREFIX, IMAGE_KEYS, RESTART

__all__ = ["WORKLOAD_WORD", "Writer", "pairs_text", "value_text", "write_pod"]

_WORD = re.compile(r"-?[A-Za-z0-9_][A-Za-z0-9_.\-/%]*\Z")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*\Z")
_ITEM = re.compile(r'[^\s,\[\]"#{}]+\Z')
_BARE_ARG = re.compile(r"[^\s\"'#{}\[\]\\]+\Z")
WORKLOAD_WORD = {"Deployment": "deployment", "ReplicaSet": "replicaset", "StatefulSet": "statefulset",
                  "DaemonSet": "daemonset", "Job": "job", "CronJob": "cronjob"}
_RESTART_WORD = {v: k for k, v in RESTART.items()}
_ENV_BY_KEY = {v: k for k, v in IMAGE_KEYS.items()}


def value_text(s) -> str:
    s = str(s)
    return s if _WORD.match(s) else json.dumps(s)


def _key(s: str) -> str:
    return s if _KEY.match(s) else json.dumps(s)


def pairs_text(d) -> str:
    return " ".join(f"{_key(k)}={value_text(v)}" for k, v in sorted(d.items()))


def _item(s: str) -> str:
    return s if _ITEM.match(s) else json.dumps(s)


def _list(items) -> str:
    return "[" + ", ".join(_item(str(i)) for i in items) + "]"


def _argv(argv) -> str:
    argv = list(argv)
    if argv and all(_BARE_ARG.match(a) or ("'" not in a and "\n" not in a) for a in argv) \
            and _BARE_ARG.match(argv[0]) and not argv[0].startswith("["):
        return " ".join(a if _BARE_ARG.match(a) else f"'{a}'" for a in argv)
    return "[" + ", ".join(json.dumps(a) for a in argv) + "]"


def _image(image: str) -> str:
    try:
        env = json.loads(image)
    except ValueError:
        env = None
    if isinstance(env, dict) and env and all(k in _ENV_BY_KEY for k in env):
        parts = []
        for key in sorted(env):
            v = env[key]
            opt = _ENV_BY_KEY[key]
            if key == "env_vars" and isinstance(v, dict):
                parts.append(f"{opt}=" + _list(f"{k}={x}" for k, x in v.items()))
            elif isinstance(v, list):
                parts.append(f"{opt}=" + _list(v))
            elif key == "conda" and isinstance(v, dict) and list(v) == ["dependencies"]:
                parts.append(f"{opt}=" + _list(v["dependencies"]))
            elif isinstance(v, str):
                parts.append(f"{opt}={value_text(v)}")
            else:
                parts = None
                break
        if parts:
            text = "image " + " ".join(parts)
            if _reparse_image(text) == image:
                return text
    return f"image {json.dumps(image)}"


def _reparse_image(line: str) -> str | None:
    from dsl._parser import parse
    try:
        (obj,) = parse(f"job x {{ {line}\n container c {{ command x }} }}")
    except Exception:
        return None
    return obj.spec["template"]["spec"]["containers"][0].get("image")


class Writer:
    def __init__(self):
        self.lines: list[str] = []
        self.depth = 0

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def open(self, head: str) -> None:
        self.line(head + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.line("}")


def _probe(w: Writer, kind: str, p: dict, c: dict) -> None:
    ports = c.get("ports") or []
    default_port = (ports[0].get("name") or ports[0].get("containerPort")) if ports else None
    if "httpGet" in p:
        g = p["httpGet"]
        text = f"{kind} http {g.get('path', '/')}"
        if g.get("port") != default_port:
            text += f" on {g.get('port')}"
    elif "tcpSocket" in p:
        text = f"{kind} tcp {p['tcpSocket'].get('port')}"
    else:
        text = f"{kind} exec " + "[" + ", ".join(json.dumps(a) for a in p.get("exec", {}).get("command", ())) + "]"
    for key, word, default in (("periodSeconds", "every", 10), ("initialDelaySeconds", "after", None),
                               ("timeoutSeconds", "timeout", 1)):
        if key in p and p[key] != default:
            text += f" {word} {format_duration(p[key])}"
    for key, word in (("failureThreshold", "failures"), ("successThreshold", "successes")):
        default = 3 if key == "failureThreshold" else 1
        if key in p and p[key] != default:
            text += f" {word} {p[key]}"
    w.line(text)


def _container(w: Writer, c: dict, word: str, pod_image) -> None:
    w.open(f"{word} {c['name']}")
    if "image" in c and c["image"] != pod_image:
        w.line(_image(c["image"]))
    cmd = c.get("command")
    if cmd and tuple(cmd[:3]) == CALL_PREFIX and len(cmd) == 4:
        w.line(f"call {cmd[3]}")
    elif cmd:
        w.line(f"command {_argv(cmd)}")
    if c.get("args"):
        w.line(f"args {_argv(c['args'])}")
    for p in c.get("ports") or ():
        parts = [p["name"]] if p.get("name") else []
        parts.append(str(p.get("containerPort")))
        if p.get("protocol", "TCP") != "TCP":
            parts.append(p["protocol"].lower())
        w.line("port " + " ".join(parts))
    res = c.get("resources") or {}
    for part in ("requests", "limits"):
        if res.get(part):
            w.line(f"{part} {pairs_text(res[part])}")
    if c.get("env"):
        w.line("env " + " ".join(f"{_key(e['name'])}={value_text(e.get('value', ''))}" for e in c["env"]))
    if c.get("workingDir"):
        w.line(f"workdir {json.dumps(c['workingDir'])}")
    for key, kind in (("readinessProbe", "readiness"), ("livenessProbe", "liveness"), ("startupProbe", "startup")):
        if key in c:
            _probe(w, kind, c[key], c)
    w.close()


def write_pod(w: Writer, kind: str, template: dict) -> None:
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    if meta.get("annotations"):
        w.line(f"pod-annotations {pairs_text(meta['annotations'])}")
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    images = {c.get("image") for c in containers + inits}
    pod_image = images.pop() if len(images) == 1 and None not in images else None
    if pod_image is not None:
        w.line(_image(pod_image))
    if spec.get("nodeSelector"):
        w.line(f"node-selector {pairs_text(spec['nodeSelector'])}")
    for t in spec.get("tolerations") or ():
        w.line("tolerate " + _toleration(t))
    default_restart = "Never" if kind in ("Job", "CronJob") else "Always"
    if spec.get("restartPolicy", default_restart) != default_restart:
        w.line(f"restart {_RESTART_WORD[spec['restartPolicy']]}")
    if spec.get("terminationGracePeriodSeconds", 30) != 30:
        w.line(f"termination-grace {format_duration(spec['terminationGracePeriodSeconds'])}")
    if spec.get("schedulerName", "default-scheduler") != "default-scheduler":
        w.line(f"scheduler {spec['schedulerName']}")
    if spec.get("serviceAccountName"):
        w.line(f"service-account {spec['serviceAccountName']}")
    for c in inits:
        _container(w, c, "init-container", pod_image)
    for c in containers:
        _container(w, c, "container", pod_image)


def _toleration(t: dict) -> str:
    if t.get("operator") == "Exists" and not t.get("key"):
        text = "all"
    elif t.get("operator") == "Exists":
        text = t["key"]
    else:
        text = f"{t.get('key')}={value_text(t.get('value', ''))}"
    if t.get("effect"):
        text += f":{t['effect']}"
    if t.get("tolerationSeconds") is not None:
        text += f" for {format_duration(t['tolerationSeconds'])}"
    return text
