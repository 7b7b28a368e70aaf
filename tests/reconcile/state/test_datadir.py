"""A data directory has one owner, and it is private: the lock, the errors a second opener gets, the modes."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from reconcile.api.errors import StateInUse
from reconcile.api.model import Pod
from reconcile.state import datadir
from reconcile.state.durable import SqliteBackend
from reconcile.state.store import Store

HOLDER = textwrap.dedent('''
    import sys
    from reconcile.api.model import Pod
    from reconcile.state.durable import SqliteBackend
    from reconcile.state.store import Store
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(sys.argv[1]))
    s.create(Pod.new("from-the-owner", "default", spec={"containers": [{"name": "c"}]}))
    print("ready", flush=True)
    sys.stdin.readline()            # hold the directory until told
''')


def _holder(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _pod(name):
    return Pod.new(name, "default", spec={"containers": [{"name": "c"}]})


def test_a_second_process_is_refused_by_name_with_the_owners_pid_and_nothing_is_written(tmp_path):
    path = str(tmp_path / "state" / "state.db")
    owner = _holder(path)
    try:
        with pytest.raises(StateInUse, match=rf"the data directory .*state is in use by pid {owner.pid}") as e:
            Store(clock=lambda: 2.0, backend=SqliteBackend(path))
        assert e.value.pid == owner.pid and isinstance(e.value, OSError)
        assert datadir.owner(str(tmp_path / "state")) == owner.pid
        reader = SqliteBackend(path, readonly=True)      # reading is no ownership: allowed, and it sees the data
        assert [o.name for o in reader.load()[1]] == ["from-the-owner"]
        reader.close()
    finally:
        owner.stdin.close()
        owner.wait(timeout=30)
    s = Store(clock=lambda: 3.0, backend=SqliteBackend(path))     # its owner is gone: now it opens
    s.create(_pod("second"))
    assert sorted(p.name for p in s.list("Pod")) == ["from-the-owner", "second"]
    s.close()


def test_this_process_owning_the_directory_refuses_another_process(tmp_path):
    path = str(tmp_path / "state.db")
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(path))
    try:
        r = subprocess.run([sys.executable, "-c", HOLDER, path], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1
        assert f"reconcile.api.errors.StateInUse: the data directory {tmp_path} is in use by pid {os.getpid()}" \
            in r.stderr
    finally:
        s.close()
    assert datadir.owner(str(tmp_path)) is None


def test_the_lock_goes_with_a_killed_owner(tmp_path):
    path = str(tmp_path / "state.db")
    owner = _holder(path)
    os.kill(owner.pid, signal.SIGKILL)
    owner.wait()
    assert datadir.owner(str(tmp_path)) is None          # its pid is still in the lock file, but it holds nothing
    s = Store(clock=lambda: 2.0, backend=SqliteBackend(path))
    assert [p.name for p in s.list("Pod")] == ["from-the-owner"]
    s.close()


RACER = textwrap.dedent('''
    import os, sys, time
    from reconcile.api.errors import StateInUse
    from reconcile.state import datadir
    go = float(sys.argv[2])
    while time.time() < go:
        pass
    try:
        datadir.lock(sys.argv[1])
    except StateInUse as e:
        print("refused", e.pid, flush=True)
    else:
        print("owner", os.getpid(), flush=True)
        time.sleep(1.0)             # hold it while the others try
''')


def test_of_processes_racing_for_one_directory_exactly_one_owns_it(tmp_path):
    for attempt in range(3):
        d = str(tmp_path / f"state-{attempt}")
        go = time.time() + 1.5      # all of them started, then all of them at once
        procs = [subprocess.Popen([sys.executable, "-c", RACER, d, str(go)], stdout=subprocess.PIPE, text=True)
                 for _ in range(4)]
        results = [p.communicate(timeout=60)[0].split() for p in procs]
        owners = [r for r in results if r[0] == "owner"]
        assert len(owners) == 1, results
        assert all(r == ["refused", owners[0][1]] for r in results if r[0] != "owner"), results


def test_the_lock_is_reentrant_within_a_process_and_released_by_the_last_holder(tmp_path):
    first = datadir.lock(str(tmp_path))
    second = datadir.lock(str(tmp_path))
    assert first is second
    first.release()
    assert datadir.owner(str(tmp_path)) == os.getpid()
    second.release()
    assert datadir.owner(str(tmp_path)) is None
    assert (tmp_path / datadir.LOCK_FILE).read_text() == ""


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277], ids=["umask-000", "umask-022", "umask-277"])
def test_the_data_directory_is_0700_and_its_files_0600_whatever_the_umask(tmp_path, umask):
    d = tmp_path / "state"
    old = os.umask(umask)
    try:
        s = Store(clock=lambda: 1.0, backend=SqliteBackend(str(d / "state.db")))
        s.create(_pod("a"))             # the -wal and -shm files exist now
        files = {f: _mode(d / f) for f in os.listdir(d)}
        dir_mode = _mode(d)
        s.close()
    finally:
        os.umask(old)
    assert dir_mode == 0o700
    assert set(files) >= {"state.db", "state.db-wal", "state.db-shm", datadir.LOCK_FILE}, files
    assert all(m == 0o600 for m in files.values()), {f: oct(m) for f, m in files.items()}


def test_files_of_an_older_state_directory_are_made_0600_when_opened(tmp_path):
    path = tmp_path / "state.db"
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(str(path)))
    s.create(_pod("a"))
    os.chmod(path, 0o644)
    os.chmod(str(path) + "-wal", 0o644)
    s.close()
    s = Store(clock=lambda: 1.0, backend=SqliteBackend(str(path)))
    assert _mode(path) == 0o600
    s.close()
