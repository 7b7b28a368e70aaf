"""The arithmetic and orderings of Kubernetes' workload controllers, ported case for case.

Purely computational functions (no I/O, no clock: time is ``now`` in float
seconds; no randomness), each named after the function of Kubernetes'
``pkg/controller/deployment`` it ports (``util/deployment_util.go``,
``rolling.go``, ``sync.go``'s ``scale``, ``progress.go``). Pod readiness, the
order pods are deleted in and the kubelet's back-off are in :mod:`reconcile.controllers.workloads`.
ReplicaSets come in as :class:`RSInfo` records or ``ReplicaSet`` objects;
answers that resize ReplicaSets are ``{name: new spec.replicas}``, by name.

>>> from reconcile.api.model import Deployment
>>> d = Deployment.new("web", spec={"replicas": 10})      # maxSurge 25%, maxUnavailable 25%
>>> max_surge(d), max_unavailable(d)
(3, 2)
>>> reconcile_old_replica_sets(d, [RSInfo("web-1", 10, available=10)], RSInfo("web-2", 3))
{'web-1': 8}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from reconcile.controllers.progress import (  # progress.go, re-exported here
    NEW_RS_AVAILABLE_REASON, TIMED_OUT_REASON, deployment_complete, deployment_progressing,
    deployment_timed_out,
)
from reconcile.api.quantity import scaled_value_from_int_or_percent

__all__ = [
    "RSInfo", "DESIRED_REPLICAS_ANNOTATION", "MAX_REPLICAS_ANNOTATION", "NEW_RS_AVAILABLE_REASON", "TIMED_OUT_REASON",
    "rolling", "resolve_fenceposts", "max_surge", "max_unavailable", "min_available",
    "get_replica_count_for_replica_sets", "get_actual_replica_count", "get_ready_replica_count",
    "get_available_replica_count", "new_rs_new_replicas", "is_saturated", "reconcile_new_replica_set",
    "cleanup_unhealthy_replicas", "scale_down_old_for_rolling_update", "reconcile_old_replica_sets",
    "get_replica_set_fraction", "get_proportion", "find_active_or_latest", "proportional_scale",
    "is_scaling_event", "replicas_annotations", "deployment_complete", "deployment_progressing",
    "deployment_timed_out"]

DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
_MAX_INT32 = 2**31 - 1


def _int_annotation(annotations: Mapping, key: str) -> int | None:
    """A non-negative int32 annotation (``getNonNegativeInt32FromAnnotation``); None if absent or bad."""
    value = (annotations or {}).get(key)
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]+", value) or int(value) > _MAX_INT32:
        return None
    return int(value)


@dataclass(frozen=True)
class RSInfo:
    """What the Deployment controller reads of one ReplicaSet: ``spec.replicas``; ``status.``
    ``readyReplicas``, ``availableReplicas``, ``replicas`` (as ``actual``); ``metadata.creationTimestamp``
    (None sorts first, as Go's zero time); the desired-/max-replicas annotations (None if absent or bad)."""

    name: str
    replicas: int
    ready: int = 0
    available: int = 0
    created: float | None = None
    actual: int = 0
    desired_replicas: int | None = None
    max_replicas: int | None = None

    @classmethod
    def of(cls, rs: Any) -> "RSInfo":
        """Summarise a ``ReplicaSet`` object (an RSInfo is returned as it is)."""
        if isinstance(rs, RSInfo):
            return rs
        st, ann = rs.status, rs.metadata.annotations
        return cls(rs.metadata.name, rs.spec.get("replicas", 1), st.get("readyReplicas", 0),
                   st.get("availableReplicas", 0), rs.metadata.creationTimestamp, st.get("replicas", 0),
                   _int_annotation(ann, DESIRED_REPLICAS_ANNOTATION), _int_annotation(ann, MAX_REPLICAS_ANNOTATION))


def _infos(rss: Iterable) -> list[RSInfo]:
    return [RSInfo.of(rs) for rs in rss if rs is not None]


def _created(rs: RSInfo) -> float:
    return float("-inf") if rs.created is None else rs.created


def _by_creation(rss: Iterable[RSInfo]) -> list[RSInfo]:
    """``ReplicaSetsByCreationTimestamp``: oldest first, then by name."""
    return sorted(rss, key=lambda rs: (_created(rs), rs.name))


def _active(rss: Iterable[RSInfo]) -> list[RSInfo]:
    """``FilterActiveReplicaSets``: those with spec.replicas > 0."""
    return [rs for rs in rss if rs.replicas > 0]


def _sizes(sizes: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(sizes.items()))


# ---------------------------------------------------------------- fenceposts

def _replicas(d) -> int:
    return d.spec.get("replicas", 1)


def rolling(obj, field: str = "strategy") -> Mapping | None:
    """The ``rollingUpdate`` parameters, or None when the strategy is not RollingUpdate
    (``spec.strategy`` of a Deployment; ``spec.updateStrategy`` of a DaemonSet or StatefulSet)."""
    strategy = obj.spec.get(field) or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {}


def resolve_fenceposts(max_surge, max_unavailable, desired: int) -> tuple[int, int]:
    """``ResolveFenceposts``: surge rounds up, unavailable rounds down; both 0 makes unavailable 1.

    None counts as 0; a value that is neither an int nor ``"NN%"`` raises ValueError.

    >>> resolve_fenceposts("39%", "39%", 10), resolve_fenceposts("0%", "0%", 0), resolve_fenceposts(None, None, 10)
    ((4, 3), (0, 1), (0, 1))
    """
    surge = scaled_value_from_int_or_percent(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value_from_int_or_percent(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # rounding down may give 0; surge might not work (quota), so allow one
    return surge, unavailable


def max_surge(deployment) -> int:
    """``MaxSurge``: the pods a rolling update may add above ``replicas``; 0 unless RollingUpdate.

    >>> from reconcile.api.model import Deployment
    >>> max_surge(Deployment.new("d", spec={"replicas": 4}))
    1
    >>> max_surge(Deployment.new("d", spec={"strategy": {"type": "Recreate"}}))
    0
    """
    ru = rolling(deployment)
    if ru is None:
        return 0
    return resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), _replicas(deployment))[0]


def max_unavailable(deployment) -> int:
    """``MaxUnavailable``: 0 for Recreate or 0 replicas, else the resolved value capped at ``replicas``.

    >>> from reconcile.api.model import Deployment
    >>> max_unavailable(Deployment.new("d", spec={"replicas": 5, "strategy": {"rollingUpdate": {"maxUnavailable": 9}}}))
    5
    """
    ru, replicas = rolling(deployment), _replicas(deployment)
    if ru is None or replicas == 0:
        return 0
    return min(resolve_fenceposts(ru.get("maxSurge"), ru.get("maxUnavailable"), replicas)[1], replicas)


def min_available(deployment) -> int:
    """``MinAvailable``: ``replicas - max_unavailable``; 0 unless RollingUpdate.

    >>> from reconcile.api.model import Deployment
    >>> min_available(Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxUnavailable": 6}}}))
    4
    """
    return 0 if rolling(deployment) is None else _replicas(deployment) - max_unavailable(deployment)


# ---------------------------------------------------------------- counts

def get_replica_count_for_replica_sets(rss: Iterable) -> int:
    """Sum of ``spec.replicas`` (None entries are skipped); the others sum a status field.

    >>> rss = [RSInfo("a", 1, ready=1, available=0, actual=2), None, RSInfo("b", 2, ready=2, available=2, actual=3)]
    >>> [f(rss) for f in (get_replica_count_for_replica_sets, get_actual_replica_count,
    ...                   get_ready_replica_count, get_available_replica_count)]
    [3, 5, 3, 2]
    """
    return sum(rs.replicas for rs in _infos(rss))


def get_actual_replica_count(rss: Iterable) -> int:
    """Sum of ``status.replicas`` (``GetActualReplicaCountForReplicaSets``)."""
    return sum(rs.actual for rs in _infos(rss))


def get_ready_replica_count(rss: Iterable) -> int:
    """Sum of ``status.readyReplicas``."""
    return sum(rs.ready for rs in _infos(rss))


def get_available_replica_count(rss: Iterable) -> int:
    """Sum of ``status.availableReplicas``."""
    return sum(rs.available for rs in _infos(rss))


# ---------------------------------------------------------------- rolling update (rolling.go)

def new_rs_new_replicas(deployment, all_rss: Iterable, new_rs) -> int:
    """``NewRSNewReplicas``: the new ReplicaSet's size after one rolling step.

    RollingUpdate grows it while the total stays within ``replicas + maxSurge``
    and never past ``replicas``; Recreate returns ``replicas``; other strategy
    types raise ValueError. ``all_rss`` are all the deployment's ReplicaSets.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 6, "strategy": {"rollingUpdate": {"maxSurge": 10}}})
    >>> new_rs_new_replicas(d, [RSInfo("old", 5)], RSInfo("new", 2))
    6
    """
    strategy = deployment.spec.get("strategy") or {}
    kind, replicas, new = strategy.get("type", "RollingUpdate"), _replicas(deployment), RSInfo.of(new_rs)
    if kind == "Recreate":
        return replicas
    if kind != "RollingUpdate":
        raise ValueError(f"deployment strategy type {kind!r} isn't supported")
    surge = scaled_value_from_int_or_percent((strategy.get("rollingUpdate") or {}).get("maxSurge"), replicas, True)
    current, max_total = get_replica_count_for_replica_sets(all_rss), replicas + surge
    if current >= max_total:
        return new.replicas
    return new.replicas + min(max_total - current, replicas - new.replicas)


def is_saturated(deployment, rs) -> bool:
    """``IsSaturated``: the RS has all replicas, its desired-replicas annotation agrees, all available.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 3})
    >>> [is_saturated(d, RSInfo("r", 3, available=a, desired_replicas=3)) for a in (3, 1)]
    [True, False]
    """
    if rs is None:
        return False
    rs, replicas = RSInfo.of(rs), _replicas(deployment)
    return rs.desired_replicas is not None and rs.replicas == replicas == rs.desired_replicas == rs.available


def reconcile_new_replica_set(deployment, all_rss: Iterable, new_rs) -> int:
    """``reconcileNewReplicaSet``: the new RS's target size (its current size when nothing changes).

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxSurge": 2}}})
    >>> reconcile_new_replica_set(d, [RSInfo("new", 0), RSInfo("old", 5)], RSInfo("new", 0))
    7
    """
    new, replicas = RSInfo.of(new_rs), _replicas(deployment)
    if new.replicas >= replicas:
        return replicas  # equal: nothing to do; above: scale down to replicas
    return new_rs_new_replicas(deployment, all_rss, new)


def _cleanup(old: Sequence[RSInfo], max_cleanup: int) -> tuple[dict[str, int], int, str | None]:
    sizes, total = {}, 0
    for rs in _by_creation(old):
        if total >= max_cleanup:
            break
        if rs.replicas == 0 or rs.replicas == rs.available:
            continue  # nothing to scale down, or no unhealthy replicas
        count = min(max_cleanup - total, rs.replicas - rs.available)
        if count < 0:  # more available than wanted: Kubernetes refuses to "scale down" upwards
            return sizes, total, f"invalid request to scale down {rs.name} {rs.replicas} -> {rs.replicas - count}"
        sizes[rs.name], total = rs.replicas - count, total + count
    return sizes, total, None


def cleanup_unhealthy_replicas(old_rss: Iterable, max_cleanup: int) -> tuple[dict[str, int], int]:
    """``cleanupUnhealthyReplicas``: scale old RSs down by their unavailable replicas, oldest first.

    At most ``max_cleanup`` in all. Returns ``({name: new replicas}, count)``;
    raises ValueError where Kubernetes returns its "invalid request" error.

    >>> cleanup_unhealthy_replicas([RSInfo("old", 10, available=8)], 3)
    ({'old': 8}, 2)
    """
    sizes, total, error = _cleanup(_infos(old_rss), max_cleanup)
    if error:
        raise ValueError(error)
    return _sizes(sizes), total


def scale_down_old_for_rolling_update(deployment, all_rss: Iterable, old_rss: Iterable) -> dict[str, int]:
    """``scaleDownOldReplicaSetsForRollingUpdate``: shrink old RSs, oldest first, while the
    available pods of ``all_rss`` (old and new) stay at least ``replicas - maxUnavailable``.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxUnavailable": 2}}})
    >>> old = [RSInfo("old", 10, available=10)]
    >>> scale_down_old_for_rolling_update(d, old, old)
    {'old': 8}
    """
    floor = _replicas(deployment) - max_unavailable(deployment)
    available = get_available_replica_count(all_rss)
    if available <= floor:
        return {}
    sizes, total, wanted = {}, 0, available - floor
    for rs in _by_creation(_infos(old_rss)):
        if total >= wanted:
            break
        if rs.replicas == 0:
            continue
        count = min(rs.replicas, wanted - total)
        sizes[rs.name], total = rs.replicas - count, total + count
    return _sizes(sizes)


def reconcile_old_replica_sets(deployment, old_rss: Iterable, new_rs) -> dict[str, int]:
    """``reconcileOldReplicaSets`` of ``rolloutRolling``: the old RSs' new sizes, ``{}`` if none change.

    ``old_rss`` are all old ReplicaSets (the empty ones included); ``new_rs``
    is the new one. Scales down by at most ``all replicas - minAvailable -
    new RS's unavailable pods``: first unhealthy old replicas, then healthy
    ones while availability allows.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxUnavailable": 2}}})
    >>> reconcile_old_replica_sets(d, [RSInfo("old", 10, available=9)], RSInfo("new", 0))
    {'old': 8}
    """
    old_all, new = _infos(old_rss), RSInfo.of(new_rs)
    old = _active(old_all)
    if get_replica_count_for_replica_sets(old) == 0:
        return {}
    all_count = get_replica_count_for_replica_sets(old_all) + new.replicas
    floor = _replicas(deployment) - max_unavailable(deployment)
    max_scaled_down = all_count - floor - (new.replicas - new.available)
    if max_scaled_down <= 0:
        return {}
    sizes, _, error = _cleanup(old, max_scaled_down)
    if error:  # Kubernetes stops here; the scale-downs before the error were already written
        return _sizes(sizes)
    old = [replace(rs, replicas=sizes.get(rs.name, rs.replicas)) for rs in old]
    sizes.update(scale_down_old_for_rolling_update(deployment, old + [new], old))
    return _sizes(sizes)


# ---------------------------------------------------------------- proportional scaling (sync.go)

def _round(x: float) -> int:
    """``integer.RoundToInt32``: half away from zero."""
    return int(x - 0.5) if x < 0 else int(x + 0.5)


def get_replica_set_fraction(rs, deployment) -> int:
    """``getReplicaSetFraction``: the change that keeps ``rs``'s share when the deployment scales.

    ``rs.replicas * (replicas + maxSurge) / max-replicas annotation``, rounded,
    minus ``rs.replicas``; without a usable annotation, ``status.replicas`` is
    the old size, and if that is 0 too the fraction is 0.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxSurge": 0}}})
    >>> get_replica_set_fraction(RSInfo("r", 6, max_replicas=12), d)
    -1
    """
    rs, replicas = RSInfo.of(rs), _replicas(deployment)
    if replicas == 0:
        return -rs.replicas
    before = rs.max_replicas
    if not before:
        before = deployment.status.get("replicas", 0)
        if before == 0:
            return 0
    return _round(rs.replicas * (replicas + max_surge(deployment)) / before) - rs.replicas


def get_proportion(rs, deployment, to_add: int, added: int) -> int:
    """``GetReplicaSetProportion``: ``rs``'s part of ``to_add`` (``added`` given out so far), within bounds.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxSurge": 0}}})
    >>> get_proportion(RSInfo("r", 3, max_replicas=5), d, 5, 0)
    3
    """
    if rs is None or RSInfo.of(rs).replicas == 0 or to_add == 0 or to_add == added:
        return 0
    fraction, allowed = get_replica_set_fraction(rs, deployment), to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def find_active_or_latest(new_rs, old_rss: Iterable) -> RSInfo | None:
    """``FindActiveOrLatest``: the only active RS; with none active, the new one (else the newest old).

    None when several are active (then scaling is proportional).

    >>> find_active_or_latest(RSInfo("new", 0), [RSInfo("old", 2)]).name
    'old'
    """
    new = None if new_rs is None else RSInfo.of(new_rs)
    old = _by_creation(_infos(old_rss))[::-1]
    if new is None and not old:
        return None
    active = _active(old + ([new] if new is not None else []))
    if not active:
        return new if new is not None else old[0]
    return active[0] if len(active) == 1 else None


def proportional_scale(deployment, new_rs, old_rss: Iterable) -> dict[str, int]:
    """``scale()``: spread a change of ``spec.replicas`` over the ReplicaSets during a rollout.

    Returns ``{name: replicas}`` for each RS Kubernetes writes: the single
    active (or latest) RS scaled to ``replicas``; or, when the new RS is
    saturated, each active old RS scaled to 0; or, for RollingUpdate, every
    active RS, each by its proportion (largest first when growing, newer
    first among equals; largest first when shrinking, older first among
    equals), the rounding leftover going to the first. Written RSs also get
    fresh :func:`replicas_annotations`.

    >>> from reconcile.api.model import Deployment
    >>> d = Deployment.new("d", spec={"replicas": 10, "strategy": {"rollingUpdate": {"maxSurge": 0}}})
    >>> new, old = RSInfo("v2", 2, created=2.0, max_replicas=5), RSInfo("v1", 3, created=1.0, max_replicas=5)
    >>> proportional_scale(d, new, [old])
    {'v1': 6, 'v2': 4}
    """
    new, old, replicas = (None if new_rs is None else RSInfo.of(new_rs)), _infos(old_rss), _replicas(deployment)
    only = find_active_or_latest(new, old)
    if only is not None:
        return {} if only.replicas == replicas else {only.name: replicas}
    if is_saturated(deployment, new):
        return _sizes({rs.name: 0 for rs in _active(old)})
    if rolling(deployment) is None:
        return {}
    rss = _active(old + ([new] if new is not None else []))
    to_add = (replicas + max_surge(deployment) if replicas > 0 else 0) - get_replica_count_for_replica_sets(rss)
    if to_add > 0:  # ReplicaSetsBySizeNewer
        rss = sorted(rss, key=lambda rs: (rs.replicas, _created(rs), rs.name), reverse=True)
    elif to_add < 0:  # ReplicaSetsBySizeOlder
        rss = sorted(rss, key=lambda rs: (-rs.replicas, _created(rs), rs.name))
    sizes, added = {}, 0
    for rs in rss:
        part = get_proportion(rs, deployment, to_add, added)
        sizes[rs.name], added = rs.replicas + part, added + part
    if rss and to_add != 0:
        sizes[rss[0].name] = max(0, sizes[rss[0].name] + to_add - added)
    return _sizes(sizes)


def is_scaling_event(deployment, rss: Iterable) -> bool:
    """``isScalingEvent``: an active RS's desired-replicas annotation differs from ``spec.replicas``.

    >>> from reconcile.api.model import Deployment
    >>> is_scaling_event(Deployment.new("d", spec={"replicas": 5}), [RSInfo("r", 3, desired_replicas=3)])
    True
    """
    return any(rs.desired_replicas is not None and rs.desired_replicas != _replicas(deployment)
               for rs in _active(_infos(rss)))


def replicas_annotations(deployment) -> dict[str, str]:
    """``SetReplicasAnnotations``' values: desired ``replicas`` and max ``replicas + maxSurge``.

    >>> from reconcile.api.model import Deployment
    >>> replicas_annotations(Deployment.new("d", spec={"replicas": 4}))
    {'deployment.kubernetes.io/desired-replicas': '4', 'deployment.kubernetes.io/max-replicas': '5'}
    """
    replicas = _replicas(deployment)
    return {DESIRED_REPLICAS_ANNOTATION: str(replicas), MAX_REPLICAS_ANNOTATION: str(replicas + max_surge(deployment))}

