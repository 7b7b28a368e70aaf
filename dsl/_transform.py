"""Grammar callbacks: they only build data (tuples), never check meaning.

A token is ``(text, pos, type)``. Most callbacks return a *field*,
``(name, pos, payload)``; blocks return ``(kind, name_token, fields)``.
``value`` turns every value token into ``(text, pos, "V")``, with quoted
strings unescaped. The meaning of each field is checked in ``_build``.
"""

from __future__ import annotations

import re
import shlex

__all__ = ["CALLBACKS", "unquote"]


_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.S)


def _escape(m):
    e = m.group(1)
    if len(e) == 5:
        return chr(int(e[1:], 16))
    return _ESCAPES.get(e, m.group(0))   # an unknown escape stays as written


def unquote(text: str) -> str:
    r"""The text of a double-quoted string literal: JSON's escapes; others kept as written.

    >>> unquote('"tab\\there \\u00e9 \\q"')
    'tab\there é \\q'
    """
    body = text[1:-1]
    if "\\" not in body:
        return body
    out = _ESCAPE.sub(_escape, body)
    if "\\u" in body:   # join UTF-16 surrogate pairs (JSON's way to write U+10000 and up)
        out = out.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return out


def _value(c):
    tok = c[0]
    if tok[2] == "STRING":
        return (unquote(tok[0]), tok[1], "V")
    return (tok[0], tok[1], "V")


def _item(c):
    tok = c[0]
    if tok[2] == "STRING":
        return (unquote(tok[0]), tok[1], "S")
    return (tok[0], tok[1], "V")


def _first_pos(c, default=-1):
    return c[0][1] if c else default


def _pairs(name):
    return lambda c: (name, c[0][0][1], c)   # children are (key, value) pairs


def _assignment(c):
    key = c[0]
    if key[2] == "STRING":
        key = (unquote(key[0]), key[1], "S")
    return (key, c[1])


def _cmdline(name):
    def build(c):
        tok = c[0]
        if isinstance(tok, tuple) and tok[2] == "CMDLINE":
            if not any(ch in tok[0] for ch in "\"'\\"):   # the common case: plain words
                return (name, tok[1], tok[0].split())
            try:
                argv = shlex.split(tok[0], comments=False, posix=True)
            except ValueError as e:  # unbalanced quotes
                return (name, tok[1], ("error", str(e)))
            return (name, tok[1], argv)
        lst = tok  # ("list", pos, items)
        return (name, lst[1], [t[0] for t in lst[2]])
    return build


def _image(c):
    first = c[0]
    if len(first) == 3 and first[2] == "STRING":   # image "nginx:1.27"
        return ("image", first[1], unquote(first[0]))
    return ("image", first[0][1], c)               # image pip=[...] env=[...]


def _block(kind):
    return lambda c: (kind, c[0], c[1:])


CALLBACKS = {
    "start": lambda c: c,
    "value": _value,
    "item": _item,
    "list": lambda c: ("list", c[0][1] if c else -1, c),
    "assignment": _assignment,
    # namespaces and nodes
    "namespace": _block("namespace"),
    "in_namespace": lambda c: ("in_namespace", c[0], ()),
    "nodes": _block("nodes"),
    "capacity": _pairs("capacity"),
    "taint": lambda c: ("taint", c[0][1], c),
    "taint_item": lambda c: c,
    "unschedulable": lambda c: ("unschedulable", c[0][1], True),
    # workloads
    "workload": lambda c: (c[0][0], c[1], c[2:], c[0][1]),
    "workload_kind": lambda c: c[0],
    "replicas": lambda c: ("replicas", c[0][1], c[0]),
    "labels": _pairs("labels"),
    "annotations": _pairs("annotations"),
    "pod_annotations": _pairs("pod-annotations"),
    "node_selector": _pairs("node-selector"),
    "selector": lambda c: ("selector", c[0][1], c[0][2]),
    "strategy": lambda c: ("strategy", c[0][1], (c[0], c[1:])),
    "option": lambda c: (c[0], c[1]),
    "setting": lambda c: (c[0][0], c[0][1], c[1]),
    "flag": lambda c: (c[0][0], c[0][1], True),
    "schedule": lambda c: ("schedule", c[0][1], (unquote(c[0][0]), c[0][1], "V")),
    "toleration": lambda c: ("tolerate", c[0][1], c),
    "image": _image,
    "image_option": lambda c: (c[0], c[1]),
    # containers
    "container": lambda c: ("container", c[1][1], (c[0], c[1], c[2:])),
    "container_kind": lambda c: c[0],
    "command": _cmdline("command"),
    "args": _cmdline("args"),
    "call": lambda c: ("call", c[0][1], c[0]),
    "port": lambda c: ("port", c[0][1], c),
    "port_target": lambda c: ("->", c[0][1], c),
    "requests": _pairs("requests"),
    "limits": _pairs("limits"),
    "env": _pairs("env"),
    "workdir": lambda c: ("workdir", c[0][1], _value(c)),
    "probe": lambda c: ("probe", c[0][1], (c[0], c[1], c[2:])),
    "probe_kind": lambda c: c[0],
    "http_probe": lambda c: ("http", c[0][1], c[0]),
    "tcp_probe": lambda c: ("tcp", c[0][1], c[0]),
    "exec_probe": lambda c: ("exec", c[0][1], c[0]),
    "probe_option": lambda c: (c[0], c[1]),
    # services
    "service": _block("service"),
    "service_type": lambda c: ("type", c[0][1], c[0]),
    # autoscaling
    "autoscale": lambda c: ("autoscale", c),
    "bound": lambda c: (c[0][0], c[0][1], c[1]),
    "target": lambda c: ("target", c[0][1], (c[0], c[1])),
    # rules and policies
    "rule": lambda c: ("rule", c[0], c[1:]),
    "condition": lambda c: ("condition", c[0][1], c),
    "cmp": lambda c: c[0],
    "action": lambda c: ("action", c[0][1], (c, None)),
    "action_selector": lambda c: ("action", c[0][1], (c[:2], c[2] if len(c) > 2 else [])),
    "policy": lambda c: ("policy", c[0], c[1:]),
    # selectors: lists of (key, operator, values)
    "sel": lambda c: ("sel", c[0][0][1], c),
    "where": lambda c: ("sel", c[0][0][1], c),
    "exists": lambda c: (c[0], "exists", ()),
    "not_exists": lambda c: (c[0], "!", ()),
    "equals": lambda c: (c[0], c[1][0], (c[2],) if len(c) > 2 else (("", c[1][1] + len(c[1][0]), "V"),)),
    "set_op": lambda c: (c[0], c[1][0], tuple(c[2:])),
    "compare": lambda c: (c[0], c[1][0], (c[2],)),
    "eq_op": lambda c: c[0],
    "set_kw": lambda c: c[0],
    "gtlt": lambda c: c[0],
}
