"""``reconcile up`` and ``reconcile down`` as a user runs them: subprocesses, signals, the process table."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.cluster_ray.support import processes_in, processes_with

pytestmark = [pytest.mark.ray, pytest.mark.slow]

CLUSTER = """
deployment web {{
  replicas 2
  labels app=web
  container main {{
    command python -m http.server $PORT --bind 127.0.0.1 --directory {www}
    port http 8080
    readiness http / every 1s
  }}
}}

service web {{
  selector app=web
  port 18081 -> http
}}
"""




class Up:
    """``reconcile up FILE --state DIR`` in a subprocess, its output collected line by line."""

    def __init__(self, tmp_path):
        self.file, self.state = tmp_path / "web.cluster", tmp_path / "state"
        self.www = tmp_path / "www"
        self.www.mkdir(exist_ok=True)
        (self.www / "index.html").write_text("hello from a pod\n")
        self.file.write_text(CLUSTER.format(www=self.www))
        self.log = tmp_path / f"up-{time.monotonic_ns()}.log"
        self.out = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "reconcile.frontends.cli", "up", str(self.file), "--state",
                                      str(self.state), "--num-cpus", "2"], stdout=self.out, stderr=subprocess.STDOUT)

    def text(self):
        return self.log.read_text()

    def wait_for(self, pattern, timeout=120):
        end = time.monotonic() + timeout
        while not re.search(pattern, self.text()):
            if self.proc.poll() is not None:
                raise AssertionError(f"reconcile up exited ({self.proc.returncode}):\n{self.text()}")
            if time.monotonic() > end:
                raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.text()}")
            time.sleep(0.2)
        return re.findall(pattern, self.text())[-1]


def _check_logs(up, port):
    """``reconcile logs POD`` prints a pod's log; ``-f`` goes on printing what it writes next."""
    from reconcile.state.durable import SqliteBackend
    backend = SqliteBackend(str(up.state / "state.db"), readonly=True)     # the running cluster owns it
    pods = [o.name for o in backend.load()[1] if o.kind == "Pod"]
    backend.close()
    cli = [sys.executable, "-m", "reconcile.frontends.cli", "logs", "--state", str(up.state)]
    served = [subprocess.run(cli + [p], capture_output=True, text=True, timeout=60) for p in pods]
    assert all(r.returncode == 0 for r in served), [r.stderr for r in served]
    assert sum('"GET /index.html HTTP/1.1" 200' in r.stdout for r in served) == 1   # the pod that answered
    missing = subprocess.run(cli + ["nope"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and 'pods "nope" not found in namespace default' in missing.stderr
    follow = subprocess.Popen(cli + [pods[0], "-f", "--tail", "0"], stdout=subprocess.PIPE, text=True)
    try:
        first = follow.stdout.readline()    # a readiness probe's GET: -f follows now (joining Ray takes a while)
        assert "GET / HTTP/1.1" in first, first
        for _ in range(4):                  # round robin over three pods: one or two of these reach pods[0]
            urllib.request.urlopen(f"http://127.0.0.1:{port}/?followed", timeout=5).read()
        lines = [follow.stdout.readline() for _ in range(8)]    # the readiness probes' GETs come between
        assert any('"GET /?followed HTTP/1.1" 200' in line for line in lines), lines
    finally:
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=30)


def _check_ray_is_this_machines_only(state):
    """The Ray that `up` started answers on 127.0.0.1, not on the machine's own address, and its
    temp directory is a fresh private one."""
    import json
    import socket
    info = json.loads((state / "ray.json").read_text())
    host, port = info["address"].rsplit(":", 1)
    assert host == "127.0.0.1"
    private = os.path.dirname(info["temp_dir"])          # (Ray makes its own temp dir 0777: this holds it)
    assert os.stat(private).st_mode & 0o077 == 0 and os.path.basename(private).startswith("reconcile-ray-")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))                 # (no packet is sent: this only picks the route's address)
        mine = s.getsockname()[0]
    if not mine.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((mine, int(port)), timeout=2).close()


def _uids(state):
    from reconcile.state.durable import SqliteBackend
    backend = SqliteBackend(str(state / "state.db"), readonly=True)
    try:
        return sorted(o.metadata.uid for o in backend.load()[1] if o.kind == "Pod")
    finally:
        backend.close()


def test_up_serves_the_file_and_ctrl_c_stops_everything(tmp_path):
    up = Up(tmp_path)
    try:
        up.wait_for(r"deployment default/web: 2/2 ready")
        port = up.wait_for(r"service default/web: serving on 127\.0\.0\.1:(\d+)")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as r:
            assert r.read().decode() == "hello from a pod\n"
        assert len(processes_with(str(up.www))) == 2
        _check_ray_is_this_machines_only(up.state)
        _check_logs(up, port)
        up.proc.send_signal(signal.SIGINT)
        assert up.proc.wait(timeout=90) == 0
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
            subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "down", "--state", str(up.state)], timeout=120)
    assert "stopped: no pod is left running" in up.text()
    assert processes_with(str(up.www)) == []
    assert processes_with("reconcile-ray-") == []          # the Ray it started is gone too


def test_a_killed_control_plane_comes_back_and_adopts_its_running_pods(tmp_path):
    up = Up(tmp_path)
    try:
        up.wait_for(r"deployment default/web: 2/2 ready")
        uids, pids = _uids(up.state), processes_with(str(up.www))
        assert len(uids) == 2 and len(pids) == 2
        up.proc.kill()                                      # kill -9: no cleanup at all
        up.proc.wait(timeout=10)
        time.sleep(2)
        assert processes_with(str(up.www)) == pids         # the pods kept running without it

        again = Up(tmp_path)
        up = again
        again.wait_for(r"deployment default/web: 2/2 ready")
        time.sleep(3)                                       # a few rounds: anything recreated would show
        assert _uids(up.state) == uids                      # the same pods...
        assert processes_with(str(up.www)) == pids         # ...the same processes, none more
        assert "joining this cluster's local Ray" in again.text()
    finally:
        down = subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "down", "--state", str(up.state)],
                              capture_output=True, text=True, timeout=120)
        up.proc.wait(timeout=30)
    assert down.returncode == 0, down.stderr
    assert processes_with(str(up.www)) == []
    assert processes_with("reconcile-ray-") == []


def test_the_readmes_main_job_runs_and_ends_cleanly_on_ctrl_c(tmp_path):
    """The README's first command, after its install steps, in a fresh directory."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    readme = open(os.path.join(root, "README.md")).read()
    command = re.search(r"```sh\n(.*?)\n```", readme, re.S).group(1)
    steps = [s.strip() for s in command.split("&&")]
    assert steps[:3] == ["python3.11 -m venv .venv", ". .venv/bin/activate", "pip install -e ."]
    (tmp_path / "examples").mkdir()
    for name in os.listdir(os.path.join(root, "examples")):
        if name.endswith(".cluster"):
            (tmp_path / "examples" / name).write_text(open(os.path.join(root, "examples", name)).read())
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    run = " && ".join(steps[3:])            # what follows the install: check, then up (until Ctrl-C)
    log = open(tmp_path / "main.log", "w")
    proc = subprocess.Popen(["bash", "-c", run], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    text = lambda: (tmp_path / "main.log").read_text()   # noqa: E731
    try:
        end = time.monotonic() + 150
        while "deployment default/hello: 3/3 ready" not in text():
            assert proc.poll() is None, text()
            assert time.monotonic() < end, text()
            time.sleep(0.3)
        port = re.findall(r"service default/hello: serving on 127\.0\.0\.1:(\d+)", text())[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
        assert len(processes_in(tmp_path / ".reconcile" / "pods")) == 3
        os.killpg(proc.pid, signal.SIGINT)                  # Ctrl-C reaches the whole foreground job
        assert proc.wait(timeout=90) == 0, text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "down", "--state", str(tmp_path / ".reconcile")],
                           timeout=120)
    assert "stopped: no pod is left running" in text()
    assert processes_in(tmp_path / ".reconcile" / "pods") == [] and processes_with("reconcile-ray-") == []
    assert os.listdir(tmp_path / ".reconcile" / "pods")     # (where the pods ran: the check looked there)



def test_the_shop_example_serves_its_web_pods_on_localhost(tmp_path):
    """``reconcile up examples/shop.cluster``: Flask pods from a pip runtime_env, with the shop's
    code from the file's directory, answer HTTP through the shop's service."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    log_path = tmp_path / "shop.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "reconcile.frontends.cli", "up", "examples/shop.cluster", "--state",
                                 str(tmp_path / "state"), "--num-cpus", "2"], cwd=root, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        end = time.monotonic() + 400                   # the first start installs Flask into the image
        while "deployment shop/web: 3/3 ready" not in log_path.read_text():
            assert proc.poll() is None and time.monotonic() < end, log_path.read_text()
            time.sleep(0.5)
        port = re.findall(r"service shop/web: serving on 127\.0\.0\.1:(\d+)", log_path.read_text())[-1]
        answers = set()
        for _ in range(6):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                answers.add(r.read().decode())
        assert len(answers) == 3 and all(re.fullmatch(r"hello from web-[a-z0-9]+-[a-z0-9]{5}\n", a) for a in answers)

        # the rest of the shop: the migration job completes, the key-value members come up in
        # order each knowing its ordinal, and a log agent runs on every node
        for line in ("job shop/migrate: 1/1 succeeded, 0 active, 0 failed: Complete",
                     "statefulset shop/kv: 3/3 ready", "daemonset shop/log-agent: 4/4 ready"):
            while line not in log_path.read_text():
                assert proc.poll() is None and time.monotonic() < end, log_path.read_text()
                time.sleep(0.5)
        for ordinal in range(3):
            out = subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "logs", f"kv-{ordinal}", "-n", "shop",
                                  "--state", str(tmp_path / "state")], cwd=root, capture_output=True, text=True,
                                 timeout=60)
            assert out.returncode == 0 and out.stdout.startswith(f"kv member {ordinal} on port "), out
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            subprocess.run([sys.executable, "-m", "reconcile.frontends.cli", "down", "--state", str(tmp_path / "state")],
                           timeout=120)
    assert processes_in(tmp_path / "state" / "pods") == [] and processes_with("reconcile-ray-") == []
