"""The Deployment controller: ReplicaSets by pod-template hash, rolling updates, recreate, rollback.

Kubernetes semantics (``pkg/controller/deployment``): the deployment owns
one ReplicaSet per distinct pod template, labelled ``pod-template-hash``;
the one whose template equals the deployment's is the *new* one. A
``RollingUpdate`` grows the new ReplicaSet while the total stays within
``replicas + maxSurge`` and shrinks old ones while the available pods stay
at least ``replicas - maxUnavailable`` (surge rounds up, unavailable rounds
down, both zero means unavailable 1); ``Recreate`` scales the old ones to
zero first. ``paused`` stops rollouts (scaling still happens). Each new
ReplicaSet gets the next ``deployment.kubernetes.io/revision``; old empty
ones beyond ``revisionHistoryLimit`` are deleted; a rollout that makes no
progress for ``progressDeadlineSeconds`` gets ``Progressing=False`` with
reason ``ProgressDeadlineExceeded``.
"""

from __future__ import annotations

import hashlib
import json

from pyrsistent import pmap

from reconcile.api.memo import IdentityMemo
from reconcile.engine.actions import Create, Delete, Emit, Result, Update, UpdateStatus
from reconcile.api.conditions import condition, set_condition
from reconcile.controllers.workloads import SAFE_ALPHABET, is_controlled_by, owner_reference, workload_selector
from reconcile.engine import Rule
from reconcile.api.model import ReplicaSet, rfc3339, thaw
from reconcile.controllers.rollout import (  # resolve_fenceposts re-exported: Kubernetes' ResolveFenceposts
    is_scaling_event, proportional_scale, replicas_annotations, resolve_fenceposts,
)

__all__ = ["reconcile_deployment", "RULE", "resolve_fenceposts", "template_hash", "REVISION",
           "rollback_template", "restart_template", "revision_history"]

REVISION = "deployment.kubernetes.io/revision"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def template_hash(template) -> str:
    """A stable hash of a pod template (the ``pod-template-hash`` label's value)."""
    data = json.dumps(thaw(template), sort_keys=True, separators=(",", ":")).encode()
    n = int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")
    out = ""
    for _ in range(10):
        n, r = divmod(n, len(SAFE_ALPHABET))
        out += SAFE_ALPHABET[r]
    return out


def _without_hash(template):
    meta = template.get("metadata") or pmap()
    labels = (meta.get("labels") or pmap()).discard(HASH_LABEL)
    return template.set("metadata", meta.set("labels", labels))


_SAME = IdentityMemo()


def _same_template(rs_template, template) -> bool:
    """Whether a ReplicaSet's template is the deployment's, but for the hash label (Kubernetes'
    EqualIgnoreHash); kept per pair of template objects, which stay the same between passes."""
    return _SAME.get(lambda: _without_hash(rs_template) == template, rs_template, template)


def _revision(rs) -> int:
    try:
        return int(rs.metadata.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def _owned_replicasets(snapshot, d):
    selector = workload_selector(d)
    owned = [rs for rs in snapshot.owned_by(d.metadata.uid) if rs.kind == "ReplicaSet" and is_controlled_by(rs, d)]
    adopt = [] if selector.is_empty() else [
        rs for rs in snapshot.orphans("ReplicaSet", d.metadata.namespace)
        if rs.metadata.deletionTimestamp is None and selector.matches(rs.metadata.labels)]
    return owned, adopt


def _new_replicaset(d, template, revision: int, replicas: int):
    h = template_hash(template)
    labels = (template.get("metadata") or pmap()).get("labels") or pmap()
    labels = labels.set(HASH_LABEL, h)
    tmpl = template.set("metadata", (template.get("metadata") or pmap()).set("labels", labels))
    sel = thaw(d.spec.get("selector") or {})
    sel.setdefault("matchLabels", {})[HASH_LABEL] = h
    rs = ReplicaSet.new(f"{d.name}-{h}"[:253], d.metadata.namespace, labels=dict(labels),
                        annotations={REVISION: str(revision), **replicas_annotations(d)},
                        spec={"replicas": replicas, "minReadySeconds": d.spec.get("minReadySeconds") or 0,
                              "selector": sel, "template": thaw(tmpl)})
    return rs.set(metadata=rs.metadata.set(ownerReferences=rs.metadata.ownerReferences.append(owner_reference(d))))


def _scale(rs, replicas: int, d=None):
    """Resize ``rs``; with the deployment, also note its desired and max replicas on it
    (Kubernetes' scaleReplicaSet), which is how a later resize is told from a rollout step."""
    rs = rs.set(spec=rs.spec.set("replicas", replicas))
    if d is not None:
        rs = rs.set(metadata=rs.metadata.set(annotations=rs.metadata.annotations.update(replicas_annotations(d))))
    return Update(rs)


def _resize(d, rs, replicas: int) -> list:
    """The actions to resize ``rs`` for ``d`` (annotations kept current), with the event."""
    if replicas == _replicas(rs) and all(rs.metadata.annotations.get(k) == v
                                         for k, v in replicas_annotations(d).items()):
        return []
    out = [_scale(rs, replicas, d)]
    if replicas != _replicas(rs):
        verb = "up" if replicas > _replicas(rs) else "down"
        out.append(Emit("Normal", "ScalingReplicaSet", f"Scaled {verb} replica set {rs.name} to {replicas}", d.key))
    return out


def _proportional(d, owned, new, olds) -> list:
    """Kubernetes' scale(): spread a change of replicas over the ReplicaSets (see rollout.proportional_scale)."""
    sizes = proportional_scale(d, new, olds)
    return [a for rs in owned if rs.name in sizes for a in _resize(d, rs, sizes[rs.name])]


def _replicas(rs) -> int:
    return rs.spec.get("replicas", 0)


def _available(rs) -> int:
    return rs.status.get("availableReplicas", 0) if rs.status.get("observedGeneration") == rs.metadata.generation \
        else min(rs.status.get("availableReplicas", 0), _replicas(rs))


def reconcile_deployment(snapshot, key, now: float) -> Result:
    _, ns, name = key
    d = snapshot.get("Deployment", name, ns)
    if d is None or d.metadata.deletionTimestamp is not None:
        return Result()
    owned, adopt = _owned_replicasets(snapshot, d)
    if adopt:
        return Result(tuple(Update(rs.set(metadata=rs.metadata.set(
            ownerReferences=rs.metadata.ownerReferences.append(owner_reference(d))))) for rs in adopt))
    template = d.spec.get("template") or pmap()
    new = next((rs for rs in owned if _same_template(rs.spec.get("template") or pmap(), template)), None)
    olds = sorted((rs for rs in owned if rs is not new), key=lambda rs: (rs.metadata.creationTimestamp or 0, rs.name))
    replicas = d.spec.get("replicas", 1)
    strategy = d.spec.get("strategy") or pmap()
    actions: list = []

    if d.spec.get("paused"):
        # scaling only (Kubernetes' sync): a new replica count is spread over the ReplicaSets
        actions += _proportional(d, owned, new, olds)
        return _finish(d, owned, new, actions, now, snapshot)

    if is_scaling_event(d, owned):
        # the replica count changed: spread it over the ReplicaSets first (Kubernetes' sync), then roll
        actions += _proportional(d, owned, new, olds)
        if actions:
            return _finish(d, owned, new, actions, now, snapshot, progressed=True)

    if new is None:
        revision = max((_revision(rs) for rs in owned), default=0) + 1
        if strategy.get("type") == "Recreate":
            start = replicas if not any(_replicas(r) or r.status.get("replicas", 0) for r in olds) else 0
        else:
            start = _rolling_new_replicas(d, owned, None, replicas)
        rs = _new_replicaset(d, template, revision, start)
        actions.append(Create(rs))
        actions.append(Emit("Normal", "ScalingReplicaSet", f"Scaled up replica set {rs.name} to {start}", d.key))
        return _finish(d, owned, None, actions, now, snapshot, progressed=True)

    top = max((_revision(rs) for rs in olds), default=0)
    if _revision(new) <= top:
        # a rollback (or a template seen before): the matching ReplicaSet becomes the newest revision
        new = new.set(metadata=new.metadata.set(annotations=new.metadata.annotations.set(REVISION, str(top + 1))))
        return Result((Update(new),))
    if strategy.get("type") == "Recreate":
        running_old = [r for r in olds if _replicas(r) > 0]
        if running_old:
            actions += [_scale(r, 0, d) for r in running_old]
        elif not any(r.status.get("replicas", 0) for r in olds) and _replicas(new) != replicas:
            actions.append(_scale(new, replicas, d))
        return _finish(d, owned, new, actions, now, snapshot, progressed=bool(actions))

    # RollingUpdate: grow the new ReplicaSet, then shrink the old ones
    ru = strategy.get("rollingUpdate") or pmap()
    surge, unavailable = resolve_fenceposts(ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas)
    want_new = _rolling_new_replicas(d, owned, new, replicas)
    if want_new != _replicas(new):
        verb = "up" if want_new > _replicas(new) else "down"
        actions.append(_scale(new, want_new, d))
        actions.append(Emit("Normal", "ScalingReplicaSet", f"Scaled {verb} replica set {new.name} to {want_new}",
                            d.key))
        return _finish(d, owned, new, actions, now, snapshot, progressed=True)
    old_total = sum(_replicas(r) for r in olds)
    if old_total:
        all_pods = sum(_replicas(r) for r in owned)
        min_available = replicas - unavailable
        new_unavailable = _replicas(new) - _available(new)
        max_down = all_pods - min_available - new_unavailable
        downs: dict = {}
        if max_down > 0:
            # first the old pods that are not available anyway (cleanupUnhealthyReplicas)
            for r in olds:
                if max_down <= 0:
                    break
                unhealthy = _replicas(r) - _available(r)
                if unhealthy > 0:
                    n = min(max_down, unhealthy)
                    downs[r.name] = _replicas(r) - n
                    max_down -= n
            # then available old pods, as long as enough stay available
            available = sum(_available(r) for r in owned)
            spare = available - min_available
            for r in olds:
                if spare <= 0:
                    break
                current = downs.get(r.name, _replicas(r))
                n = min(current, spare)
                if n > 0:
                    downs[r.name] = current - n
                    spare -= n
        for r in olds:
            if r.name in downs and downs[r.name] != _replicas(r):
                actions.append(_scale(r, downs[r.name], d))
                actions.append(Emit("Normal", "ScalingReplicaSet",
                                    f"Scaled down replica set {r.name} to {downs[r.name]}", d.key))
        return _finish(d, owned, new, actions, now, snapshot, progressed=bool(actions))
    # complete: delete empty old ReplicaSets beyond the history limit
    limit = d.spec.get("revisionHistoryLimit", 10)
    empty = [r for r in olds if _replicas(r) == 0 and not r.status.get("replicas", 0)]
    for r in empty[: max(0, len(empty) - limit)]:
        actions.append(Delete("ReplicaSet", r.name, ns))
    return _finish(d, owned, new, actions, now, snapshot)


def _rolling_new_replicas(d, owned, new, replicas: int) -> int:
    """NewRSNewReplicas for RollingUpdate."""
    current_new = _replicas(new) if new is not None else 0
    if current_new > replicas:
        return replicas
    ru = (d.spec.get("strategy") or pmap()).get("rollingUpdate") or pmap()
    surge, _ = resolve_fenceposts(ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas)
    current_total = sum(_replicas(r) for r in owned)
    max_total = replicas + surge
    if current_total >= max_total:
        return current_new
    return current_new + min(max_total - current_total, replicas - current_new)


def _finish(d, owned, new, actions, now, snapshot, progressed: bool = False) -> Result:
    replicas = d.spec.get("replicas", 1)
    st = {"replicas": sum(r.status.get("replicas", 0) for r in owned),
          "updatedReplicas": new.status.get("replicas", 0) if new is not None else 0,
          "readyReplicas": sum(r.status.get("readyReplicas", 0) for r in owned),
          "availableReplicas": sum(r.status.get("availableReplicas", 0) for r in owned),
          "observedGeneration": d.metadata.generation}
    st["unavailableReplicas"] = max(0, replicas - st["availableReplicas"])
    strategy = d.spec.get("strategy") or pmap()
    ru = strategy.get("rollingUpdate") or pmap()
    _, unavailable = resolve_fenceposts(ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas) \
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" else (0, replicas)
    conds = d.status.get("conditions")
    ok = st["availableReplicas"] >= replicas - unavailable
    conds = set_condition(conds, "Available", "True" if ok else "False",
                          now, "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                          "Deployment has minimum availability." if ok else
                          "Deployment does not have minimum availability.")
    complete = new is not None and st["updatedReplicas"] == replicas and st["replicas"] == replicas \
        and st["availableReplicas"] == replicas and _replicas(new) == replicas
    deadline = d.spec.get("progressDeadlineSeconds")
    requeue = None
    prog = condition(d, "Progressing")
    if complete:
        msg = f'ReplicaSet "{new.name}" has successfully progressed.'
        conds = set_condition(conds, "Progressing", "True", now, "NewReplicaSetAvailable", msg)
    elif d.spec.get("paused"):
        conds = set_condition(conds, "Progressing", "Unknown", now, "DeploymentPaused", "Deployment is paused")
    elif progressed or prog is None or prog.get("reason") in ("NewReplicaSetAvailable", "DeploymentPaused") \
            or (d.status.get("observedGeneration") != d.metadata.generation) or _moved(d, st):
        name = new.name if new is not None else d.name
        conds = _touch(conds, "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', now)
        if deadline is not None:
            requeue = float(deadline)
    elif deadline is not None and prog.get("reason") != "ProgressDeadlineExceeded":
        since = prog.get("lastUpdateTime", now)
        if since + deadline <= now:
            name = new.name if new is not None else d.name
            conds = set_condition(conds, "Progressing", "False", now, "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{name}" has timed out progressing.')
        else:
            requeue = since + deadline - now
    status = d.status.update(st).set("conditions", conds)
    if status != d.status:
        actions = list(actions) + [UpdateStatus(d.set(status=status))]
    return Result(tuple(actions), requeue)


def _moved(d, st) -> bool:
    old = d.status
    return any(old.get(k) != st[k] for k in ("updatedReplicas", "availableReplicas", "readyReplicas", "replicas"))


def _touch(conds, reason, message, now):
    """Progressing=True with lastUpdateTime now (progress was made)."""
    from pyrsistent import pvector
    out, found = [], False
    for c in conds or ():
        if c.get("type") == "Progressing":
            found = True
            same = c.get("status") == "True"
            c = c.update({"status": "True", "reason": reason, "message": message, "lastUpdateTime": now,
                          "lastTransitionTime": c.get("lastTransitionTime") if same else now})
        out.append(c)
    if not found:
        out.append(pmap({"type": "Progressing", "status": "True", "reason": reason, "message": message,
                         "lastUpdateTime": now, "lastTransitionTime": now}))
    return pvector(out)


def revision_history(snapshot, d) -> list:
    """``kubectl rollout history``: (revision, ReplicaSet) for each ReplicaSet the deployment
    controls that has a revision, oldest first."""
    owned, _ = _owned_replicasets(snapshot, d)
    return sorted(((_revision(rs), rs) for rs in owned if REVISION in rs.metadata.annotations), key=lambda r: r[0])


def rollback_template(snapshot, d, revision: int | None = None):
    """The pod template of an earlier revision (the previous one when ``revision`` is None)."""
    owned, _ = _owned_replicasets(snapshot, d)
    history = sorted(owned, key=_revision)
    current = next((rs for rs in owned if _without_hash(rs.spec.get("template") or pmap())
                    == d.spec.get("template")), None)
    if revision is None:
        candidates = [rs for rs in history if rs is not current]
        if not candidates:
            raise ValueError(f"deployment {d.name} has no previous revision to roll back to")
        target = candidates[-1]
    else:
        target = next((rs for rs in history if _revision(rs) == revision), None)
        if target is None:
            raise ValueError(f"deployment {d.name} has no revision {revision}")
    return _without_hash(target.spec.get("template") or pmap())


def restart_template(d, now: float):
    """The template with ``kubectl.kubernetes.io/restartedAt`` set: a new rollout of the same pods."""
    t = d.spec.get("template") or pmap()
    meta = t.get("metadata") or pmap()
    ann = (meta.get("annotations") or pmap()).set(RESTARTED_AT, rfc3339(now))
    return t.set("metadata", meta.set("annotations", ann))


RULE = Rule("deployment-controller", reconcile_deployment, primary="Deployment", owns=("ReplicaSet",),
            priority=15, status_wakes=False)
