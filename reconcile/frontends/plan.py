"""What applying a manifest would change: a diff against the current state (like ``terraform plan``).

>>> from reconcile.api.model import Namespace
>>> from reconcile.state.snapshot import EMPTY
>>> [str(c) for c in plan([Namespace.new("shop")], EMPTY)]
['+ namespace/shop']
"""

from __future__ import annotations

from dataclasses import dataclass

from reconcile.api.diff import diff_fields
from reconcile.api.model import KObject, thaw

__all__ = ["Change", "plan", "format_plan"]


@dataclass(frozen=True)
class Change:
    action: str                 # "create", "update", "delete", "unchanged"
    kind: str
    namespace: str | None
    name: str
    fields: tuple = ()          # (path, old, new) for updates

    def __str__(self) -> str:
        mark = {"create": "+", "update": "~", "delete": "-", "unchanged": "="}[self.action]
        ns = f"{self.namespace}/" if self.namespace and self.namespace != "default" else ""
        return f"{mark} {self.kind.lower()}/{ns}{self.name}"


def _desired(obj: KObject) -> dict:
    return {"labels": dict(obj.metadata.labels), "annotations": dict(obj.metadata.annotations),
            "spec": thaw(obj.spec)}


def plan(manifest, snapshot, prune: bool = False) -> list[Change]:
    """Changes that applying ``manifest`` to ``snapshot`` would make, in manifest order.

    With ``prune``, objects of the manifest's kinds that the manifest no
    longer names are to be deleted (``kubectl apply --prune``).
    """
    changes = []
    named = set()
    for obj in manifest:
        named.add(obj.key)
        current = snapshot.get(obj.kind, obj.name, obj.metadata.namespace)
        if current is None:
            changes.append(Change("create", obj.kind, obj.metadata.namespace, obj.name))
            continue
        want = _desired(obj)
        have = _desired(current)
        have["annotations"] = {k: v for k, v in have["annotations"].items() if k in want["annotations"]}
        fields = tuple(diff_fields(have, want))
        changes.append(Change("update" if fields else "unchanged", obj.kind, obj.metadata.namespace,
                              obj.name, fields))
    if prune:
        kinds = sorted({k[0] for k in named})
        for kind in kinds:
            for obj in snapshot.list(kind):
                if obj.key not in named and not obj.metadata.ownerReferences:
                    changes.append(Change("delete", obj.kind, obj.metadata.namespace, obj.name))
    return changes


def format_plan(changes) -> list[str]:
    """The lines of a plan, as ``reconcile plan`` prints them: each change but the unchanged ones,
    its fields' ``old -> new``, and the ``Plan: ...`` count."""
    lines, counts = [], {"create": 0, "update": 0, "delete": 0}
    for c in changes:
        if c.action == "unchanged":
            continue
        counts[c.action] += 1
        lines.append(str(c))
        lines += [f"      {path}: {_shown(old)} -> {_shown(new)}" for path, old, new in c.fields]
    lines.append(f"Plan: {counts['create']} to create, {counts['update']} to change, {counts['delete']} to delete.")
    return lines


def _shown(value) -> str:
    import json
    return "(none)" if value is None else json.dumps(value)
