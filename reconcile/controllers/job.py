"""The Job controller: run pods from the template until enough of them succeed.

Kubernetes semantics (``pkg/controller/job``, 1.31): at most ``parallelism``
pods run, never more than the completions still missing; the Job is
``Complete`` once ``completions`` pods Succeeded (``Indexed``: one success
per index ``0..completions-1``, each pod carrying its index) and ``Failed``
when more than ``backoffLimit`` pods failed (``BackoffLimitExceeded``; with
``restartPolicy: OnFailure``, when the restarts of the running pods reach
it) or when it ran longer than ``activeDeadlineSeconds``
(``DeadlineExceeded``); a failing Job's running pods are deleted. After a
failure a new pod waits 10 s, doubling per failure since the last success,
at most 6 min. ``suspend`` deletes the running pods and creates none;
``ttlSecondsAfterFinished`` deletes the finished Job (foreground: its pods
first).

Pods are counted as Kubernetes does, with the ``batch.kubernetes.io/job-tracking``
finalizer: a finished (or deleted) pod is counted into ``status.succeeded`` or
``status.failed`` and loses the finalizer in one batch of writes, so a count
is never lost or made twice, even when the pod is deleted. (Kubernetes needs
``status.uncountedTerminatedPods`` between its two writes; a batch here is
atomic, so it does not.)

The selector: unless ``spec.manualSelector`` is true, a Job selects its pods
by ``batch.kubernetes.io/controller-uid=<its uid>``, and its pods carry that
label, ``batch.kubernetes.io/job-name`` and the legacy ``controller-uid`` and
``job-name`` (Kubernetes' API server writes these into the Job at creation;
here the controller applies them, since the uid is only known once the store
has created the Job).
"""

from __future__ import annotations

from pyrsistent import pmap, pvector

from reconcile.controllers import workloads as _pods
from reconcile.engine.actions import Create, Delete, Emit, Result, Update, UpdateStatus
from reconcile.api.conditions import condition
from reconcile.controllers.workloads import (
    claim_pods, controller_of, is_active, pod_name, with_owner, without_owner, workload_selector,
)
from reconcile.controllers._job_indexes import (
    COMPLETION_INDEX, completion_index, format_indexes, parse_indexes, pending_indexes,
)
from reconcile.engine import Rule
from reconcile.api.model import EMPTY_MAP, pod_from_template

__all__ = ["reconcile_job", "RULE", "CONTROLLER_UID", "JOB_NAME", "LEGACY_CONTROLLER_UID", "LEGACY_JOB_NAME",
           "COMPLETION_INDEX", "TRACKING_FINALIZER", "pod_backoff", "parse_indexes", "format_indexes",
           "finished_at", "completion_index", "job_finished"]

CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"
TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX_ENV = "JOB_COMPLETION_INDEX"
BACKOFF_INITIAL, BACKOFF_MAX = 10.0, 360.0      # DefaultJobPodFailureBackOff, MaxJobPodFailureBackOff
MAX_CREATE_DELETE = 500                         # MaxPodCreateDeletePerSync
_FINALIZERS = pvector([TRACKING_FINALIZER])
_COMPLETED = ("CompletionsReached", "Reached expected number of succeeded pods")
_BACKOFF = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
_DEADLINE = ("DeadlineExceeded", "Job was active longer than specified deadline")


# ---------------------------------------------------------------- facts of jobs and pods

def job_finished(job) -> str | None:
    """``IsJobFinished``: "Complete" or "Failed" when that condition is True."""
    for c in job.status.get("conditions") or ():
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return c.get("type")
    return None


def _suspended(job) -> bool:
    return bool(job.spec.get("suspend"))


def _indexed(job) -> bool:
    return job.spec.get("completionMode") == "Indexed"


def _selects(job):
    """The Job's selector as a predicate on labels: its own when ``manualSelector``, else the
    generated ``batch.kubernetes.io/controller-uid=<uid>``."""
    if job.spec.get("manualSelector"):
        return workload_selector(job).matches
    uid = job.metadata.uid
    return lambda labels: labels.get(CONTROLLER_UID) == uid


def _tracked(pod) -> bool:
    return TRACKING_FINALIZER in pod.metadata.finalizers


def _failed(pod) -> bool:
    """``isPodFailed``: Failed, or deleted before it succeeded."""
    phase = pod.status.get("phase")
    return phase == "Failed" or (pod.metadata.deletionTimestamp is not None and phase != "Succeeded")


def finished_at(pod) -> float:
    """``getFinishedTime``: when every container terminated (the latest), else when Ready went False,
    else the deletion time, else the creation time.

    >>> from reconcile.api.model import Pod
    >>> finished_at(Pod.new("p", status={"containerStatuses": [
    ...     {"state": {"terminated": {"finishedAt": 7}}}, {"state": {"terminated": {"finishedAt": 9}}}]}))
    9.0
    """
    latest = None
    statuses = pod.status.get("containerStatuses") or ()
    for c in statuses:
        t = _pods.seconds(((c.get("state") or EMPTY_MAP).get("terminated") or EMPTY_MAP).get("finishedAt"))
        if t is None:
            latest = None
            break
        latest = t if latest is None else max(latest, t)
    if latest is not None:
        return latest
    ready = _pods.ready_condition(pod)
    if ready is not None and ready.get("status") == "False" and ready.get("lastTransitionTime") is not None:
        return _pods.seconds(ready.get("lastTransitionTime"))
    if pod.metadata.deletionTimestamp is not None:
        return float(pod.metadata.deletionTimestamp)
    return float(pod.metadata.creationTimestamp or 0.0)


def pod_backoff(pods, now: float) -> float:
    """How long a new pod must still wait after failures (``backoffRecord.getRemainingTime``).

    The failures counted are those that finished after the last success; the
    wait is 10 s for one, doubling per failure up to 6 min, from the last failure.
    (Kubernetes keeps this record in the controller's memory; here it is read
    from the Job's finished pods, so it is the same while they exist.)

    >>> from reconcile.api.model import Pod
    >>> failed = [Pod.new(f"f{t}", status={"phase": "Failed", "containerStatuses": [
    ...     {"state": {"terminated": {"finishedAt": t}}}]}) for t in (100, 105)]
    >>> pod_backoff(failed, 110.0), pod_backoff(failed[:1], 110.0), pod_backoff(failed, 200.0)
    (15.0, 0.0, 0.0)
    """
    last_success = None
    for p in pods:
        if p.status.get("phase") == "Succeeded":
            t = finished_at(p)
            last_success = t if last_success is None else max(last_success, t)
    failures = [t for t in (finished_at(p) for p in pods if _failed(p))
                if last_success is None or t > last_success]
    if not failures:
        return 0.0
    backoff = BACKOFF_INITIAL
    for _ in range(1, len(failures)):
        backoff *= 2
        if backoff >= BACKOFF_MAX:
            backoff = BACKOFF_MAX
            break
    elapsed = now - max(failures)
    return 0.0 if backoff < elapsed else backoff - elapsed


def _past_backoff_limit_on_failure(job, pods) -> bool:
    """``pastBackoffLimitOnFailure``: with restartPolicy OnFailure, the restarts of the pending and
    running pods' containers reach ``backoffLimit`` (any restart, for a limit of 0)."""
    template_spec = (job.spec.get("template") or EMPTY_MAP).get("spec") or EMPTY_MAP
    if template_spec.get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for p in pods:
        if p.status.get("phase") in ("Running", "Pending"):
            for part in ("initContainerStatuses", "containerStatuses"):
                restarts += sum(c.get("restartCount", 0) for c in p.status.get(part) or ())
    limit = job.spec.get("backoffLimit", 6)
    return restarts > 0 if limit == 0 else restarts >= limit


# ---------------------------------------------------------------- completed indexes ("1,3-5,7")

# ---------------------------------------------------------------- pods

def _pod_template(job, index: int | None):
    """The template a new pod is made from: the generated labels (unless ``manualSelector``),
    and for an Indexed Job its index (annotation, label, hostname, ``JOB_COMPLETION_INDEX``)."""
    template = job.spec.get("template") or EMPTY_MAP
    meta = template.get("metadata") or EMPTY_MAP
    labels = meta.get("labels") or EMPTY_MAP
    if not job.spec.get("manualSelector"):
        for key, value in ((LEGACY_JOB_NAME, job.name), (JOB_NAME, job.name),
                           (LEGACY_CONTROLLER_UID, job.metadata.uid), (CONTROLLER_UID, job.metadata.uid)):
            if key not in labels:
                labels = labels.set(key, value)
    spec = template.get("spec") or EMPTY_MAP
    annotations = meta.get("annotations") or EMPTY_MAP
    if index is not None:
        annotations = annotations.set(COMPLETION_INDEX, str(index))
        labels = labels.set(COMPLETION_INDEX, str(index))
        # appended unless the container sets it; Kubernetes fills it from the annotation by the
        # downward API (a fieldRef); here the value is written in, so any runtime gives it
        env = pmap({"name": INDEX_ENV, "value": str(index)})
        containers = pvector(c if any(e.get("name") == INDEX_ENV for e in c.get("env") or ())
                             else c.set("env", pvector([*(c.get("env") or ()), env]))
                             for c in spec.get("containers") or ())
        spec = spec.set("hostname", f"{job.name}-{index}").set("containers", containers)
    return template.set("metadata", meta.set("labels", labels).set("annotations", annotations)).set("spec", spec)


def _new_pod(job, template, name: str):
    p = pod_from_template(template, name, job.metadata.namespace, owner=job)
    return p.set(metadata=p.metadata.set(finalizers=_FINALIZERS))


def _without_finalizer(pod):
    kept = pvector(f for f in pod.metadata.finalizers if f != TRACKING_FINALIZER)
    return pod.set(metadata=pod.metadata.set(finalizers=kept))


def _delete(pod) -> list:
    """``deleteJobPods``: the finalizer goes first (the pod is not counted), then the pod."""
    out = [Update(_without_finalizer(pod))] if _tracked(pod) else []
    return out + [Delete("Pod", pod.name, pod.metadata.namespace)]


def _for_removal(job, active, at_least: int, now: float) -> list:
    """``activePodsForRemoval``: for an Indexed Job first the pods with no valid index or a
    repeated one (keeping the most advanced of each index), then in deletion order."""
    rm, left = [], list(active)
    if _indexed(job):
        completions = job.spec.get("completions") or 0
        by_index: dict = {}
        for p in active:
            ix = completion_index(p)
            by_index.setdefault(ix if 0 <= ix < completions else -1, []).append(p)
        rm, left = list(by_index.pop(-1, [])), []
        for ix in sorted(by_index):
            group = _pods.deletion_order(by_index[ix], now)
            rm.extend(group[:-1])
            left.append(group[-1])
    if len(rm) < at_least:
        rm.extend(_pods.deletion_order(left, now)[:at_least - len(rm)])
    return rm


# ---------------------------------------------------------------- conditions

def _ensure_condition(conditions: list, type_: str, status: str, reason: str, message: str, now: float) -> bool:
    """``ensureJobConditionStatus`` (in place): a changed condition is made anew; a missing one is
    added unless its status is False. Returns whether the list changed."""
    new = pmap({"type": type_, "status": status, "reason": reason, "message": message,
                "lastProbeTime": now, "lastTransitionTime": now})
    for i, c in enumerate(conditions):
        if c.get("type") == type_:
            if (c.get("status"), c.get("reason"), c.get("message")) != (status, reason, message):
                conditions[i] = new
                return True
            return False
    if status != "False":
        conditions.append(new)
        return True
    return False


# ---------------------------------------------------------------- the controller

def reconcile_job(snapshot, key, now: float) -> Result:
    if key[0] == "Pod":
        return _release_orphan(snapshot, key)
    _, ns, name = key
    job = snapshot.get("Job", name, ns)
    if job is None:
        return Result()
    if job_finished(job):
        return _expire(job, now)
    if job.spec.get("completionMode") not in (None, "NonIndexed", "Indexed"):
        return Result((Emit("Warning", "UnknownCompletionMode",
                            "Skipped Job sync because completion mode is unknown", job.key),))
    selects = _selects(job)
    if not selects(_pod_template(job, None)["metadata"]["labels"]):
        # Kubernetes' validation refuses this Job; its pods would be released as soon as made
        return Result((Emit("Warning", "SelectorMismatch", "spec.selector does not match the template's "
                            "labels: no pod would be kept", job.key),))
    pods, adopt, release = claim_pods(snapshot, job, selects)
    if adopt or release:        # claim first; the pods' changes bring the Job back
        return Result(tuple([Update(without_owner(p, job.metadata.uid)) for p in release]
                            + [Update(_adopted(p, job)) for p in adopt]))
    return _sync(job, pods, now)


def _adopted(pod, job):
    pod = with_owner(pod, job)
    if _tracked(pod):
        return pod
    return pod.set(metadata=pod.metadata.set(finalizers=pod.metadata.finalizers.append(TRACKING_FINALIZER)))


class _Counts:
    """What the Job's pods say: the active ones, the finished ones not yet counted (still tracked),
    and the counts with them (``succeeded`` is the number of completed indexes for an Indexed Job)."""

    def __init__(self, job, pods):
        st, completions = job.status, job.spec.get("completions") or 0
        self.indexed = _indexed(job)
        self.valid = (lambda p: 0 <= completion_index(p) < completions) if self.indexed else (lambda p: True)
        self.active = [p for p in pods if is_active(p)]
        tracked = [p for p in pods if _tracked(p) and self.valid(p)]
        self.new = [p for p in tracked if p.status.get("phase") == "Succeeded" or _failed(p)]
        new_succeeded = [p for p in self.new if p.status.get("phase") == "Succeeded"]
        self.indexes: set = set()
        if self.indexed:
            self.indexes = set(parse_indexes(st.get("completedIndexes"), completions))
            self.indexes.update(completion_index(p) for p in new_succeeded)
            self.succeeded = len(self.indexes)
        else:
            self.succeeded = st.get("succeeded", 0) + len(new_succeeded)
        self.failed = st.get("failed", 0) + len(self.new) - len(new_succeeded)
        self.ready = sum(1 for p in self.active if _pods.is_ready(p))


def _failure(job, pods, counts: _Counts, start, now: float):
    """(why the Job fails now, or None; when to look again for its deadline, or None)."""
    spec, suspended = job.spec, _suspended(job)
    deadline = spec.get("activeDeadlineSeconds")
    if counts.failed > spec.get("backoffLimit", 6) or _past_backoff_limit_on_failure(job, pods):
        return ("Failed", *_BACKOFF), None
    if deadline is not None and start is not None and not suspended:
        if now - start >= deadline:
            return ("Failed", *_DEADLINE), None
        return None, start + deadline - now
    return None, None


def _sync(job, pods, now: float) -> Result:
    st = job.status
    counts = _Counts(job, pods)
    start = st.get("startTime")
    if start is None and not _suspended(job):
        start = now
    finish, requeue = _failure(job, pods, counts, start, now)
    conditions = list(st.get("conditions") or ())
    released = {p.name for p in counts.new}       # counted now: the finalizer goes in this batch
    if finish is not None:
        actions: list = []
        for p in counts.active:     # deleted; as unfinished pods of a failed Job they count as failed
            actions.extend(_delete(p))
            released.add(p.name)
            counts.failed += _tracked(p) and counts.valid(p)
        n_active = 0
    else:
        actions, n_active, finish, wait, resumed = _progress(job, pods, counts, conditions, now)
        start = now if resumed else start       # activeDeadlineSeconds counts from the resumption
        requeue = wait if requeue is None or (wait is not None and wait < requeue) else requeue
    if job.metadata.deletionTimestamp is not None:
        released.update(p.name for p in pods)
    handled = {a.object.name for a in actions if isinstance(a, Update)}
    actions[:0] = [Update(_without_finalizer(p)) for p in pods
                   if p.name in released and p.name not in handled and _tracked(p)]
    status = {"active": n_active, "ready": counts.ready, "succeeded": counts.succeeded, "failed": counts.failed}
    if start is not None:
        status["startTime"] = start
    if counts.indexed:
        status["completedIndexes"] = format_indexes(counts.indexes)
    if finish is not None:
        actions.extend(_finished_now(job, status, conditions, finish, now))
        ttl = job.spec.get("ttlSecondsAfterFinished")
        requeue = None if ttl is None else float(ttl)
    if conditions or st.get("conditions") is not None:
        status["conditions"] = pvector(conditions)
    if any(st.get(k) != v for k, v in status.items()):
        actions.append(UpdateStatus(job.set(status=st.update(status))))
    return Result(tuple(actions), requeue)


def _progress(job, pods, counts: _Counts, conditions: list, now: float):
    """A Job that has not failed: its pods managed (unless it is being deleted), then whether it is
    complete, else its Suspended condition. Returns (actions, active pods after them, ``finish``
    or None, seconds to wait before creating or None, whether it was resumed now)."""
    actions, n_active, wait, resumed = [], len(counts.active), None, False
    managed = job.metadata.deletionTimestamp is None
    if managed:
        actions, n_active, wait = _manage(job, pods, counts, now)
    completions = job.spec.get("completions")
    if (counts.succeeded > 0 if completions is None else counts.succeeded >= completions) and n_active == 0:
        return actions, n_active, ("Complete", *_COMPLETED), wait, False
    if managed and _suspended(job):
        if _ensure_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now):
            actions.append(Emit("Normal", "Suspended", "Job suspended", job.key))
    elif managed and _ensure_condition(conditions, "Suspended", "False", "JobResumed", "Job resumed", now):
        actions.append(Emit("Normal", "Resumed", "Job resumed", job.key))
        resumed = True
    return actions, n_active, None, wait, resumed


def _finished_now(job, status: dict, conditions: list, finish, now: float) -> list:
    """The conditions of a Job that finishes now (``SuccessCriteriaMet`` then ``Complete``, or
    ``FailureTarget`` then ``Failed``), its completion time, and the event saying so."""
    type_, reason, message = finish
    _ensure_condition(conditions, "SuccessCriteriaMet" if type_ == "Complete" else "FailureTarget", "True",
                      reason, message, now)
    _ensure_condition(conditions, type_, "True", reason, message, now)
    if type_ == "Complete":
        status["completionTime"] = now
        return [Emit("Normal", "Completed", "Job completed", job.key)]
    return [Emit("Warning", reason, message, job.key)]


def _manage(job, pods, counts: _Counts, now: float):
    """``manageJob``: (actions, active pods after them, seconds to wait before creating, or None)."""
    active = counts.active
    n = len(active)
    if _suspended(job):
        return [a for p in _for_removal(job, active, n, now) for a in _delete(p)], 0, None
    parallelism, completions = job.spec.get("parallelism", 1), job.spec.get("completions")
    if completions is None:
        want = n if counts.succeeded > 0 else parallelism
    else:
        want = max(0, min(completions - counts.succeeded, parallelism))
    doomed = _for_removal(job, active, max(n - want, 0), now)[:MAX_CREATE_DELETE]
    if doomed:      # deleting or creating, never both in one sync; deleting first
        return [a for p in doomed for a in _delete(p)], n - len(doomed), None
    diff = min(want - n, MAX_CREATE_DELETE)
    if diff <= 0:
        return [], n, None
    wait = pod_backoff(pods, now)
    if wait > 0:
        return [], n, wait
    indexes = pending_indexes(job, counts.indexes, active, diff) if counts.indexed else [None] * diff
    taken = {p.name for p in pods}
    shared = None if counts.indexed else _pod_template(job, None)
    creates = []
    for seq, ix in enumerate(indexes, start=len(pods)):
        template = shared if ix is None else _pod_template(job, ix)
        creates.append(Create(_new_pod(job, template, _fresh_name(job, ix, seq, taken))))
    return creates, n + len(creates), None


def _fresh_name(job, index: int | None, seq: int, taken: set) -> str:
    """``<job>-<5 chars>`` (``<job>-<index>-<5 chars>`` for an Indexed Job), not yet used."""
    while True:
        suffix = pod_name(job, seq).rsplit("-", 1)[1]
        name = f"{job.name[:57]}-{suffix}" if index is None else f"{job.name[:50]}-{index}-{suffix}"
        seq += 1
        if name not in taken:
            taken.add(name)
            return name


def _expire(job, now: float) -> Result:
    """The TTL-after-finished controller: delete a finished Job ``ttlSecondsAfterFinished`` after it
    finished (foreground, only this version of it)."""
    ttl = job.spec.get("ttlSecondsAfterFinished")
    if ttl is None or job.metadata.deletionTimestamp is not None:
        return Result()
    done = condition(job, job_finished(job))
    expire = (_pods.seconds(done.get("lastTransitionTime")) or now) + ttl
    if now < expire:
        return Result(requeue_after=expire - now)
    return Result((Delete("Job", job.name, job.metadata.namespace, propagation="Foreground",
                          resource_version=job.metadata.resourceVersion),))


def _orphaned(pod, snapshot) -> bool:
    """``syncOrphanPod``'s test: a pod still tracked whose Job is gone or finished (or that no
    controller owns) loses the finalizer; a pod of another kind of controller keeps it."""
    if not _tracked(pod):
        return False
    c = controller_of(pod)
    if c is None:
        return True
    if c.kind != "Job":
        return False
    job = snapshot.by_uid_get(c.uid)
    return job is None or job_finished(job) is not None


def _release_orphan(snapshot, key) -> Result:
    pod = snapshot.get("Pod", key[2], key[1])
    if pod is None or not _orphaned(pod, snapshot):
        return Result()
    return Result((Update(_without_finalizer(pod)),))


def _pods_to_jobs(event, snapshot):
    """Besides the Job that controls a pod (``owns``): a pod that no controller owns wakes the Jobs
    that may adopt it, and a tracked pod whose Job is gone or finished wakes itself."""
    pod = event.object
    if event.type == "DELETED":
        return []
    keys = [pod.key] if _orphaned(pod, snapshot) else []
    if controller_of(pod) is None and pod.metadata.deletionTimestamp is None:
        keys.extend(j.key for j in snapshot.list("Job", pod.metadata.namespace) if _selects(j)(pod.metadata.labels))
    return keys


RULE = Rule("job-controller", reconcile_job, primary="Job", owns=("Pod",), watches={"Pod": _pods_to_jobs},
            priority=20, status_wakes=False)
