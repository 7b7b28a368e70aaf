"""Frozen all through: an object with no dict or list anywhere inside it.

``KObject.set`` and ``pmap.set`` take any value, so a plain list can be put
deep inside an otherwise frozen object; stored as it is, a later change to
that list would change the stored object behind the store's back (no new
revision, no watch event, memory and disk apart). The store passes every
object it is given through :func:`frozen`, which returns the object itself
when everything in it is already persistent (nearly always: a fast check,
which skips the parts an update shares with the stored object it came from)
and otherwise a copy with those parts frozen.

>>> from reconcile.api.model import Pod
>>> p = Pod.new("a", "default", spec={"containers": [{"name": "c"}]})
>>> frozen(p) is p
True
>>> ports = [{"containerPort": 80}]
>>> q = frozen(p.set(spec=p.spec.set("ports", ports)))
>>> ports.append({"containerPort": 81}); len(q.spec["ports"]), type(q.spec["ports"]).__name__
(1, 'PVector')
"""

from __future__ import annotations

from typing import Any

from pyrsistent import PMap, PVector, pvector

from reconcile.api._shapemap import EMPTY as _EMPTY, ShapeMap
from reconcile.api.model import KObject, OwnerReference, freeze

__all__ = ["frozen", "is_frozen"]

_SCALARS = frozenset({str, int, float, bool, type(None)})
_VECTOR = type(pvector())           # the C vector (isinstance(v, PVector) goes through the ABC: slower)
_MUTABLE = (dict, list, tuple)      # tuple: freeze() makes it a vector, as JSON would
_META = ("labels", "annotations", "ownerReferences", "finalizers")


def frozen(obj: KObject, like: KObject | None = None, *, spec: bool = True, status: bool = True) -> KObject:
    """``obj``, or a copy of it with every dict and list inside its metadata, spec and status (when
    asked) frozen. ``like`` is the stored object ``obj`` was made from: what they share is not looked at."""
    meta = obj.metadata
    old_meta = like.metadata if like is not None else None
    if (not spec or _clean_spec(obj.spec, like.spec if like is not None else None)) \
            and (not status or _clean(obj.status, like.status if like is not None else None)) \
            and (meta is old_meta or _clean_meta(meta, old_meta)):
        return obj                                  # the fast check: nearly always
    changes = {}
    if spec:
        changes["spec"] = _freeze(obj.spec)
    if status:
        changes["status"] = _freeze(obj.status)
    changes["metadata"] = meta.set(**{f: _freeze(getattr(meta, f)) for f in _META})
    return obj.set(**changes)


def is_frozen(value: Any) -> bool:
    """Whether ``value`` holds no dict, list or tuple, however deep (in maps and vectors too).

    >>> from pyrsistent import pmap
    >>> is_frozen(pmap({"a": (1, 2)})), is_frozen(pmap({"a": pvector([1, 2])}))
    (False, True)
    """
    return _clean(value, None)


_SEEN: dict[int, Any] = {}          # id -> a spec found clean (held, so that its id stays its own)
_SEEN_MAX = 4096


def _clean_meta(meta, old) -> bool:
    """:func:`_clean` for the metadata's maps and lists (of strings, and of owner references)."""
    if old is None:
        if not (_strings(meta.labels, None) and _strings(meta.annotations, None)
                and _strings(meta.finalizers, None)):
            return False
    elif not (_strings(meta.labels, old.labels) and _strings(meta.annotations, old.annotations)
              and _strings(meta.finalizers, old.finalizers)):
        return False
    refs = meta.ownerReferences
    if old is not None and refs is old.ownerReferences:
        return True
    if type(refs) is _VECTOR:
        for r in refs:
            if type(r) is not OwnerReference:
                return _clean(refs, None)
        return True
    return _clean(refs, None)


def _strings(value: Any, old: Any) -> bool:
    if value is old:
        return True
    t = type(value)
    if t is ShapeMap or t is _VECTOR:
        for v in value._vals if t is ShapeMap else value:
            if type(v) is not str:
                return _clean(value, old)
        return True
    return _clean(value, old)


def _clean_spec(value: Any, old: Any) -> bool:
    """:func:`_clean` for a whole spec, remembered: the pods of a ReplicaSet share one spec."""
    if value is old or id(value) in _SEEN or value is _EMPTY:
        return True
    if not _clean(value, old):
        return False
    if len(value) > 1:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[id(value)] = value
    return True


def _clean(value: Any, old: Any) -> bool:
    if value is old:
        return True
    t = type(value)
    if t in _SCALARS:
        return True
    if t is ShapeMap:
        vals = value._vals
        if type(old) is ShapeMap:           # an update: what the stored map holds is known to be clean
            if old._shape is value._shape:
                for v, o in zip(vals, old._vals):
                    if v is not o and type(v) not in _SCALARS and not _clean(v, o):
                        return False
            else:
                get = old.get
                for k, v in zip(value._shape, vals):
                    if type(v) not in _SCALARS and not _clean(v, get(k)):
                        return False
            return True
    elif t is _VECTOR:
        if type(old) is _VECTOR:
            n = len(old)
            for i, v in enumerate(value):
                if type(v) not in _SCALARS and not _clean(v, old[i] if i < n else None):
                    return False
            return True
        vals = value
    elif t in _MUTABLE:
        return False
    elif isinstance(value, PMap):
        vals = value.itervalues()
    elif isinstance(value, PVector):
        vals = value
    else:
        return True     # a record (an OwnerReference: scalars), or what is no JSON (the durable store says so)
    for v in vals:
        if type(v) not in _SCALARS and not _clean(v, None):
            return False
    return True


def _freeze(value: Any) -> Any:
    """``value`` with every dict, list and tuple inside frozen; the parts that are already, kept."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t in _MUTABLE:
        value = freeze(value)           # freeze() keeps a map or vector inside as it is: look in those too
    if isinstance(value, PMap):
        out = value
        for k, v in value.items():
            f = _freeze(v)
            if f is not v:
                out = out.set(k, f)
        return out
    if isinstance(value, PVector):
        out = value
        for i, v in enumerate(value):
            f = _freeze(v)
            if f is not v:
                out = out.set(i, f)
        return out
    return value
