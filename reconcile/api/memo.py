"""Answers kept per object identity: for pure functions of immutable values that many objects share.

A template's pods share their labels, containers and selector; pods that got
ready together share their conditions list. A function of such a value is
worth computing once per value object. :class:`IdentityMemo` keeps each answer
beside the object(s) it was computed from (held, so an id is never reused
while its entry lives) and forgets everything when it reaches its size.

>>> memo = IdentityMemo()
>>> labels = {"app": "web"}
>>> memo.get(lambda: len(labels), labels), memo.get(lambda: -1, labels)
(1, 1)
>>> memo.get(lambda: "pair", labels, "other"), memo.get(lambda: "again", labels, "other")
('pair', 'pair')
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["IdentityMemo"]


class IdentityMemo:
    """``get(compute, *objects)``: ``compute()`` once per identity of ``objects``."""

    __slots__ = ("size", "table")

    def __init__(self, size: int = 4096):
        self.size = size
        self.table: dict = {}

    def get(self, compute: Callable[[], Any], *objects) -> Any:
        table = self.table
        if len(objects) == 1:               # the common case, kept short: it runs per pod
            obj = objects[0]
            key = id(obj)
            hit = table.get(key)
            if hit is not None and hit[0] is obj:
                return hit[1]
            stored = obj
        else:
            key = tuple(map(id, objects))
            hit = table.get(key)
            if hit is not None:
                for a, b in zip(hit[0], objects):
                    if a is not b:
                        break
                else:
                    return hit[1]
            stored = objects
        value = compute()
        if len(table) >= self.size:
            table.clear()
        table[key] = (stored, value)
        return value
