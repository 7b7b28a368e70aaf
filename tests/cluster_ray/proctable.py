"""The process table, as the Ray tests check it: what runs, found by command line or working directory."""

import os


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
