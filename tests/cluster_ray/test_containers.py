"""A pod's containers as real processes (no Ray): env, logs, restart policy with back-off, termination."""

import os
import sys
import time

import pytest

from cluster_ray.containers import WATCHDOG, PodProcesses, argv_of
from tests.cluster_ray.support import Clock, alive, wait_for



def _pod(*containers, policy="Always", grace=5):
    return {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {"restartPolicy": policy, "terminationGracePeriodSeconds": grace,
                     "containers": list(containers)}}


def _py(name, code, **extra):
    return {"name": name, "command": ["python", "-c", code], **extra}




def test_a_container_runs_with_the_pods_env_and_its_output_is_logged(tmp_path):
    p = PodProcesses(_pod(_py("c", "import os; print(os.environ['POD_NAME'], os.environ['GREETING'], "
                                   "os.getcwd(), flush=True)", args=["$(PORT)"],
                              env=[{"name": "GREETING", "value": "hi-$(POD_NAME)"}])),
                     str(tmp_path / "w"), {"POD_NAME": "web-1", "PORT": "8080"})
    p.start()
    wait_for(lambda: p.poll()["phase"] == "Running" and not p.pids())
    assert p.logs().strip() == f"web-1 hi-web-1 {tmp_path / 'w'}"
    assert p.logs(tail=0) == ""


def test_argv_expands_env_and_python_is_this_interpreter():
    argv = argv_of({"name": "c", "command": ["python", "-m", "shop.web"], "args": ["--port", "$PORT"]}, {"PORT": "9"})
    assert argv == [sys.executable, "-m", "shop.web", "--port", "9"]
    with pytest.raises(ValueError, match="has no command"):
        argv_of({"name": "c"}, {})


def test_always_restarts_a_crash_after_the_back_off_and_waits_in_crash_loop_back_off(tmp_path):
    clock = Clock()
    p = PodProcesses(_pod(_py("c", "import sys; sys.exit(3)")), str(tmp_path), clock=clock)
    p.start()
    wait_for(lambda: p.poll()["containerStatuses"][0]["restartCount"] == 1)
    st = p.poll()["containerStatuses"][0]
    assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert st["lastState"]["terminated"]["exitCode"] == 3
    clock.now += 9.9                               # the first back-off is 10 s
    assert p.poll()["containerStatuses"][0]["restartCount"] == 1 and not p.pids()
    clock.now += 0.2
    p.poll()
    wait_for(lambda: p.poll()["containerStatuses"][0]["restartCount"] == 2)    # ran again, crashed again
    clock.now += 19.9                              # then 20 s
    assert p.poll()["containerStatuses"][0]["restartCount"] == 2
    assert p.poll()["phase"] == "Running"


@pytest.mark.parametrize("policy, code, phase, restarts", [
    ("OnFailure", 0, "Succeeded", 0), ("Never", 1, "Failed", 0), ("Never", 0, "Succeeded", 0),
    ("OnFailure", 2, "Running", 1),
])
def test_restart_policy(tmp_path, policy, code, phase, restarts):
    p = PodProcesses(_pod(_py("c", f"import sys; sys.exit({code})"), policy=policy), str(tmp_path), clock=Clock())
    p.start()
    wait_for(lambda: p.poll()["phase"] != "Running" or p.poll()["containerStatuses"][0]["restartCount"])
    status = p.poll()
    assert status["phase"] == phase
    assert status["containerStatuses"][0]["restartCount"] == restarts


def test_stop_terminates_the_whole_process_group_gracefully_then_kills(tmp_path):
    child = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    graceful = _py("graceful", "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(0)); "
                   "print('up', flush=True); time.sleep(60)")
    stubborn = _py("stubborn", child + "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('up', flush=True); time.sleep(60)")
    p = PodProcesses(_pod(graceful, stubborn, grace=0.5), str(tmp_path))
    p.start()
    wait_for(lambda: "up" in p.logs("graceful") and "up" in p.logs("stubborn"))
    pids = p.pids()
    groups = {os.getpgid(pid) for pid in pids}
    members = [int(d) for d in os.listdir("/proc") if d.isdigit() and _pgid(int(d)) in groups]
    assert len(members) == 5          # two containers, the stubborn one's child, a watchdog each
    assert sum(WATCHDOG in _cmdline(pid) for pid in members) == 2
    t = time.monotonic()
    p.stop()
    assert time.monotonic() - t < 5
    assert not any(alive(pid) for pid in members)
    codes = {c["name"]: c["state"]["terminated"]["exitCode"] for c in p.status()["containerStatuses"]}
    assert codes == {"graceful": 0, "stubborn": 137}


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_logs_of_an_unknown_container_name_the_ones_there(tmp_path):
    p = PodProcesses(_pod(_py("a", "pass")), str(tmp_path))
    with pytest.raises(KeyError, match="it has a"):
        p.logs("b")


def test_read_log_returns_whole_lines_from_an_offset_for_following(tmp_path):
    p = PodProcesses(_pod(_py("c", "import sys; sys.stdout.write('one\\ntwo\\nthr'); sys.stdout.flush()")),
                     str(tmp_path))
    p.start()
    wait_for(lambda: p.poll() and "thr" in p.logs())
    text, offset = p.read_log()
    assert (text, offset) == ("one\ntwo\n", 8)             # the unfinished line waits
    with open(p.containers[0].log_path, "ab") as f:
        f.write(b"ee\nfour\n")
    assert p.read_log(offset=offset) == ("three\nfour\n", 19)
    assert p.read_log(offset=19) == ("", 19)
