"""The front ends' session on a local Ray: real pods, logs, and the progress of waits."""

import pytest

from reconcile.frontends.notebook.session import Session
from tests.cluster_ray.support import processes_with

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MARK = "reconcile-session-test-3c1d"


def test_connect_local_runs_real_pods_with_progress_and_logs():
    session = Session("local", num_cpus=2)
    try:
        assert session.cluster.has_logs and not session.cluster.virtual_clock and session.cluster.list("Node")
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


CLIENT = """
import sys
from reconcile.frontends.notebook.session import Session
s = Session()
print(s.run(f"connect ray://127.0.0.1:{sys.argv[1]}"))
s.run("deployment echo {\\n  replicas 2\\n  labels app=echo\\n  termination-grace 1s\\n"
      "  container main { command sleep 100000 }\\n}")
print(s.run("rollout status echo"))
print(s.run("get pods"))
s.close()
"""


def test_connect_ray_client_address():
    """``connect ray://HOST:PORT``: a Ray Client connection to a Ray head started by ``ray start``
    (in a process group of the test's own, stopped at the end; the client in a process of its own)."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile
    import time

    from cluster_ray.local import stop_process_group

    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    env = dict(os.environ, RAY_AUTH_MODE="token")
    client_port, gcs_port = free_port(), free_port()
    temp = tempfile.mkdtemp(prefix="rc-")          # short: Ray's socket paths must fit in 107 bytes
    head = subprocess.Popen(["ray", "start", "--head", "--block", f"--port={gcs_port}",
                             f"--ray-client-server-port={client_port}", "--num-cpus=2", "--include-dashboard=false",
                             "--disable-usage-stats", f"--temp-dir={temp}",
                             "--min-worker-port=30000", "--max-worker-port=30999"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        end = time.monotonic() + 120
        while True:
            assert head.poll() is None and time.monotonic() < end, "the Ray head did not start"
            try:
                socket.create_connection(("127.0.0.1", client_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        out = subprocess.run([sys.executable, "-c", CLIENT, str(client_port)], env=env, capture_output=True,
                             text=True, timeout=300)
        if out.returncode != 0:             # Ray Client's own server logs say why it did not start
            import glob
            logs = "".join(f"\n--- {f}\n" + open(f, errors="replace").read()[-6000:]
                           for f in glob.glob(os.path.join(temp, "session_latest", "logs", "ray_client_server*")))
            raise AssertionError(out.stderr[-3000:] + logs)
        lines = out.stdout.splitlines()
        print(out.stderr)                   # a retried connection says so here (join_ray's warning)
        assert lines[0].startswith(f"connected to the Ray cluster at ray://127.0.0.1:{client_port}: nodes ray-")
        assert lines[1] == 'deployment "echo" successfully rolled out'
        pods = [ln.split() for ln in lines[3:]]
        assert len(pods) == 2 and all(p[2] == "Running" and p[5].startswith("ray-") for p in pods)
    finally:
        stop_process_group(head.pid, grace=30)
        shutil.rmtree(temp, ignore_errors=True)
    assert processes_with("sleep 100000") == [] and processes_with(temp) == []
