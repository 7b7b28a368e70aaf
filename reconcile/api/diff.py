"""Field-by-field difference of two JSON-like values (dicts, lists, scalars).

>>> diff_fields({"spec": {"replicas": 1, "paused": False}}, {"spec": {"replicas": 3, "paused": False}})
[('spec.replicas', 1, 3)]
>>> diff_fields({"ports": [80, 443]}, {"ports": [80, 8443]}), diff_fields({"a": [1]}, {"a": [1, 2]})
([('ports[1]', 443, 8443)], [('a', [1], [1, 2])])
"""

from __future__ import annotations

__all__ = ["diff_fields"]


def diff_fields(old, new, path: str = "") -> list[tuple]:
    """(path, old, new) for every leaf that differs, in sorted order.

    A key missing on one side reads as ``None``; lists of different lengths
    differ as a whole.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            out += diff_fields(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += diff_fields(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [(path, old, new)]
