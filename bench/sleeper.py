"""The container of bench/ray_scale.py: ``call sleeper:forever`` (a process that only sleeps)."""

import time


def forever(*args) -> None:
    time.sleep(24 * 3600)
