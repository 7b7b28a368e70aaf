"""After the Ray tests, no process of theirs is left: the session notes the process table before
the first test here and, once the last one is done (and this process's Ray shut down), fails if a
process the tests started still runs: a pod's container, a watchdog, a raylet, a Ray worker, a
`reconcile up` (see :func:`tests.cluster_ray.support.started_by`). What it finds it kills, after
naming it."""

import os
import signal
import sys
import time
import uuid

import pytest

from tests.cluster_ray.support import process_table, started_by

RUN = "RECONCILE_TEST_RUN"          # in the environment of every process the tests start (Ray's too)
_ray_tests: list = []


@pytest.fixture(autouse=True)
def _note_ray_tests(request):
    if request.node.get_closest_marker("ray") is not None:
        _ray_tests.append(request.node.nodeid)
    yield


@pytest.fixture(scope="session", autouse=True)
def no_process_left(tmp_path_factory):
    before = process_table()
    saved = os.environ.get(RUN)
    os.environ[RUN] = uuid.uuid4().hex
    mark = f"{RUN}={os.environ[RUN]}"
    yield
    try:
        if not _ray_tests:
            return
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()
        base = str(tmp_path_factory.getbasetemp())
        end = time.monotonic() + 30          # Ray's processes take a moment to go after a shutdown
        left = started_by(before, mark, base)
        while left and time.monotonic() < end:
            time.sleep(0.5)
            left = started_by(before, mark, base)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if left:
            pytest.fail(f"{len(left)} processes started by the Ray tests were still running after them "
                        "(now killed):\n" + "\n".join(f"  {pid}: {cmd[:200]}" for pid, cmd in sorted(left.items())),
                        pytrace=False)
    finally:
        if saved is None:
            os.environ.pop(RUN, None)
        else:
            os.environ[RUN] = saved
