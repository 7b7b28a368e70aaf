"""A local Ray of the cluster's own, that outlives the control plane.

``ray.init()`` starts a Ray that dies with the process that started it; a
control plane that is killed would take its pods along. ``reconcile up``
starts Ray instead as ``ray start --head --block`` in a session of its own,
and notes its address and process in the data directory (``ray.json``), so
a restarted control plane joins the same Ray and finds its pods again.
:func:`stop` ends that Ray and every process it started.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

__all__ = ["start", "stop", "running", "use_token_auth", "alive"]


def use_token_auth() -> None:
    """Ray's token authentication for this process and the Ray it starts. Ray turns it on for a
    head that finds a token (``~/.ray/auth_token``) but not always for a driver that joins, which
    then fails to connect; saying it for both makes them agree (a token is made if none exists).
    Call it before ``ray`` is imported: Ray reads the setting once."""
    os.environ.setdefault("RAY_AUTH_MODE", "token")


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
    # Ray's sockets live under its temp dir, whose path must stay short
    temp_dir = "/tmp/reconcile-ray-" + hashlib.blake2b(os.path.abspath(data_dir).encode(), digest_size=4).hexdigest()
    ray = os.path.join(os.path.dirname(sys.executable), "ray")
    cmd = [ray if os.path.exists(ray) else "ray", "start", "--head", "--block", f"--port={port}",
           "--include-dashboard=false", "--disable-usage-stats",
           f"--temp-dir={temp_dir}"]
    if num_cpus is not None:
        cmd.append(f"--num-cpus={num_cpus}")
    use_token_auth()
    log = open(os.path.join(data_dir, "ray.log"), "ab")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    address = f"127.0.0.1:{port}"
    end = time.monotonic() + timeout
    while not _port_open(address):
        if proc.poll() is not None:
            raise RuntimeError(f"Ray did not start (exit status {proc.returncode}); see {data_dir}/ray.log")
        if time.monotonic() > end:
            stop_process_group(proc.pid)
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
    return True
