"""The front ends' session on a local Ray: real pods, logs, and the progress of waits."""

import pytest

from reconcile.notebook.session import Session
from tests.cluster_ray.support import processes_with

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MARK = "reconcile-session-test-3c1d"


def test_connect_local_runs_real_pods_with_progress_and_logs():
    session = Session("local", num_cpus=2)
    try:
        assert not session.simulated and session.cluster.list("Node")
        session.run("deployment echo {\n  replicas 1\n  labels app=echo\n  termination-grace 1s\n"
                    f"  container main {{ command python -c \"print('hello from', __import__('os').environ['POD_NAME'], "
                    f"flush=True); __import__('time').sleep(600)\" {MARK} }}\n}}")
        messages = []
        out = session.run("scale echo 2", progress=messages.append)
        assert str(out).splitlines() == ["deployment.apps/echo scaled to 2", 'deployment "echo" successfully rolled out']
        assert messages and all(m.startswith("Waiting for deployment") for m in messages)    # kubectl's words
        assert any(m.endswith("updated replicas are available...") for m in messages)
        pods = session.cluster.list("Pod", "app=echo")
        assert len(pods) == 2 and len(processes_with(MARK)) == 2
        session.wait_until(lambda s: all(s.run(f"logs {p.name}").text for p in pods), timeout=30, what="the logs")
        assert str(session.run(f"logs {pods[0].name} --tail 1")).strip() == f"hello from {pods[0].name}"
        table = session.run("get pods where app=echo")
        assert set(table.column("STATUS")) == {"Running"}
    finally:
        session.close()
    assert processes_with(MARK) == []
