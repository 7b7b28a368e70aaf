"""Hypothesis strategies that write manifests in the language (valid by construction)."""

import json
import string

from hypothesis import strategies as st

_alnum = string.ascii_lowercase + string.digits
names = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
label_keys = st.one_of(
    st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z]{1,5}\.example\.com/[a-z]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True))
label_values = st.from_regex(r"([A-Za-z0-9]([A-Za-z0-9_.-]{0,8}[A-Za-z0-9])?)?", fullmatch=True)
any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
arg_text = st.one_of(st.from_regex(r"[a-z$-][a-zA-Z0-9_.=/$-]{0,8}", fullmatch=True), any_text)


def _q(s):
    return json.dumps(s)


def _pairs(d, quote_values=False):
    return " ".join(f"{k}={_q(v) if quote_values or v == '' else v}" for k, v in d.items())


label_maps = st.dictionaries(label_keys, label_values, min_size=1, max_size=3)
quantities = st.sampled_from(["250m", "1", "0.5", "2Gi", "128Mi", "1500m", "1e3", "100M", "64Ki"])
durations = st.sampled_from(["1s", "2s", "30s", "5m", "1h30m", "90s", "2h"])


@st.composite
def containers(draw, name):
    lines = [f"container {name} {{"]
    how = draw(st.sampled_from(["plain", "list", "call"]))
    if how == "plain":
        lines.append("command " + " ".join(draw(st.lists(
            st.from_regex(r"[a-z][a-zA-Z0-9_.=/$-]{0,8}", fullmatch=True), min_size=1, max_size=4))))
    elif how == "list":
        lines.append("command [" + ", ".join(_q(a) for a in draw(st.lists(arg_text, min_size=1, max_size=3))) + "]")
    else:
        lines.append("call pkg.mod:main")
    ports = draw(st.lists(st.tuples(st.sampled_from(["http", "metrics", "grpc", "admin"]),
                                    st.integers(1, 65535)), max_size=2, unique_by=lambda p: p[0]))
    for pname, num in ports:
        lines.append(f"port {pname} {num}")
    if draw(st.booleans()):
        lines.append(f"requests cpu={draw(quantities)} memory={draw(quantities)}")
    if draw(st.booleans()):
        lines.append(f"limits cpu={draw(quantities)}")
    env = draw(st.dictionaries(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), any_text, max_size=3))
    if env:
        lines.append("env " + _pairs(env, quote_values=True))
    if ports and draw(st.booleans()):
        lines.append(f"readiness http /healthz every {draw(durations)} failures {draw(st.integers(1, 9))}")
    if draw(st.booleans()):
        lines.append(f"liveness tcp {draw(st.integers(1, 65535))} after {draw(durations)}")
    lines.append("}")
    return "\n".join(lines)


@st.composite
def pod_fields(draw, kind):
    lines = []
    if draw(st.booleans()):
        pip = draw(st.lists(st.sampled_from(["flask==3.1", "requests>=2", "numpy"]), min_size=1, max_size=2))
        env = draw(st.dictionaries(st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
                                   st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True), max_size=2))
        text = "image pip=[" + ", ".join(pip) + "]"
        if env:
            text += " env=[" + ", ".join(f"{k}={v}" for k, v in env.items()) + "]"
        lines.append(text)
    if draw(st.booleans()):
        lines.append("node-selector " + _pairs(draw(label_maps)))
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from(["tolerate gpu=true:NoSchedule", "tolerate all",
                                           "tolerate node.kubernetes.io/unreachable:NoExecute for 30s"])))
    if kind in ("job", "cronjob"):
        lines.append(draw(st.sampled_from(["", "restart on-failure", "restart never"])))
    elif draw(st.booleans()):
        lines.append("termination-grace " + draw(durations))
    cnames = draw(st.lists(names, min_size=1, max_size=2, unique=True))
    for c in cnames:
        lines.append(draw(containers(c)))
    return lines


@st.composite
def workloads(draw):
    kind = draw(st.sampled_from(["deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob"]))
    name = draw(names)
    labels = draw(label_maps)
    lines = [f"{kind} {name} {{"]
    if kind in ("deployment", "replicaset", "statefulset"):
        lines.append(f"replicas {draw(st.integers(0, 50))}")
    lines.append("labels " + _pairs(labels))
    if kind not in ("job", "cronjob") and draw(st.booleans()):
        k, v = next(iter(labels.items()))
        lines.append(f"selector {k} in ({v or 'x'}, {v or 'x'}z), !absent" if v else f"selector {k}")
    if kind == "deployment":
        lines.append(draw(st.sampled_from(["", "strategy recreate", "strategy rolling max-surge=1 max-unavailable=0",
                                           "strategy rolling max-unavailable=50%", "min-ready 10s", "paused",
                                           "revision-history 3", "progress-deadline 5m"])))
    if kind == "statefulset":
        lines.append(draw(st.sampled_from(["", "service-name kv", "pod-management parallel",
                                           "strategy rolling partition=2", "strategy on-delete"])))
    if kind == "daemonset":
        lines.append(draw(st.sampled_from(["", "strategy on-delete", "strategy rolling max-surge=1 max-unavailable=0"])))
    if kind in ("job", "cronjob"):
        c, p = draw(st.sampled_from([(None, None), (5, None), (None, 3), (2, 2), (1, 3)]))
        if c is not None:
            lines.append(f"completions {c}")
        if p is not None:
            lines.append(f"parallelism {p}")
        lines.append(draw(st.sampled_from(["", "backoff-limit 2", "active-deadline 10m",
                                           "completion-mode indexed", "suspend"])))
    if kind == "cronjob":
        lines.append('schedule "*/5 * * * *"')
        lines.append(draw(st.sampled_from(["", "concurrency forbid", "keep-successful 5", "starting-deadline 1m"])))
    if draw(st.booleans()):
        lines.append("annotations note=" + _q(draw(any_text)))
    lines += draw(pod_fields(kind))
    lines.append("}")
    return "\n".join(line for line in lines if line)


@st.composite
def services(draw):
    name = draw(st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True))
    lines = [f"service {name} {{", "selector " + ", ".join(f"{k}={v}" for k, v in draw(label_maps).items())]
    n = draw(st.integers(1, 2))
    for i in range(n):
        port = f"port p{i} {draw(st.integers(1, 65535))}" if n > 1 else f"port {draw(st.integers(1, 65535))}"
        if draw(st.booleans()):
            port += " udp"
        if draw(st.booleans()):
            port += f" -> {draw(st.integers(1, 65535))}"
        lines.append(port)
    lines.append(draw(st.sampled_from(["", "type node-port", "type headless"])))
    lines.append("}")
    return "\n".join(line for line in lines if line)


@st.composite
def others(draw):
    which = draw(st.sampled_from(["nodes", "autoscale", "rule", "policy", "namespace"]))
    name = draw(names)
    if which == "nodes":
        count = draw(st.sampled_from(["", " x2", " x3"]))
        body = [f"capacity cpu={draw(quantities)} memory={draw(quantities)} pods=110"]
        if draw(st.booleans()):
            body.append("labels " + _pairs(draw(label_maps)))
        if draw(st.booleans()):
            body.append("taint dedicated=gpu:NoSchedule")
        if draw(st.booleans()):
            body.append("unschedulable")
        return f"nodes {name}{count} {{\n" + "\n".join(body) + "\n}"
    if which == "autoscale":
        lo = draw(st.integers(1, 5))
        target = draw(st.sampled_from(["", "target cpu 70%", "target memory 500Mi"]))
        return f"autoscale {name} {{ min {lo} max {lo + draw(st.integers(0, 10))} {target} }}"
    if which == "rule":
        sel = draw(st.sampled_from(["app=web", "app=web, phase=Pending", "", "tier in (a,b), node=n1"]))
        action = draw(st.sampled_from(["rollout restart deployment web", "scale deployment web 3",
                                       "delete pods(phase=Failed)", "rollout undo deployment web"]))
        return f"rule {name} {{ when count pods({sel}) >= {draw(st.integers(0, 9))} then {action} }}"
    if which == "policy":
        return f"policy {name} {{ deny pods where !requests.cpu message {_q(draw(any_text))} }}"
    return f"namespace {name}"


@st.composite
def manifests_text(draw):
    parts = draw(st.lists(st.one_of(workloads(), services(), others()), min_size=1, max_size=6))
    return "\n".join(parts)
