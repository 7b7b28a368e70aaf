"""``reconcile up`` owns its data directory before Ray starts, and ``down`` signals only that owner.

Without Ray: ``up`` runs in a subprocess with the local Ray and the RayCluster replaced by stand-ins
(a Ray that takes half a second to start, a cluster that is a durable store), so what is tested is
the order of things in ``cluster_ray.up``: the lock, the pid file, the state file's check, Ray.
"""

import os
import stat
import subprocess
import sys
import textwrap
import time

from cluster_ray.local import alive
from cluster_ray.up import PID_FILE, down

UP = textwrap.dedent('''
    import sys, time, types
    import cluster_ray.local as local
    data_dir, go, hold = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])

    def start(data_dir, num_cpus=None):
        print("ray-starting", flush=True)
        time.sleep(0.5)                     # Ray takes a while to start
        return "127.0.0.1:1"

    local.start, local.running, local.use_token_auth, local.stop = start, lambda d: None, lambda: None, lambda d: None

    class Cluster:                          # a RayCluster's store, without Ray
        def __init__(self, address, data_dir, **kwargs):
            from reconcile.state.durable import SqliteBackend
            from reconcile.state.store import Store
            self.store = Store(clock=time.time, backend=SqliteBackend(data_dir + "/state.db"))

        def apply(self, manifest):
            return []

        def down(self):
            self.store.close()

    sys.modules["cluster_ray.runtime"] = types.SimpleNamespace(RayCluster=Cluster)
    import cluster_ray.up as up

    def watch(cluster, period, out, stop):
        print("running", flush=True)
        stop.wait(hold)

    up._watch = watch
    while time.time() < go:
        pass
    sys.exit(up.up([], data_dir + "/x.cluster", data_dir))
''')


def _up(state, go=0.0, hold=2.0):
    return subprocess.Popen([sys.executable, "-c", UP, str(state), str(go), str(hold)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_ups_started_together_exactly_one_runs(tmp_path):
    state = tmp_path / "state"
    for attempt in range(2):
        go = time.time() + 2.0          # both started, then both at once
        procs = [_up(state, go) for _ in range(2)]
        results = [(p.pid, p.wait(timeout=60), *p.communicate()) for p in procs]
        ran = [r for r in results if "running" in r[2]]
        refused = [r for r in results if r not in ran]
        assert len(ran) == 1 and len(refused) == 1, results
        (owner, code, out, _), (_, refused_code, refused_out, err) = ran[0], refused[0]
        assert code == 0 and "stopped: no pod is left running" in out, results
        assert refused_code == 1 and "ray-starting" not in refused_out, results    # it started no Ray
        assert f"pid {owner}" in err and len(err.splitlines()) == 1, err


HOLDER = textwrap.dedent('''
    import sys
    from reconcile.state.durable import SqliteBackend
    from reconcile.state.store import Store
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(sys.argv[1] + "/state.db"))
    print("ready", flush=True)
    sys.stdin.readline()
''')


def test_up_is_refused_with_the_owners_pid_when_another_process_owns_the_directory(tmp_path):
    state = tmp_path / "state"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(state)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        up = _up(state)
        out, err = up.communicate(timeout=60)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert up.returncode == 1 and "ray-starting" not in out, (out, err)
    assert err == (f"reconcile: the data directory {state} is in use by pid {holder.pid}; stop it, "
                   "or use another --state directory\n")


def test_up_with_a_bad_state_file_says_so_in_one_line_before_ray_starts(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.db").write_text("not a database\n")
    up = _up(state)
    out, err = up.communicate(timeout=60)
    assert up.returncode == 1 and "ray-starting" not in out, (out, err)
    assert err == (f"reconcile: {state / 'state.db'}: not a reconcile state file (not an SQLite database); it is "
                   "left as it is: move it aside, or use another data directory\n")
    assert (state / "state.db").read_text() == "not a database\n"


def test_down_does_not_signal_a_pid_that_is_not_the_directorys_control_plane(tmp_path, capsys):
    state = tmp_path / "state"
    state.mkdir()
    stranger = subprocess.Popen(["sleep", "60"])         # a pid file left behind, its pid reused by another
    try:
        (state / PID_FILE).write_text(str(stranger.pid))
        assert down(str(state)) == 0
        time.sleep(0.2)
        assert stranger.poll() is None and alive(stranger.pid)
        assert capsys.readouterr().out == f"nothing runs for {state}\n"
    finally:
        stranger.kill()
        stranger.wait()


def test_down_stops_the_control_plane_that_owns_the_directory(tmp_path, capsys):
    state = tmp_path / "state"
    up = _up(state, hold=60.0)
    try:
        assert [up.stdout.readline().strip() for _ in range(3)] == ["starting a local Ray...", "ray-starting", "running"]
        assert stat.S_IMODE(os.stat(state / PID_FILE).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
        assert down(str(state), timeout=30) == 0
        assert up.wait(timeout=30) == 0 and "stopped: no pod is left running" in up.stdout.read()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    assert capsys.readouterr().out == f"stopped the cluster of {state}: no pod is left running\n"
    assert not (state / PID_FILE).exists()
