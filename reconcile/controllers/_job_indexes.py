"""Indexed Jobs' indexes: a pod's completion index, ``status.completedIndexes`` as Kubernetes
writes it, and the lowest indexes still to run (``pkg/controller/job/indexed_job_utils.go``)."""

from __future__ import annotations

__all__ = ["COMPLETION_INDEX", "completion_index", "parse_indexes", "format_indexes", "pending_indexes"]

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"


def completion_index(pod) -> int:
    """``getCompletionIndex``: the pod's index (annotation, else label), -1 if none or invalid."""
    value = pod.metadata.annotations.get(COMPLETION_INDEX, pod.metadata.labels.get(COMPLETION_INDEX))
    if not isinstance(value, str) or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        return -1
    return int(value)


def parse_indexes(text: str | None, completions: int) -> list[int]:
    """The indexes below ``completions`` named by ``status.completedIndexes``.

    >>> parse_indexes("0,2-4,9", 5)
    [0, 2, 3, 4]
    """
    out: set = set()
    for part in (text or "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            continue
        out.update(range(lo, min(hi, completions - 1) + 1))
    return sorted(out)


def format_indexes(indexes) -> str:
    """Indexes as Kubernetes writes ``completedIndexes``: sorted, each run of consecutive ones as ``a-b``.

    >>> format_indexes([0, 1, 2, 4, 6, 7])
    '0-2,4,6-7'
    """
    out, run = [], []
    for ix in sorted(set(indexes)):
        if run and ix != run[-1] + 1:
            out.append(_interval(run))
            run = []
        run.append(ix)
    if run:
        out.append(_interval(run))
    return ",".join(out)


def _interval(run: list) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def pending_indexes(job, succeeded: set, active, count: int) -> list[int]:
    """``firstPendingIndexes``: the lowest indexes neither succeeded nor running."""
    taken = succeeded | {completion_index(p) for p in active}
    out = []
    for ix in range(job.spec.get("completions") or 0):
        if len(out) == count:
            break
        if ix not in taken:
            out.append(ix)
    return out
