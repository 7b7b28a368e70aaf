"""Faster lookups for pyrsistent's ``PMap``, with the same results.

``PMap.get`` is inherited from ``collections.abc.Mapping`` (a ``try`` around
``__getitem__``, which calls two static helpers), so one lookup costs about
2 us; a control plane makes millions of them. These versions do the same
bucket search inline: same hashing, same ``==`` on keys, same ``KeyError``.
Installed once, when :mod:`reconcile.api.model` is imported; ``install`` is
idempotent. ``tests/reconcile/test_model.py`` checks them against the
originals.
"""

from __future__ import annotations

from pyrsistent._pmap import PMap

__all__ = ["install", "ORIGINAL"]

ORIGINAL = {"get": PMap.get, "__getitem__": PMap.__getitem__, "__contains__": PMap.__contains__}


def _get(self, key, default=None):
    buckets = self._buckets
    bucket = buckets[hash(key) % len(buckets)]
    if bucket:
        for k, v in bucket:
            if k == key:
                return v
    return default


def _getitem(self, key):
    buckets = self._buckets
    bucket = buckets[hash(key) % len(buckets)]
    if bucket:
        for k, v in bucket:
            if k == key:
                return v
    raise KeyError(key)


def _contains(self, key) -> bool:
    buckets = self._buckets
    bucket = buckets[hash(key) % len(buckets)]
    if bucket:
        for k, _ in bucket:
            if k == key:
                return True
    return False


def install() -> None:
    PMap.get = _get
    PMap.__getitem__ = _getitem
    PMap.__contains__ = _contains
