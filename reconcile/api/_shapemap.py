"""Small persistent maps stored as one tuple of values and a shared *shape*.

Most maps in a cluster are small and come in few shapes: every pod's status
has the keys ``phase, conditions, hostIP, podIP, startTime, ...``; every
container status, every condition has the same keys as its neighbours. A
pyrsistent ``PMap`` spends a bucket vector, a list per bucket and a tuple per
key on each of them: about 1 KB for a pod's status. A :class:`ShapeMap` keeps
the keys once per shape (an interned dict from key to position, as hidden
classes do in JavaScript engines) and the values in one tuple: about 150 bytes
for the same status, and a lookup is one dict probe and one index.

A ``ShapeMap`` *is* a ``PMap`` (a subclass, with the whole API: ``get``,
``set``, ``remove``, ``discard``, ``update``, ``update_with``, ``evolver``,
views, attribute access, equality and hashing equal to a ``PMap`` with the
same items), so code that reads or changes maps does not know the
difference. It iterates in insertion order. Maps above :data:`MAX_KEYS` keys
are ordinary ``PMap`` s, and a ``ShapeMap`` that grows past it becomes one.

>>> m = compact({"phase": "Pending", "podIP": "10.0.0.7"})
>>> m["phase"], m.get("hostIP"), m.set("phase", "Running")["phase"], m["phase"]
('Pending', None, 'Running', 'Pending')
>>> m == pmap({"podIP": "10.0.0.7", "phase": "Pending"}), hash(m) == hash(pmap(dict(m)))
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

from pyrsistent import PMap, pmap

__all__ = ["ShapeMap", "compact", "MAX_KEYS", "EMPTY"]

MAX_KEYS = 16
_SHAPES: dict = {}           # keys tuple -> the shape: {key: position}, shared by every map with those keys


def _shape(keys: tuple) -> dict:
    s = _SHAPES.get(keys)
    if s is None:
        s = _SHAPES[keys] = {k: i for i, k in enumerate(keys)}
    return s


def _new(shape: dict, vals: tuple) -> "ShapeMap":
    m = object.__new__(ShapeMap)
    m._shape = shape
    m._vals = vals
    return m


def compact(d: Mapping) -> PMap:
    """A persistent map with the items of ``d``: a ``ShapeMap`` when small, else a ``PMap``."""
    n = len(d)
    if n == 0:
        return EMPTY
    if n > MAX_KEYS:
        return pmap(d)
    return _new(_shape(tuple(d)), tuple(d.values()))


class ShapeMap(PMap):
    """A small immutable map: a shared shape (key -> position) and a tuple of values."""

    __slots__ = ("_shape", "_vals")

    def __new__(cls, *args, **kwargs):
        raise TypeError("make ShapeMaps with reconcile.api._shapemap.compact()")

    # -- reading
    def __getitem__(self, key):
        return self._vals[self._shape[key]]

    def get(self, key, default=None):
        i = self._shape.get(key)
        return default if i is None else self._vals[i]

    def __contains__(self, key) -> bool:
        return key in self._shape

    def __len__(self) -> int:
        return len(self._vals)

    def __iter__(self):
        return iter(self._shape)

    def iterkeys(self):
        return iter(self._shape)

    def itervalues(self):
        return iter(self._vals)

    def iteritems(self):
        return zip(self._shape, self._vals)

    def __repr__(self) -> str:
        return f"pmap({dict(zip(self._shape, self._vals))})"

    __str__ = __repr__

    def __eq__(self, other):
        if self is other:
            return True
        if type(other) is ShapeMap:
            if other._shape is self._shape:
                return self._vals == other._vals
            return len(other._vals) == len(self._vals) and dict(zip(self._shape, self._vals)) == \
                dict(zip(other._shape, other._vals))
        if not isinstance(other, Mapping):
            return NotImplemented
        if len(other) != len(self._vals):
            return False
        return dict(zip(self._shape, self._vals)) == (other if isinstance(other, dict) else dict(other.items()))

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(frozenset(zip(self._shape, self._vals)))   # as PMap's, so equal maps hash alike

    def __reduce__(self):
        return compact, (dict(zip(self._shape, self._vals)),)

    # PMap's own code (its evolver, __eq__ against a ShapeMap) reads these two
    @property
    def _buckets(self):
        return pmap(dict(zip(self._shape, self._vals)))._buckets

    @property
    def _size(self) -> int:
        return len(self._vals)

    # -- changing (new maps; this one stays as it is)
    def set(self, key, val) -> PMap:
        shape = self._shape
        i = shape.get(key)
        vals = self._vals
        if i is not None:
            if vals[i] is val:
                return self
            return _new(shape, vals[:i] + (val,) + vals[i + 1:])
        if len(vals) >= MAX_KEYS:
            d = dict(zip(shape, vals))
            d[key] = val
            return pmap(d)
        return _new(_shape(tuple(shape) + (key,)), vals + (val,))

    def remove(self, key) -> PMap:
        i = self._shape.get(key)
        if i is None:
            raise KeyError(key)
        keys = tuple(self._shape)
        return _new(_shape(keys[:i] + keys[i + 1:]), self._vals[:i] + self._vals[i + 1:])

    def discard(self, key) -> PMap:
        return self.remove(key) if key in self._shape else self

    def update_with(self, update_fn, *maps) -> PMap:
        d = dict(zip(self._shape, self._vals))
        for m in maps:
            for k, v in m.items():
                d[k] = update_fn(d[k], v) if k in d else v
        return compact(d)

    def update(self, *maps) -> PMap:
        return self.update_with(lambda l, r: r, *maps)

    def __add__(self, other) -> PMap:
        return self.update(other)

    __or__ = __add__

    def copy(self) -> "ShapeMap":
        return self

    def evolver(self) -> "_Evolver":
        return _Evolver(self)


EMPTY: ShapeMap = _new(_shape(()), ())
"""The empty map (a ``ShapeMap``, so what is set on it stays compact)."""


class _Evolver:
    """A ShapeMap's evolver: a dict of the changes, made persistent again by ``persistent()``."""

    __slots__ = ("_original", "_d", "_dirty")

    def __init__(self, original: ShapeMap):
        self._original = original
        self._d = dict(zip(original._shape, original._vals))
        self._dirty = False

    def __getitem__(self, key):
        return self._d[key]

    def get(self, key, default=None):
        return self._d.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self._d

    def __len__(self) -> int:
        return len(self._d)

    def set(self, key, val) -> "_Evolver":
        d = self._d
        if key not in d or d[key] is not val:
            d[key] = val
            self._dirty = True
        return self

    __setitem__ = set

    def remove(self, key) -> "_Evolver":
        del self._d[key]
        self._dirty = True
        return self

    __delitem__ = remove

    def is_dirty(self) -> bool:
        return self._dirty

    def persistent(self) -> PMap:
        if self._dirty:
            self._original = compact(self._d)
            self._dirty = False
        return self._original
