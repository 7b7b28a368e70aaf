"""Status conditions (``status.conditions``), as apimachinery's ``meta`` condition helpers keep them:
find one by type, set one (its ``lastTransitionTime`` moves only when its status changes).

>>> conds = set_condition((), "Ready", "True", 10.0, "KubeletReady")
>>> conds = set_condition(conds, "Ready", "True", 20.0, "KubeletReady")
>>> get_condition({"conditions": conds}, "Ready")["lastTransitionTime"]
10.0
"""

from __future__ import annotations

from typing import Mapping

from pyrsistent import pmap, pvector

__all__ = ["get_condition", "condition", "set_condition"]


def get_condition(status: Mapping, type_: str) -> Mapping | None:
    """The first condition of ``type_`` in ``status.conditions``, or None.

    >>> get_condition({"conditions": [{"type": "Progressing", "status": "True"}]}, "Progressing")["status"]
    'True'
    """
    return next((c for c in (status or {}).get("conditions") or () if c.get("type") == type_), None)


def condition(obj, type_: str) -> Mapping | None:
    """The object's first condition of ``type_``, or None."""
    return get_condition(obj.status, type_)


def set_condition(conditions, type_: str, status: str, now: float, reason: str = "", message: str = ""):
    """Conditions with ``type_`` set; lastTransitionTime moves only when the status changes."""
    out = []
    found = False
    for c in conditions or ():
        if c.get("type") == type_:
            found = True
            same = c.get("status") == status
            c = pmap({"type": type_, "status": status, "reason": reason, "message": message,
                      "lastTransitionTime": c.get("lastTransitionTime") if same else now,
                      "lastUpdateTime": now if not (same and c.get("reason") == reason
                                                    and c.get("message") == message)
                      else c.get("lastUpdateTime", now)})
        out.append(c)
    if not found:
        out.append(pmap({"type": type_, "status": status, "reason": reason, "message": message,
                         "lastTransitionTime": now, "lastUpdateTime": now}))
    return pvector(out)
