"""A pod's containers as OS processes: the container runtime under a Ray kubelet.

:class:`PodProcesses` starts each container's ``command`` + ``args`` as a
process in its own process group (``start_new_session``), in the pod's
working directory, with the pod's environment, its output appended to a log
file per container. ``poll`` applies the pod's restart policy with the
kubelet's crash-loop back-off (:func:`reconcile.controllers.workloads.next_backoff`: 10 s
doubling to 5 min, reset after 10 min of running) and returns the pod's
status in Kubernetes' shape (``phase`` and ``containerStatuses``).
``stop`` is graceful termination: SIGTERM to each process group, SIGKILL
to what is left after the grace period.

No Ray here: the pod's Ray actor (``cluster_ray.kubelet``) holds one of
these, and tests drive it directly.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import Callable, Mapping

from reconcile.controllers.workloads import next_backoff

from cluster_ray.probes import Prober, run_probe

__all__ = ["PodProcesses", "expand", "argv_of"]

_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """``$(VAR)`` (Kubernetes' form), ``${VAR}`` and ``$VAR`` replaced by the pod's env; unknown names stay.

    >>> expand("--port $(PORT) ${HOST}:$PORT $NOPE", {"PORT": "8080", "HOST": "h"})
    '--port 8080 h:8080 $NOPE'
    """
    def sub(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return env.get(name, m.group(0))
    return _VAR.sub(sub, text)


def argv_of(container: Mapping, env: Mapping[str, str]) -> list[str]:
    """The process to start for a container: ``command`` + ``args``, expanded; ``python`` is this
    interpreter (the one of the pod's Ray runtime_env)."""
    argv = [expand(str(a), env) for a in list(container.get("command") or ()) + list(container.get("args") or ())]
    if not argv:
        raise ValueError(f"container {container.get('name')!r} has no command (a Ray pod runs a command "
                         "or a Python callable, not an image's entrypoint)")
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


class _Container:
    __slots__ = ("spec", "name", "proc", "restarts", "started_at", "backoff", "restart_at", "last_exit",
                 "finished", "log_path", "probers", "kill_at", "env")

    def __init__(self, spec: Mapping, log_path: str):
        self.spec, self.name, self.log_path = spec, spec.get("name", "main"), log_path
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.started_at: float | None = None
        self.backoff: float | None = None
        self.restart_at: float | None = None
        self.last_exit: dict | None = None
        self.finished: dict | None = None       # terminated for good (restart policy says no restart)
        self.probers: dict = {}                 # "startup" / "liveness" / "readiness" -> Prober
        self.kill_at: float | None = None       # killed by a probe: SIGKILL when this passes
        self.env: dict = {}

    def started(self) -> bool:
        startup = self.probers.get("startup")
        return self.proc is not None and (startup is None or startup.result)

    def ready(self) -> bool:
        readiness = self.probers.get("readiness")
        return self.started() and self.kill_at is None and (readiness is None or readiness.result)


class PodProcesses:
    """The processes of one pod. ``pod`` is the pod's Kubernetes JSON; ``env`` the variables the
    kubelet gives every container (POD_NAME, POD_IP, PORT, the services...)."""

    def __init__(self, pod: Mapping, workdir: str, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time, ports: Mapping[str, int] | None = None):
        self.pod = pod
        self.ports = dict(ports or {})
        self.events: list = []                  # (type, reason, message) since the last poll
        self.workdir = workdir
        self.clock = clock
        spec = pod.get("spec") or {}
        self.policy = spec.get("restartPolicy", "Always")
        self.grace = float(spec.get("terminationGracePeriodSeconds", 30))
        os.makedirs(workdir, exist_ok=True)
        os.makedirs(os.path.join(workdir, "logs"), exist_ok=True)
        self.env = dict(env or {})
        self.containers = [_Container(c, os.path.join(workdir, "logs", f"{c.get('name', 'main')}.log"))
                           for c in spec.get("containers") or ()]
        self.stopped = False

    # -- processes
    def _env_for(self, c: _Container) -> dict:
        env = dict(os.environ)
        env.update(self.env)
        for e in c.spec.get("env") or ():
            if "value" in e:
                env[e["name"]] = expand(str(e["value"]), env)
        return env

    def _spawn(self, c: _Container, now: float) -> None:
        env = self._env_for(c)
        log = open(c.log_path, "ab", buffering=0)
        try:
            c.proc = subprocess.Popen(argv_of(c.spec, env), cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        except (OSError, ValueError) as e:
            log.write(f"failed to start container {c.name}: {e}\n".encode())
            c.proc = None
            self._exited(c, 128, now, reason="StartError")
        finally:
            log.close()
        if c.proc is not None:
            c.started_at, c.restart_at, c.kill_at, c.env = now, None, None, env
            c.probers = {kind: Prober(kind, c.spec[key], now, self._runner(c))
                         for kind, key in (("startup", "startupProbe"), ("liveness", "livenessProbe"),
                                           ("readiness", "readinessProbe")) if c.spec.get(key)}

    def _runner(self, c: _Container):
        return lambda probe: run_probe(probe, c.spec, self.ports, c.env, self.workdir)

    def _probe(self, c: _Container, now: float) -> None:
        """The container's due probes; a failed liveness or startup probe kills it (then its restart
        policy decides), as the kubelet does."""
        startup = c.probers.get("startup")
        if startup is not None and not startup.result:
            order = (startup,)
        else:
            order = tuple(p for k, p in c.probers.items() if k != "startup")
        for prober in order:
            flipped = prober.tick(now)
            if flipped is False and prober.kind != "readiness":
                what = "Liveness" if prober.kind == "liveness" else "Startup"
                self.events.append(("Warning", "Unhealthy", f"{what} probe failed: {prober.message}"))
                self.events.append(("Normal", "Killing", f"Container {c.name} failed {prober.kind} probe, "
                                                         "will be restarted"))
                _signal_group(c.proc.pid, signal.SIGTERM)
                c.kill_at = now + self.grace
                return
            if flipped is False:
                self.events.append(("Warning", "Unhealthy", f"Readiness probe failed: {prober.message}"))

    def start(self) -> None:
        now = self.clock()
        for c in self.containers:
            self._spawn(c, now)

    def _exited(self, c: _Container, code: int, now: float, reason: str | None = None) -> None:
        term = {"exitCode": code, "reason": reason or ("Completed" if code == 0 else "Error"),
                "startedAt": c.started_at, "finishedAt": now}
        c.proc = None
        restart = not self.stopped and (self.policy == "Always" or self.policy == "OnFailure" and code != 0)
        if not restart:
            c.finished = term
            return
        c.last_exit = term
        c.backoff = float(next_backoff(c.backoff, c.started_at, now))
        c.restart_at = now + c.backoff
        c.restarts += 1

    def poll(self) -> dict:
        """Restart what is due and report: ``{"phase": ..., "containerStatuses": [...]}``."""
        now = self.clock()
        for c in self.containers:
            if c.proc is not None:
                code = c.proc.poll()
                if code is not None:
                    self._exited(c, code if code >= 0 else 128 - code, now)
                elif c.kill_at is not None:
                    if now >= c.kill_at:
                        _signal_group(c.proc.pid, signal.SIGKILL)
                elif not self.stopped:
                    self._probe(c, now)
            if c.proc is None and c.finished is None and c.restart_at is not None and now >= c.restart_at \
                    and not self.stopped:
                self._spawn(c, now)
        return self.status()

    def status(self) -> dict:
        statuses = []
        for c in self.containers:
            entry: dict = {"name": c.name, "restartCount": c.restarts, "image": c.spec.get("image", ""),
                           "ready": c.ready(), "started": c.started()}
            if c.proc is not None:
                entry["state"] = {"running": {"startedAt": c.started_at}}
            elif c.finished is not None:
                entry["state"] = {"terminated": dict(c.finished)}
            else:
                entry["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                              f"back-off {c.backoff:g}s restarting failed container={c.name}"}}
            if c.last_exit is not None:
                entry["lastState"] = {"terminated": dict(c.last_exit)}
            statuses.append(entry)
        if self.containers and all(c.finished is not None for c in self.containers):
            phase = "Succeeded" if all(c.finished["exitCode"] == 0 for c in self.containers) else "Failed"
        else:
            phase = "Running"
        events, self.events = self.events, []
        return {"phase": phase, "containerStatuses": statuses, "events": events}

    def pids(self) -> list[int]:
        return [c.proc.pid for c in self.containers if c.proc is not None]

    def stop(self, grace: float | None = None) -> None:
        """Graceful termination: SIGTERM to every container's process group, SIGKILL after ``grace``."""
        self.stopped = True
        grace = self.grace if grace is None else grace
        live = [c for c in self.containers if c.proc is not None]
        for c in live:
            _signal_group(c.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for c in live:
            while c.proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        for c in live:
            _signal_group(c.proc.pid, signal.SIGKILL)   # the group: children the container left behind too
            try:
                c.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            rc = c.proc.returncode
            code = 137 if rc is None else rc if rc >= 0 else 128 - rc
            c.finished = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                          "startedAt": c.started_at, "finishedAt": self.clock()}
            c.proc = None

    def logs(self, container: str | None = None, tail: int | None = None) -> str:
        c = self._container(container)
        try:
            with open(c.log_path, "rb") as f:
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        if tail is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail > 0 else ""
        return text

    def read_log(self, container: str | None = None, offset: int = 0) -> tuple[str, int]:
        """What the container wrote from byte ``offset`` on, and the offset after it (for following)."""
        c = self._container(container)
        try:
            with open(c.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return "", offset
        end = data.rfind(b"\n") + 1        # whole lines only: a half-written one comes next time
        return data[:end].decode(errors="replace"), offset + end

    def _container(self, name: str | None) -> _Container:
        if name is None:
            if not self.containers:
                raise KeyError("the pod has no containers")
            return self.containers[0]
        for c in self.containers:
            if c.name == name:
                return c
        raise KeyError(f"container {name!r} is not in the pod (it has "
                       f"{', '.join(c.name for c in self.containers)})")


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)         # the container's own process group (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
