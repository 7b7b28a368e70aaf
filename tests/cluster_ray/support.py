"""What the cluster_ray tests share: the process table (what runs, by command line or working
directory; what a test run started and left), whether a process is alive, a clock the test moves,
and waiting for a condition."""

import os
import time

from cluster_ray.local import alive

__all__ = ["processes_with", "processes_in", "alive", "Clock", "wait_for", "process_table", "started_by"]


class Clock:
    """A clock the test moves by hand (``clock.now += 10``)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def wait_for(pred, timeout=10.0):
    """Poll ``pred`` until it holds; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def processes_with(marker: str) -> list[int]:
    """Processes whose command line contains ``marker``."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(d))
            except OSError:
                pass
    return sorted(found)


def processes_in(directory) -> list[int]:
    """Processes whose working directory is under ``directory`` (a pod's containers run in theirs)."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.readlink(f"/proc/{d}/cwd").startswith(str(directory)):
                    found.append(int(d))
            except OSError:
                pass
    return sorted(found)


def _read(pid: int, name: str) -> bytes:
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _start_and_state(pid: int) -> tuple[int, str] | None:
    stat = _read(pid, "stat").decode(errors="replace")
    if not stat:
        return None
    fields = stat.rsplit(") ", 1)[1].split()
    return int(fields[19]), fields[0]           # starttime (clock ticks after boot), state


def process_table() -> dict[int, int]:
    """Every process now: pid -> its start time (a pid used again later is another process)."""
    table = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            got = _start_and_state(int(d))
            if got is not None:
                table[int(d)] = got[0]
    return table


def started_by(before: dict[int, int], mark: str, directory: str) -> dict[int, str]:
    """Processes alive now (not zombies) that were not in ``before`` and that a test run made:
    with ``mark`` in their environment (Ray's processes inherit the run's environment), or working
    in or naming ``directory`` (pods get an environment of their own, but run under the run's
    temp directory; a container's watchdog names its pod's directory). pid -> command line."""
    found = {}
    for pid, start in process_table().items():
        if before.get(pid) == start or pid == os.getpid():
            continue
        got = _start_and_state(pid)
        if got is None or got[1] in "ZX":
            continue
        cmdline = _read(pid, "cmdline").replace(b"\0", b" ").decode(errors="replace").strip()
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = ""
        if mark.encode() in _read(pid, "environ").split(b"\0") or cwd.startswith(directory) \
                or directory in cmdline:
            found[pid] = cmdline
    return found
