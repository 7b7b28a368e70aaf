"""What the cluster_ray tests share: the process table (what runs, by command line or working
directory), whether a process is alive, a clock the test moves, and waiting for a condition."""

import os
import time

from cluster_ray.local import alive

__all__ = ["processes_with", "processes_in", "alive", "Clock", "wait_for"]


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
