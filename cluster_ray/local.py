"""A local Ray of the cluster's own, that outlives the control plane.

``ray.init()`` starts a Ray that dies with the process that started it; a
control plane that is killed would take its pods along. ``reconcile up``
starts Ray instead as ``ray start --head --block`` in a session of its own,
and notes its address and process in the data directory (``ray.json``), so
a restarted control plane joins the same Ray and finds its pods again.
:func:`stop` ends that Ray and every process it started.

That Ray is for this machine only: it listens on 127.0.0.1 (Ray's own
single-machine mode, :func:`loopback_only`), its token authentication is on
(:func:`use_token_auth`), and its temp directory (sockets, session logs) is
a fresh private one (``mkdtemp``, mode 0700), not a name another user of
the machine could guess and make first. A cluster of many machines is
started with ``ray start`` by the user, and joined with ``--address``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

__all__ = ["start", "stop", "running", "use_token_auth", "loopback_only", "alive"]

AUTH_MODE = "RAY_AUTH_MODE"
# Ray's single-machine mode (the one it uses on macOS and Windows): every Ray process takes
# 127.0.0.1 as its node's address and listens there, and no other machine can join.
LOOPBACK = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
TEMP_PREFIX = "reconcile-ray-"
_SOCKET_PATH_MAX = 107  # bytes in a unix socket's path (sun_path)
_SOCKET_BELOW = 64      # Ray's longest below its temp dir: /session_DATE_TIME_USEC_PID/sockets/plasma_store
_warned: set = set()


def use_token_auth() -> None:
    """Ray's token authentication for this process and the Ray it starts. Ray turns it on for a
    head that finds a token (``~/.ray/auth_token``) but not always for a driver that joins, which
    then fails to connect; saying it for both makes them agree (a token is made if none exists).
    An inherited ``RAY_AUTH_MODE`` that turns it off is obeyed, with a warning on stderr (once).
    Call it before ``ray`` is imported: Ray reads the setting once."""
    mode = os.environ.get(AUTH_MODE)
    if mode is not None and mode.strip().lower() != "token" and mode not in _warned:
        _warned.add(mode)
        print(f"reconcile: warning: {AUTH_MODE}={mode} in the environment turns Ray's token authentication "
              "off: whoever reaches Ray's ports can run any code as you. Unset it to keep it on.",
              file=sys.stderr, flush=True)
    os.environ.setdefault(AUTH_MODE, "token")


def loopback_only() -> None:
    """This process joins the Ray that :func:`start` started, which listens on 127.0.0.1 only
    (without this, Ray turns the address 127.0.0.1 into the machine's own and cannot reach it).
    Call it before ``ray`` is imported: Ray reads the setting once."""
    os.environ[LOOPBACK] = "0"


def _temp_parent() -> str:
    """Where to make Ray's temp directory: the system's temp directory when its path is short
    enough for Ray's unix sockets below it (a path is at most 107 bytes), else /tmp."""
    parent = os.path.abspath(tempfile.gettempdir())
    room = _SOCKET_PATH_MAX - _SOCKET_BELOW - len(TEMP_PREFIX) - 11    # mkdtemp's 8 letters, "/" and "/r"
    return parent if len(parent.encode()) <= room and os.path.isdir(parent) else "/tmp"


def _info_path(data_dir: str) -> str:
    return os.path.join(data_dir, "ray.json")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def running(data_dir: str) -> dict | None:
    """``{"address", "pid", "temp_dir"}`` of the Ray this data directory started, if it still runs."""
    try:
        with open(_info_path(data_dir)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    return info if alive(info["pid"]) and _port_open(info["address"]) else None


def start(data_dir: str, num_cpus: int | None = None, timeout: float = 60.0) -> str:
    """The address of this data directory's Ray, started now unless it already runs."""
    info = running(data_dir)
    if info is not None:
        return info["address"]
    os.makedirs(data_dir, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Ray's sockets live under its temp dir, whose path must stay short. Ray makes its temp dir
    # 0777 (to share it between users): it is "r" in a fresh directory of ours, 0700.
    temp_dir = os.path.join(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=_temp_parent()), "r")
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    cmd = [ray if os.path.exists(ray) else "ray", "start", "--head", "--block", f"--port={port}",
           "--include-dashboard=false", "--disable-usage-stats",
           f"--temp-dir={temp_dir}"]
    if num_cpus is not None:
        cmd.append(f"--num-cpus={num_cpus}")
    use_token_auth()
    try:
        with open(os.path.join(data_dir, "ray.log"), "ab") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True, env={**os.environ, LOOPBACK: "0"})
    except OSError:
        _remove_temp(temp_dir)
        raise
    address = f"127.0.0.1:{port}"
    end = time.monotonic() + timeout
    while not _port_open(address):
        if proc.poll() is not None:
            _remove_temp(temp_dir)
            raise RuntimeError(f"Ray did not start (exit status {proc.returncode}); see {data_dir}/ray.log")
        if time.monotonic() > end:
            stop_process_group(proc.pid)
            _remove_temp(temp_dir)
            raise RuntimeError(f"Ray did not start within {timeout:g}s; see {data_dir}/ray.log")
        time.sleep(0.2)
    with open(_info_path(data_dir), "w") as f:
        json.dump({"address": address, "pid": proc.pid, "temp_dir": temp_dir}, f)
    return address


def stop_process_group(pid: int, grace: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(data_dir: str) -> bool:
    """Stop the Ray this data directory started (all its processes); False if none ran."""
    try:
        with open(_info_path(data_dir)) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return False
    stop_process_group(info["pid"])
    try:
        os.unlink(_info_path(data_dir))
    except FileNotFoundError:
        pass
    _remove_temp(info.get("temp_dir"))
    return True


def _remove_temp(temp_dir: str | None) -> None:
    """Ray's temp directory and the private one around it, once its Ray stopped: only what
    :func:`start` made."""
    mine = os.path.dirname(temp_dir) if temp_dir else ""
    if mine and os.path.basename(mine).startswith(TEMP_PREFIX) and os.path.isdir(mine) \
            and os.stat(mine).st_uid == os.getuid():
        shutil.rmtree(mine, ignore_errors=True)
