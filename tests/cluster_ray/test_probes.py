"""Probes as the kubelet runs them, on real processes (no Ray): thresholds, kinds, and what they do."""

import http.server
import socket
import threading

import pytest

from cluster_ray.containers import PodProcesses
from cluster_ray.probes import Prober, run_probe
from tests.cluster_ray.support import Clock, wait_for




@pytest.fixture
def server():
    """An HTTP server on 127.0.0.1 whose /healthz answers what the test sets."""
    state = {"code": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(state["code"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield state, httpd.server_address[1]
    httpd.shutdown()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_tcp_and_exec_probes(server, tmp_path):
    state, port = server
    container = {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}
    ports = {"http": port}
    http_probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    assert run_probe(http_probe, container, ports, {}, str(tmp_path)) == (True, "")
    assert run_probe({"httpGet": {"path": "/healthz", "port": 8080}}, container, ports, {}, str(tmp_path))[0]
    state["code"] = 500
    assert run_probe(http_probe, container, ports, {}, str(tmp_path)) == (False, "HTTP probe failed with statuscode: 500")
    state["code"] = 302                                   # 200..399 is success
    assert run_probe(http_probe, container, ports, {}, str(tmp_path))[0]
    assert run_probe({"tcpSocket": {"port": "http"}}, container, ports, {}, str(tmp_path))[0]
    assert not run_probe({"tcpSocket": {"port": _free_port()}}, container, ports, {}, str(tmp_path))[0]
    assert run_probe({"exec": {"command": ["true"]}}, container, ports, {}, str(tmp_path)) == (True, "")
    assert run_probe({"exec": {"command": ["false"]}}, container, ports, {}, str(tmp_path)) == (False, "command exited with 1")
    ok, why = run_probe({"httpGet": {"port": "nope"}}, container, ports, {}, str(tmp_path))
    assert not ok and "names no port" in why


@pytest.mark.parametrize("kind, results, expected", [
    # readiness: not ready before its first result; ready after successThreshold successes in a row
    ("readiness", [True, True], [None, True]),
    ("readiness", [True, False, True, True, False, False, False], [None, None, None, True, None, None, False]),
    # liveness: live until failureThreshold failures in a row
    ("liveness", [False, False, True, False, False, False], [None, None, None, None, None, False]),
    # startup: the failureThreshold-th failure kills, even though it never succeeded
    ("startup", [False, False, False], [None, None, False]),
    ("startup", [False, True], [None, True]),
])
def test_thresholds(kind, results, expected):
    answers = iter(results)
    probe = {"periodSeconds": 5, "initialDelaySeconds": 3, "failureThreshold": 3,
             "successThreshold": 2 if kind == "readiness" else 1}
    p = Prober(kind, probe, 100.0, lambda _: (next(answers), "no"))
    assert p.tick(102.9) is None and p.successes == p.failures == 0          # initial delay
    got = [p.tick(103.0 + 5 * i) for i in range(len(results))]
    assert got == expected
    assert p.tick(103.0 + 5 * len(results) - 0.1) is None                  # not due again yet


def _pod(container, policy="Always"):
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u"},
            "spec": {"restartPolicy": policy, "terminationGracePeriodSeconds": 1, "containers": [container]}}


def test_a_failing_liveness_probe_kills_the_container_and_it_restarts(tmp_path):
    clock = Clock()
    flag = tmp_path / "alive"
    flag.write_text("")
    c = {"name": "c", "command": ["python", "-c", "import time; time.sleep(60)"],
         "livenessProbe": {"exec": {"command": ["test", "-e", str(flag)]}, "periodSeconds": 1,
                           "failureThreshold": 2}}
    p = PodProcesses(_pod(c), str(tmp_path / "w"), clock=clock)
    p.start()
    first = p.pids()[0]
    for _ in range(3):
        clock.now += 1
        assert p.poll()["containerStatuses"][0]["restartCount"] == 0
    flag.unlink()
    clock.now += 1
    p.poll()
    clock.now += 1
    events = p.poll()["events"]                                 # the second failure in a row
    assert [e[1] for e in events] == ["Unhealthy", "Killing"]
    assert events[0][2] == "Liveness probe failed: command exited with 1"
    wait_for(lambda: p.poll()["containerStatuses"][0]["restartCount"] == 1)
    status = p.poll()["containerStatuses"][0]
    assert status["lastState"]["terminated"]["exitCode"] == 143     # SIGTERM
    clock.now += 10                                               # after the back-off, a new process
    p.poll()
    assert p.pids() and p.pids()[0] != first
    p.stop(0)


def test_readiness_follows_its_probe_and_startup_gates_it(tmp_path, server):
    state, port = server
    clock = Clock()
    started = tmp_path / "started"
    c = {"name": "c", "command": ["python", "-c", "import time; time.sleep(60)"],
         "ports": [{"name": "http", "containerPort": 8080}],
         "startupProbe": {"exec": {"command": ["test", "-e", str(started)]}, "periodSeconds": 1,
                          "failureThreshold": 30},
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1,
                            "failureThreshold": 1}}
    p = PodProcesses(_pod(c), str(tmp_path / "w"), clock=clock, ports={"http": port})
    p.start()
    for _ in range(3):                          # not started: readiness is not even probed
        clock.now += 1
        s = p.poll()["containerStatuses"][0]
        assert (s["started"], s["ready"]) == (False, False)
    started.write_text("")
    clock.now += 1
    s = p.poll()["containerStatuses"][0]
    assert (s["started"], s["ready"]) == (True, False)
    clock.now += 1
    assert p.poll()["containerStatuses"][0]["ready"] is True
    state["code"] = 503
    clock.now += 1
    polled = p.poll()
    assert polled["containerStatuses"][0]["ready"] is False
    assert polled["events"] == [("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")]
    assert p.poll()["containerStatuses"][0]["restartCount"] == 0      # readiness never restarts
    p.stop(0)
