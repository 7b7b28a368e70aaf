"""Rules (``when ... then ...``) and policies (``deny ... where ...``) -> their specs.

A rule's condition counts objects of a kind that match a selector; besides
labels, the selector may name the pod fields ``phase`` and ``node``, which
become a Kubernetes field selector (``status.phase``, ``spec.nodeName``).
"""

from __future__ import annotations

from reconcile.api import model as _model

from dsl._check import Checker
from dsl._transform import unquote

__all__ = ["build_rule", "build_policy", "FIELD_KEYS", "ACTIONS"]

FIELD_KEYS = {"phase": "status.phase", "node": "spec.nodeName"}
ACTIONS = {("rollout", "restart"): "RolloutRestart", ("rollout", "undo"): "RolloutUndo",
           ("scale",): "Scale", ("delete",): "Delete", ("cordon",): "Cordon",
           ("uncordon",): "Uncordon"}
_ACTION_KINDS = {"Scale": ("Deployment", "ReplicaSet", "StatefulSet"),
                 "RolloutRestart": ("Deployment", "StatefulSet", "DaemonSet"),
                 "RolloutUndo": ("Deployment", "StatefulSet", "DaemonSet"),
                 "Cordon": ("Node",), "Uncordon": ("Node",)}
_CMP = {">", "<", ">=", "<=", "==", "!="}


def _kind(ck: Checker, tok) -> str | None:
    try:
        return _model.kind_class(tok[0]).KIND
    except ValueError as e:
        ck.error(str(e), tok[1])
        return None


def _split_selector(ck: Checker, reqs, allow_fields: bool):
    """Requirements -> (label selector string, field selector string)."""
    label_reqs, field_parts = [], []
    for req in reqs:
        key, op, values = req
        if allow_fields and key[0] in FIELD_KEYS:
            if op not in ("=", "==", "!="):
                ck.error(f"{key[0]} only compares with = or !=", key[1])
                continue
            field_parts.append(f"{FIELD_KEYS[key[0]]}{'!=' if op == '!=' else '='}{values[0][0]}")
        else:
            label_reqs.append(req)
    sel = ck.selector(label_reqs)
    return (str(sel) if sel is not None else ""), ",".join(field_parts)


def build_rule(ck: Checker, parts) -> dict:
    condition = parts[0]
    rest = list(parts[1:])
    action = rest.pop()
    when: dict = {}
    c = list(condition[2])
    kind_tok = c.pop(0)
    when["kind"] = _kind(ck, kind_tok)
    if c and c[0][0] == "sel":
        labels, fields = _split_selector(ck, c.pop(0)[2], when["kind"] == "Pod")
        if labels:
            when["selector"] = labels
        if fields:
            when["fieldSelector"] = fields
    op, value = c
    when["operator"] = op[0]
    when["count"] = ck.integer(value, "count", 0)
    if rest:
        when["forSeconds"] = ck.seconds(rest[0], "for")
    return {"when": when, "then": _action(ck, action)}


def _action(ck: Checker, action) -> dict:
    _, pos, (words, where) = action
    texts = [w[0] for w in words]
    for n in (2, 1):
        verb = ACTIONS.get(tuple(texts[:n]))
        if verb and (n == 2 or texts[0] not in ("rollout",)):
            break
    else:
        ck.error(f"unknown action {' '.join(texts[:2])!r}; expected one of "
                 + ", ".join(" ".join(k) for k in ACTIONS), pos)
        return {}
    args = words[n:]
    out: dict = {"action": verb}
    if where is not None:
        if verb != "Delete" or len(args) != 1:
            ck.error("only 'delete KIND(SELECTOR)' takes a selector", pos)
            return out
        out["kind"] = _kind(ck, args[0])
        labels, fields = _split_selector(ck, where[2] if where else (), out["kind"] == "Pod")
        if labels:
            out["selector"] = labels
        if fields:
            out["fieldSelector"] = fields
        return out
    want = 3 if verb == "Scale" else 2
    if verb in ("Cordon", "Uncordon"):
        want = 2
    if len(args) != want:
        shape = {"Scale": "scale KIND NAME REPLICAS", "Cordon": "cordon node NAME",
                 "Uncordon": "uncordon node NAME", "Delete": "delete KIND NAME"}.get(
            verb, f"{' '.join(texts[:2])} KIND NAME")
        ck.error(f"expected '{shape}'", pos)
        return out
    out["kind"] = _kind(ck, args[0])
    allowed = _ACTION_KINDS.get(verb)
    if out["kind"] and allowed and out["kind"] not in allowed:
        ck.error(f"{' '.join(texts[:n])} applies to {' or '.join(k.lower() for k in allowed)}, "
                 f"not {out['kind'].lower()}", args[0][1])
    out["name"] = ck.name(args[1], "target")
    if verb == "Scale":
        out["replicas"] = ck.integer(args[2], "replicas")
    return out


def build_policy(ck: Checker, parts) -> dict:
    kind_tok, where, message = parts
    sel = ck.selector(where[2])
    return {"deny": {"kind": _kind(ck, kind_tok), "where": str(sel) if sel is not None else ""},
            "message": unquote(message[0])}
