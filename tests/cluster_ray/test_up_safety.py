"""The Ray that `reconcile up` starts is this machine's and this user's only, and `up` stops the
cluster even when its reader goes away. Without Ray: its command and the up loop are watched
with stand-ins."""

import os
import shutil
import stat
import sys
import tempfile

import pytest

from cluster_ray import local


class _FakeRay:
    """What `local.start` starts, recorded instead of run."""

    def __init__(self, calls):
        self.calls = calls

    def __call__(self, cmd, **kwargs):
        self.calls.append((cmd, kwargs))
        return self

    pid = 2 ** 22 + 1               # no such process
    returncode = None

    def poll(self):
        return None


def _started(tmp_path, monkeypatch, request):
    calls = []
    monkeypatch.setattr(local.subprocess, "Popen", _FakeRay(calls))
    monkeypatch.setattr(local, "_port_open", lambda address: True)
    local.start(str(tmp_path / "data"), num_cpus=1)
    os.unlink(tmp_path / "data" / "ray.json")
    (cmd, kwargs), = calls
    temp_dir = next(a.split("=", 1)[1] for a in cmd if a.startswith("--temp-dir="))
    request.addfinalizer(lambda: _remove(temp_dir))
    return cmd, kwargs, temp_dir


def _remove(temp_dir):
    for p in (temp_dir, os.path.dirname(temp_dir)):
        if os.path.isdir(p) and os.path.basename(p).startswith("reconcile-ray-"):
            shutil.rmtree(p)


def test_the_local_ray_listens_on_localhost_only(tmp_path, monkeypatch, request):
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    cmd, kwargs, _ = _started(tmp_path, monkeypatch, request)
    # Ray's single-machine mode: its node address is 127.0.0.1 and every server of it listens there
    assert (kwargs.get("env") or {}).get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER") == "0"
    assert "--include-dashboard=false" in cmd


def test_the_ray_temp_directory_is_fresh_private_and_short(tmp_path, monkeypatch, request):
    import hashlib
    first = _started(tmp_path, monkeypatch, request)[2]
    second = _started(tmp_path, monkeypatch, request)[2]
    guessable = "/tmp/reconcile-ray-" + hashlib.blake2b(os.path.abspath(tmp_path / "data").encode(),
                                                        digest_size=4).hexdigest()
    assert first != guessable and second != first             # not a name someone could make first
    for d in (first, second):
        # Ray makes its temp dir 0777: one of the directories it is in is ours alone
        ours = [p for p in (d, os.path.dirname(d)) if os.path.isdir(p)
                and stat.S_IMODE(os.stat(p).st_mode) == 0o700 and os.stat(p).st_uid == os.getuid()]
        assert ours and ours[-1] != tempfile.gettempdir()
        # Ray's longest socket path below it stays within a unix socket's 107 bytes
        assert len(os.path.join(d, "session_2026-12-05_13-07-11_793258_4194304", "sockets",
                                "plasma_store").encode()) <= 107


def test_an_inherited_setting_that_turns_token_auth_off_is_warned_about(monkeypatch, capsys):
    monkeypatch.setattr(local, "_warned", set(), raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    local.use_token_auth()
    assert os.environ["RAY_AUTH_MODE"] == "disabled"              # the user's choice, but said out loud
    err = capsys.readouterr().err
    assert "RAY_AUTH_MODE=disabled" in err and "authentication" in err
    monkeypatch.delenv("RAY_AUTH_MODE")
    local.use_token_auth()
    assert os.environ["RAY_AUTH_MODE"] == "token" and capsys.readouterr().err == ""


class _Closed:
    """A stdout whose reader is gone (`reconcile up ... | tee log`, and Ctrl-C ended tee)."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")

    def isatty(self):
        return False


class _Snapshot:
    def list(self, kind):
        return []


class _Cluster:
    made: list = []

    def __init__(self, **kwargs):
        self.steps, self.downs = 0, 0
        self.store = type("Store", (), {"snapshot": lambda s: _Snapshot()})()
        _Cluster.made.append(self)

    def apply(self, manifest):
        return [("created", "deployment.apps/web")]

    def step(self):
        self.steps += 1
        assert self.steps < 100, "the cluster ran on with nobody reading its output"

    def down(self):
        self.downs += 1


def test_up_still_stops_the_cluster_when_its_output_pipe_breaks(tmp_path, monkeypatch):
    import cluster_ray.runtime
    from cluster_ray.up import up
    monkeypatch.setattr(cluster_ray.runtime, "RayCluster", _Cluster)
    _Cluster.made = []
    file = tmp_path / "web.cluster"
    file.write_text("")
    assert up([], str(file), str(tmp_path / "state"), address="127.0.0.1:1", period=0.01, out=_Closed()) == 0
    cluster, = _Cluster.made
    assert cluster.downs == 1
    assert not os.path.exists(tmp_path / "state" / "reconcile.pid")
