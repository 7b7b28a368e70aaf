"""The object model: immutable records shaped like Kubernetes objects.

Every object has the five Kubernetes parts, ``apiVersion``, ``kind``,
``metadata``, ``spec`` and ``status``, under their Kubernetes names. The
records are pyrsistent ``PClass`` instances (slotted, immutable); ``metadata``
is an :class:`ObjectMeta` record; ``spec`` and ``status`` are frozen trees of
``pmap`` and ``pvector`` holding exactly the Kubernetes JSON of that part.

>>> d = Deployment.from_dict({"metadata": {"name": "web"},
...                           "spec": {"template": {"metadata": {"labels": {"app": "web"}},
...                                                 "spec": {"containers": [{"name": "c"}]}}}})
>>> d.name, d.namespace, d.spec["replicas"]
('web', 'default', 1)
>>> d.spec["strategy"]["rollingUpdate"]["maxSurge"]
'25%'
>>> d.set(spec=d.spec.set("replicas", 3)).spec["replicas"], d.spec["replicas"]
(3, 1)

Conversion to and from plain Kubernetes JSON dicts is :func:`from_dict` and
:meth:`KObject.to_dict`; a round trip is the identity. For storage,
:func:`to_stored` and :func:`restore` keep an object exactly (times as floats,
no defaulting on the way back).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from pyrsistent import PClass, PMap, PVector, field, pvector  # noqa: F401 (pvector re-exported)

from reconcile.api import defaults as _defaults
from reconcile.api import _pmap_speed
from reconcile.api._shapemap import EMPTY as _EMPTY_SHAPEMAP, compact

_pmap_speed.install()

__all__ = [
    "ModelError", "ObjectMeta", "OwnerReference", "KObject",
    "Namespace", "Node", "Pod", "ReplicaSet", "Deployment", "StatefulSet",
    "DaemonSet", "Job", "CronJob", "Service", "Endpoints", "Lease",
    "HorizontalPodAutoscaler", "Rule", "Policy", "ControllerRevision",
    "KINDS", "kind_class", "from_dict", "pod_from_template", "freeze", "thaw", "rfc3339", "EMPTY_MAP", "EMPTY_VEC",
    "to_stored", "restore",
]

EMPTY_MAP: PMap = _EMPTY_SHAPEMAP
EMPTY_VEC: PVector = pvector()


class ModelError(ValueError):
    """A dict that is not a valid object of its kind (says which field and why)."""


# ---------------------------------------------------------------- freezing

def freeze(value: Any) -> Any:
    """Turn JSON-like data (dicts, lists, scalars) into pmaps and pvectors.

    Faster than ``pyrsistent.freeze`` for JSON data, and already-frozen
    subtrees are returned as they are, so shared parts stay shared.

    >>> freeze({"a": [1, {"b": 2}]})
    pmap({'a': pvector([1, pmap({'b': 2})])})
    """
    t = type(value)
    if t is dict:
        return compact({k: freeze(v) for k, v in value.items()})
    if t is list or t is tuple:
        return pvector([freeze(v) for v in value])
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze`: plain dicts and lists, for JSON and YAML."""
    if isinstance(value, PMap):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, PVector):
        return [thaw(v) for v in value]
    if isinstance(value, PClass):
        return value.to_dict()
    return value


def rfc3339(ts: float | None) -> str | None:
    """A clock time (seconds since the epoch) as Kubernetes writes it: RFC 3339, UTC.

    >>> rfc3339(0), rfc3339(1.5), rfc3339(None)
    ('1970-01-01T00:00:00Z', '1970-01-01T00:00:01.500000Z', None)
    """
    if ts is None:
        return None
    t = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any, where: str) -> float | None:
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, _dt.datetime):  # YAML loaders turn timestamps into datetimes
        t = value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
        return t.timestamp()
    try:
        text = str(value).replace("Z", "+00:00")
        return _dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ModelError(f"{where}: expected an RFC 3339 time like 2024-01-02T03:04:05Z, got {value!r}") from None


# ---------------------------------------------------------------- records

class _Record(PClass):
    """PClass with a fast constructor for data that is already valid."""

    @classmethod
    def _make(cls, **values):
        obj = object.__new__(cls)
        for name, f in cls._pclass_fields.items():
            v = values.get(name, _MISSING)
            if v is _MISSING:
                v = f.initial
            object.__setattr__(obj, name, v)
        object.__setattr__(obj, "_pclass_frozen", True)
        return obj

    def set(self, *args, **kwargs):
        """A copy with some fields changed (``obj.set(spec=...)`` or ``obj.set("spec", ...)``).

        The fields carry no types or invariants, so this skips PClass's
        checks: an object changes several times on its way to Running.
        """
        if args:
            kwargs[args[0]] = args[1]
        cls = self.__class__
        fields = cls._pclass_fields
        obj = object.__new__(cls)
        setter = object.__setattr__
        for name in fields:
            v = kwargs.pop(name, _MISSING)
            setter(obj, name, getattr(self, name) if v is _MISSING else v)
        if kwargs:
            raise AttributeError(f"'{', '.join(kwargs)}' are not among the specified fields for {cls.__name__}")
        setter(obj, "_pclass_frozen", True)
        return obj


_MISSING = object()


class OwnerReference(_Record):
    """``metadata.ownerReferences[i]``: who owns an object (for garbage collection)."""

    apiVersion = field(initial="")
    kind = field(initial="")
    name = field(initial="")
    uid = field(initial="")
    controller = field(initial=False)
    blockOwnerDeletion = field(initial=False)

    def to_dict(self) -> dict:
        d = {"apiVersion": self.apiVersion, "kind": self.kind, "name": self.name, "uid": self.uid}
        if self.controller:
            d["controller"] = True
        if self.blockOwnerDeletion:
            d["blockOwnerDeletion"] = True
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> "OwnerReference":
        return cls._make(**{k: d.get(k, f.initial) for k, f in cls._pclass_fields.items()})


_META_SCALARS = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation")


class ObjectMeta(_Record):
    """``metadata``: the Kubernetes ObjectMeta fields that this system uses."""

    name = field(initial="")
    generateName = field(initial="")
    namespace = field(initial=None)
    labels = field(initial=EMPTY_MAP)
    annotations = field(initial=EMPTY_MAP)
    uid = field(initial="")
    resourceVersion = field(initial="")
    generation = field(initial=0)
    ownerReferences = field(initial=EMPTY_VEC)
    creationTimestamp = field(initial=None)
    deletionTimestamp = field(initial=None)
    deletionGracePeriodSeconds = field(initial=None)
    finalizers = field(initial=EMPTY_VEC)

    def to_dict(self) -> dict:
        d: dict = {}
        for k in _META_SCALARS:
            v = getattr(self, k)
            if v:
                d[k] = v
        if self.labels:
            d["labels"] = dict(sorted(self.labels.items()))
        if self.annotations:
            d["annotations"] = dict(sorted(self.annotations.items()))
        if self.ownerReferences:
            d["ownerReferences"] = [o.to_dict() for o in self.ownerReferences]
        if self.creationTimestamp is not None:
            d["creationTimestamp"] = rfc3339(self.creationTimestamp)
        if self.deletionTimestamp is not None:
            d["deletionTimestamp"] = rfc3339(self.deletionTimestamp)
        if self.deletionGracePeriodSeconds is not None:
            d["deletionGracePeriodSeconds"] = self.deletionGracePeriodSeconds
        if self.finalizers:
            d["finalizers"] = list(self.finalizers)
        return d

    @classmethod
    def from_dict(cls, d: Mapping, namespace: str | None) -> "ObjectMeta":
        if not isinstance(d, Mapping):
            raise ModelError(f"metadata: expected a mapping, got {type(d).__name__}")
        unknown = sorted(set(d) - set(cls._pclass_fields))
        if unknown:
            raise ModelError(f"metadata: unknown field {unknown[0]!r}")
        for part in ("labels", "annotations"):
            _check_str_map(d.get(part), f"metadata.{part}")
        for part, kinds in _META_TYPES.items():
            _check_type(d.get(part), kinds, f"metadata.{part}")
        for i, ref in enumerate(d.get("ownerReferences") or ()):
            _check_type(ref, Mapping, f"metadata.ownerReferences[{i}]")
        for i, f in enumerate(d.get("finalizers") or ()):
            _check_type(f, str, f"metadata.finalizers[{i}]")
        return cls._from_checked(d, namespace)

    @classmethod
    def _from_checked(cls, d: Mapping, namespace: str | None) -> "ObjectMeta":
        """Build from a metadata dict whose fields are known and whose labels are strings."""
        owners = d.get("ownerReferences") or ()
        return cls._make(
            name=str(d.get("name") or ""),
            generateName=str(d.get("generateName") or ""),
            namespace=d.get("namespace") or namespace,
            labels=compact(d.get("labels") or {}),
            annotations=compact(d.get("annotations") or {}),
            uid=str(d.get("uid") or ""),
            resourceVersion=str(d.get("resourceVersion") or ""),
            generation=int(d.get("generation") or 0),
            ownerReferences=pvector(OwnerReference.from_dict(o) for o in owners),
            creationTimestamp=_parse_time(d.get("creationTimestamp"), "metadata.creationTimestamp"),
            deletionTimestamp=_parse_time(d.get("deletionTimestamp"), "metadata.deletionTimestamp"),
            deletionGracePeriodSeconds=d.get("deletionGracePeriodSeconds"),
            finalizers=pvector(d.get("finalizers") or ()),
        )


_META_TYPES = {"name": str, "generateName": str, "namespace": str, "uid": str, "resourceVersion": str,
               "generation": int, "deletionGracePeriodSeconds": int, "ownerReferences": list, "finalizers": list}
_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", Mapping: "a mapping"}


def _check_type(value: Any, kind: type, where: str) -> None:
    """Kubernetes decodes JSON into typed fields: a value of another type is an error (a bool is no integer)."""
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise ModelError(f"{where}: expected {_TYPE_NAMES[kind]}, got {type(value).__name__} {value!r:.40}")


def _check_str_map(value: Any, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ModelError(f"{where}: expected a mapping of strings, got {type(value).__name__}")
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ModelError(f"{where}: {k!r}: keys and values must be strings, got {v!r}")


class KObject(_Record):
    """An object of the cluster: ``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``.

    Subclasses fix ``API_VERSION``, ``KIND``, whether they are ``NAMESPACED``
    and their Kubernetes defaults. Use :meth:`set` (from pyrsistent) to make
    a changed copy.
    """

    API_VERSION = "v1"
    KIND = ""
    NAMESPACED = True
    PLURAL = ""

    apiVersion = field(initial="")
    kind = field(initial="")
    metadata = field(initial=ObjectMeta._make())
    spec = field(initial=EMPTY_MAP)
    status = field(initial=EMPTY_MAP)

    # -- convenience
    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str | None:
        return self.metadata.namespace

    @property
    def labels(self) -> PMap:
        return self.metadata.labels

    @property
    def key(self) -> tuple:
        """``(kind, namespace, name)``: what identifies the object in a cluster."""
        m = self.metadata
        return (self.kind, m.namespace, m.name)

    def __repr__(self) -> str:
        ns = f"{self.metadata.namespace}/" if self.metadata.namespace else ""
        return f"{type(self).__name__}({ns}{self.metadata.name})"

    # -- conversion
    def to_dict(self) -> dict:
        """Plain Kubernetes JSON (dicts, lists, strings, numbers)."""
        d = {"apiVersion": self.apiVersion, "kind": self.kind, "metadata": self.metadata.to_dict()}
        if self.KIND in _NO_SPEC:  # Endpoints keep their data at the top level
            d.update(thaw(self.spec))
        else:
            d["spec"] = thaw(self.spec)
        if self.status:
            d["status"] = thaw(self.status)
        return d

    @classmethod
    def new(cls, name: str, namespace: str | None = None, *, spec: Mapping | None = None,
            labels: Mapping | None = None, annotations: Mapping | None = None,
            status: Mapping | None = None) -> "KObject":
        """Make an object of this kind with Kubernetes defaults applied."""
        meta: dict = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        d = {"metadata": meta, "spec": dict(spec or {}), "status": dict(status or {})}
        if cls.KIND in _NO_SPEC:
            d.update(d.pop("spec"))
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d: Mapping) -> "KObject":
        """Build from Kubernetes JSON, with defaults; raises :class:`ModelError`."""
        if not isinstance(d, Mapping):
            raise ModelError(f"expected a mapping for a {cls.KIND}, got {type(d).__name__}")
        api = d.get("apiVersion") or cls.API_VERSION
        if api != cls.API_VERSION and (cls.KIND, api) not in _ALIASES:
            raise ModelError(f"apiVersion: {cls.KIND} is served as {cls.API_VERSION!r}, got {api!r}")
        known = _TOP_FIELDS | _NO_SPEC.get(cls.KIND, frozenset())
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelError(f"unknown field {unknown[0]!r} (a {cls.KIND} has {', '.join(sorted(known))})")
        meta = ObjectMeta.from_dict(d.get("metadata") or {}, "default" if cls.NAMESPACED else None)
        if not cls.NAMESPACED and meta.namespace:
            raise ModelError(f"metadata.namespace: a {cls.KIND} is cluster-scoped and has no namespace")
        if cls.KIND in _NO_SPEC:
            spec = {k: d[k] for k in _NO_SPEC[cls.KIND] if k in d}
        else:
            spec = d.get("spec") or {}
            if not isinstance(spec, Mapping):
                raise ModelError(f"spec: expected a mapping, got {type(spec).__name__}")
        status = d.get("status") or {}
        if not isinstance(status, Mapping):
            raise ModelError(f"status: expected a mapping, got {type(status).__name__}")
        return cls._from_plain(meta, _plain(spec), _plain(status))

    @classmethod
    def _from_plain(cls, meta: "ObjectMeta", spec: dict, status: dict) -> "KObject":
        """Build from checked parts: fresh plain dicts that defaulting may change in place."""
        spec = _defaults.apply(cls.KIND, spec)
        return cls._make(apiVersion=cls.API_VERSION, kind=cls.KIND, metadata=meta,
                         spec=freeze(spec), status=freeze(status) if status else EMPTY_MAP)


def _plain(value: Any) -> Any:
    """Copy mappings and sequences into dicts and lists (so defaulting can mutate)."""
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is dict or isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, PVector)):
        return [_plain(v) for v in value]
    return value


_TOP_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
_NO_SPEC = {"Endpoints": frozenset({"subsets"}), "ControllerRevision": frozenset({"data", "revision"})}
_ALIASES = {("HorizontalPodAutoscaler", "autoscaling/v1")}


def _kind(name: str, api: str = "v1", namespaced: bool = True, plural: str | None = None):
    cls = type(name, (KObject,), {
        "__doc__": f"A Kubernetes ``{name}`` ({api}).",
        "API_VERSION": api, "KIND": name, "NAMESPACED": namespaced,
        "PLURAL": plural or name.lower() + "s",
    })
    cls.__module__ = __name__
    return cls


Namespace = _kind("Namespace", namespaced=False)
Node = _kind("Node", namespaced=False)
Pod = _kind("Pod")
Service = _kind("Service")
Endpoints = _kind("Endpoints", plural="endpoints")
ReplicaSet = _kind("ReplicaSet", "apps/v1")
Deployment = _kind("Deployment", "apps/v1")
StatefulSet = _kind("StatefulSet", "apps/v1")
DaemonSet = _kind("DaemonSet", "apps/v1")
Job = _kind("Job", "batch/v1")
CronJob = _kind("CronJob", "batch/v1")
Lease = _kind("Lease", "coordination.k8s.io/v1")
HorizontalPodAutoscaler = _kind("HorizontalPodAutoscaler", "autoscaling/v2",
                                plural="horizontalpodautoscalers")
Rule = _kind("Rule", "reconcile.dev/v1")
Policy = _kind("Policy", "reconcile.dev/v1", namespaced=False, plural="policies")
ControllerRevision = _kind("ControllerRevision", "apps/v1")   # a StatefulSet's template history

KINDS: dict[str, type[KObject]] = {c.KIND: c for c in (
    Namespace, Node, Pod, Service, Endpoints, ReplicaSet, Deployment, StatefulSet,
    DaemonSet, Job, CronJob, Lease, HorizontalPodAutoscaler, Rule, Policy, ControllerRevision)}

_BY_NAME = {}
for _c in KINDS.values():
    for _n in (_c.KIND, _c.KIND.lower(), _c.PLURAL):
        _BY_NAME[_n] = _c
_BY_NAME.update({"hpa": HorizontalPodAutoscaler, "ns": Namespace, "no": Node, "po": Pod,
                 "svc": Service, "ep": Endpoints, "rs": ReplicaSet, "deploy": Deployment,
                 "sts": StatefulSet, "ds": DaemonSet, "cj": CronJob})


_LAST_OWNER: list = [None]


def pod_from_template(template: PMap, name: str, namespace: str, owner: KObject | None = None,
                      node_name: str | None = None) -> KObject:
    """A Pod made from a workload's pod template, sharing the template's parts.

    The pod's labels, annotations and spec are the template's own persistent
    maps (not copies), so a thousand replicas cost a thousand small records,
    not a thousand pod specs. Binding the pod to a node adds ``nodeName`` to
    a new top-level map whose values are still shared.

    >>> d = Deployment.new("web", "default", labels={"app": "web"}, spec={"template": {
    ...     "metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c"}]}}})
    >>> p = pod_from_template(d.spec["template"], "web-1", "default", owner=d)
    >>> p.spec is d.spec["template"]["spec"], p.labels is d.spec["template"]["metadata"]["labels"]
    (True, True)
    >>> p.metadata.ownerReferences[0].kind
    'Deployment'
    """
    tmeta = template.get("metadata") or EMPTY_MAP
    owners = EMPTY_VEC
    if owner is not None:
        last = _LAST_OWNER[0]
        if last is not None and last[0] is owner:
            owners = last[1]            # the owner's pods share one reference list
        else:
            owners = pvector([OwnerReference._make(
                apiVersion=owner.apiVersion, kind=owner.kind, name=owner.name, uid=owner.metadata.uid,
                controller=True, blockOwnerDeletion=True)])
            _LAST_OWNER[0] = (owner, owners)
    spec = template.get("spec") or EMPTY_MAP
    if node_name is not None:
        spec = spec.set("nodeName", node_name)
    meta = ObjectMeta._make(name=name, namespace=namespace,
                            labels=tmeta.get("labels") or EMPTY_MAP,
                            annotations=tmeta.get("annotations") or EMPTY_MAP,
                            ownerReferences=owners)
    return Pod._make(apiVersion=Pod.API_VERSION, kind=Pod.KIND, metadata=meta, spec=spec,
                     status=EMPTY_MAP)


def kind_class(name: str) -> type[KObject]:
    """The class for a kind, by kind, plural or kubectl short name.

    >>> kind_class("deploy").KIND, kind_class("pods").KIND
    ('Deployment', 'Pod')
    """
    try:
        return _BY_NAME[name] if name in _BY_NAME else _BY_NAME[name.lower()]
    except KeyError:
        raise ModelError(f"unknown kind {name!r} (known kinds: {', '.join(sorted(KINDS))})") from None


def from_dict(d: Mapping) -> KObject:
    """Build the right kind of object from a Kubernetes JSON dict.

    >>> from_dict({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    Namespace(shop)
    """
    if not isinstance(d, Mapping):
        raise ModelError(f"expected a Kubernetes object (a mapping), got {type(d).__name__}")
    kind = d.get("kind")
    if not kind:
        raise ModelError("kind: required (every object names its kind, like 'kind: Deployment')")
    _check_type(kind, str, "kind")
    cls = KINDS.get(kind)
    if cls is None:
        raise ModelError(f"kind: unknown kind {kind!r} (known kinds: {', '.join(sorted(KINDS))})")
    return cls.from_dict(d)


# ---------------------------------------------------------------- the stored form

_STORED_META = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                "deletionTimestamp", "deletionGracePeriodSeconds")


def to_stored(obj: KObject) -> dict:
    """``obj`` as plain JSON data, exactly: every metadata field, times as the clock's floats.

    Unlike :meth:`KObject.to_dict` (Kubernetes JSON: RFC 3339 times, empty
    fields left out), this loses nothing; :func:`restore` reads it back.
    """
    m = obj.metadata
    meta = {k: getattr(m, k) for k in _STORED_META}
    meta["labels"] = dict(m.labels)
    meta["annotations"] = dict(m.annotations)
    meta["finalizers"] = list(m.finalizers)
    meta["ownerReferences"] = [o.to_dict() for o in m.ownerReferences]
    return {"apiVersion": obj.apiVersion, "kind": obj.kind, "metadata": meta,
            "spec": thaw(obj.spec), "status": thaw(obj.status)}


def restore(d: Mapping) -> KObject:
    """The object that :func:`to_stored` made ``d`` of, equal to it.

    It was checked and defaulted when it was first built, so neither
    happens again (unlike :func:`from_dict`).

    >>> p = Pod.new("web-1", labels={"app": "web"}, spec={"containers": [{"name": "c"}]})
    >>> p = p.set(metadata=p.metadata.set(creationTimestamp=1.25, finalizers=pvector(["f"])))
    >>> q = restore(to_stored(p))
    >>> q == p, q.metadata.creationTimestamp, list(q.metadata.finalizers)
    (True, 1.25, ['f'])
    """
    meta = d["metadata"]
    return KINDS[d["kind"]]._make(
        apiVersion=d["apiVersion"], kind=d["kind"],
        metadata=ObjectMeta._from_checked(meta, meta.get("namespace")),
        spec=freeze(d.get("spec") or {}), status=freeze(d.get("status") or {}))
