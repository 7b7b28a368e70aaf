"""A pod's containers as OS processes: the container runtime under a Ray kubelet.

:class:`PodProcesses` starts each container's ``command`` + ``args`` as a
process in its own process group, in the pod's working directory, with the
pod's environment and nothing else (:func:`container_env`, :func:`image_env`:
never the environment of the process that runs the kubelet), its output
appended to a log file per container, kept apart from the working directory.
A watchdog in each container's process group kills the group when the
process that started it (the pod's Ray actor) dies, however it dies: a
container never outlives its node. ``poll`` applies the pod's restart policy with the
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
from collections import ChainMap
from typing import Callable, Mapping

from reconcile.controllers.workloads import next_backoff

from cluster_ray.probes import Prober, run_probe

__all__ = ["PodProcesses", "expand", "argv_of", "container_env", "image_env", "inside", "pod_paths",
           "EscapesDirectory", "DEFAULT_PATH", "WATCHDOG"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"   # a container runtime's default
WATCHDOG = "reconcile-watchdog"         # the $0 of each container's watchdog (see _watchdog)

_SHELL_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def expand(text: str, env: Mapping[str, str], shell_forms: bool = True) -> str:
    """Kubernetes' expansion (``third_party/forked/golang/expansion``): ``$(VAR)`` is replaced by
    ``env``'s value, ``$$`` is one ``$``, and a name ``env`` does not have stays as written. With
    ``shell_forms`` (this project's addition) ``${VAR}`` and ``$VAR`` of a name in ``env`` expand too.

    >>> expand("--port $(PORT) ${HOST}:$PORT $NOPE $(NOPE) $$(PORT)", {"PORT": "8080", "HOST": "h"})
    '--port 8080 h:8080 $NOPE $(NOPE) $(PORT)'
    >>> expand("$PORT ${PORT}", {"PORT": "1"}, shell_forms=False)
    '$PORT ${PORT}'
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "$" or i + 1 == n:            # (a "$" at the very end stays)
            out.append(text[i])
            i += 1
            continue
        after = text[i + 1]
        if after == "$":                            # an escaped operator
            out.append("$")
            i += 2
        elif after == "(":
            close = text.find(")", i + 2)
            if close < 0:                           # an unterminated reference stays, its "$(" read
                out.append("$(")
                i += 2
            else:
                name = text[i + 2:close]
                out.append(env[name] if name in env else f"$({name})")
                i = close + 1
        else:
            m = _SHELL_VAR.match(text, i) if shell_forms else None
            name = m and (m.group(1) or m.group(2))
            if name and name in env:
                out.append(env[name])
                i = m.end()
            else:                                   # "$" and the character after it, as Kubernetes reads it
                out.append("$" + after)
                i += 2
    return "".join(out)


def container_env(container: Mapping, given: Mapping[str, str]) -> dict:
    """A container's variables as the kubelet makes them: ``given`` (the pod's identity, its ports,
    its Services' variables), then the container's own ``env`` in order, each value expanded over
    the ones before it and ``given`` (Kubernetes' ``$(VAR)`` semantics). ``valueFrom`` is not
    supported here (such a variable is left out); an entry without a value is the empty string.

    >>> container_env({"env": [{"name": "A", "value": "a-$(POD)"}, {"name": "B", "value": "$(A)/$(C)"},
    ...                        {"name": "C", "value": "c"}]}, {"POD": "p"})
    {'POD': 'p', 'A': 'a-p', 'B': 'a-p/$(C)', 'C': 'c'}
    """
    declared: dict = {}
    scope = ChainMap(declared, dict(given))
    for e in container.get("env") or ():
        if "valueFrom" not in e:
            declared[str(e["name"])] = expand(str(e.get("value", "")), scope)
    return {**given, **declared}


def image_env(runtime_env: Mapping | None, worker_env: Mapping[str, str], executable: str = sys.executable) -> dict:
    """What a container starts from before its own variables, as an image's ``ENV`` is: ``PATH``
    (the directory of the pod's interpreter first, so ``python`` is the pod's, then a container
    runtime's default), the ``PYTHONPATH`` Ray gave the pod's worker (its ``working_dir`` and
    ``py_modules``), ``CONDA_PREFIX`` and ``CONDA_DEFAULT_ENV`` of a ``conda`` image, and the image's
    ``env_vars``. Nothing else of ``worker_env`` (the environment the pod's actor inherited from
    the Ray node, and that from whoever started Ray) reaches a container.

    >>> env = image_env({"env_vars": {"GREETING": "hi"}}, {"PYTHONPATH": "/wd", "SECRET": "x"}, "/venv/bin/python")
    >>> env == {"PATH": "/venv/bin:" + DEFAULT_PATH, "PYTHONPATH": "/wd", "GREETING": "hi"}
    True
    """
    runtime_env = runtime_env or {}
    env = {"PATH": os.path.dirname(executable) + os.pathsep + DEFAULT_PATH}
    passed = ("PYTHONPATH",) + (("CONDA_PREFIX", "CONDA_DEFAULT_ENV") if runtime_env.get("conda") else ())
    env.update({name: worker_env[name] for name in passed if name in worker_env})
    env.update({str(k): str(v) for k, v in (runtime_env.get("env_vars") or {}).items()})
    return env


class EscapesDirectory(ValueError):
    """A path made of names a client chose (a pod's uid, a container's name) that would leave the
    directory it belongs in. Nothing is created; the name is what to fix."""


def inside(base: str, *parts: str) -> str:
    """``base/part/...`` resolved (symbolic links too), when it stays strictly inside ``base``;
    each part is one name: not empty, not ``.`` or ``..``, without ``/`` or NUL.

    >>> inside("/srv/data", "pods", "1a2b").endswith("/pods/1a2b")
    True
    >>> inside("/srv/data", "pods", "../../etc")
    Traceback (most recent call last):
    ...
    cluster_ray.containers.EscapesDirectory: pods/../../etc: '../../etc' is not a plain name: it would leave /srv/data
    """
    where = "/".join(str(p) for p in parts)
    for part in parts:
        if not isinstance(part, str) or part in ("", ".", "..") or "/" in part or "\0" in part \
                or (os.altsep and os.altsep in part):
            raise EscapesDirectory(f"{where}: {part!r} is not a plain name: it would leave {base}")
    root = os.path.realpath(base)
    path = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, path]) != root or path == root:
        raise EscapesDirectory(f"{where}: resolves to {path}, outside {base}")
    return path


def pod_paths(root: str, pod: Mapping) -> tuple[str, str]:
    """The pod's working directory (``ROOT/pods/UID``) and its log directory (``ROOT/logs/UID``,
    a log per container), after checking that its uid and every container's name keep them, and
    the logs, inside ``root``; raises :class:`EscapesDirectory` otherwise."""
    uid = (pod.get("metadata") or {}).get("uid")
    workdir, logdir = inside(root, "pods", uid), inside(root, "logs", uid)
    for c in (pod.get("spec") or {}).get("containers") or ():
        inside(logdir, _log_name(c))
    return workdir, logdir


def _log_name(container: Mapping) -> str:
    return f"{container.get('name', 'main')}.log"


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
                 "finished", "log_path", "probers", "kill_at", "env", "watchdog")

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
        self.watchdog: subprocess.Popen | None = None

    def started(self) -> bool:
        startup = self.probers.get("startup")
        return self.proc is not None and (startup is None or startup.result)

    def ready(self) -> bool:
        readiness = self.probers.get("readiness")
        return self.started() and self.kill_at is None and (readiness is None or readiness.result)


class PodProcesses:
    """The processes of one pod. ``pod`` is the pod's Kubernetes JSON; ``env`` the variables the
    kubelet gives every container (POD_NAME, POD_IP, PORT, the services...); ``base_env`` what
    every container starts from (:func:`image_env`; by default a ``PATH`` only); ``logdir`` where
    the containers' logs go (by default ``WORKDIR/logs``; the kubelet keeps them out of the
    working directory). A container's log is ``LOGDIR/NAME.log``: a name that would put it
    elsewhere raises :class:`EscapesDirectory` here, before anything is created."""

    def __init__(self, pod: Mapping, workdir: str, env: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time, ports: Mapping[str, int] | None = None,
                 base_env: Mapping[str, str] | None = None, logdir: str | None = None):
        self.pod = pod
        self.ports = dict(ports or {})
        self.events: list = []                  # (type, reason, message) since the last poll
        self.workdir = workdir
        self.clock = clock
        spec = pod.get("spec") or {}
        self.policy = spec.get("restartPolicy", "Always")
        self.grace = float(spec.get("terminationGracePeriodSeconds", 30))
        logdir = os.path.join(workdir, "logs") if logdir is None else logdir
        logs = [inside(logdir, _log_name(c)) for c in spec.get("containers") or ()]   # (checked before any mkdir)
        os.makedirs(workdir, exist_ok=True)
        os.makedirs(logdir, exist_ok=True)
        self.env = dict(env or {})
        self.base_env = dict(image_env(None, {}) if base_env is None else base_env)
        self.containers = [_Container(c, log) for c, log in zip(spec.get("containers") or (), logs)]
        self.stopped = False
        # The lifeline: this process holds its only write end; the containers' watchdogs read it
        # and see its end (EOF) when this process dies, whatever kills it.
        self._lifeline, self._lifeline_w = os.pipe()

    # -- processes
    def _env_for(self, c: _Container) -> tuple[dict, dict]:
        """The container's variables (what ``$(VAR)`` expands over) and its process's environment
        (those over the image's)."""
        own = container_env(c.spec, self.env)
        return own, {**self.base_env, **own}

    def _spawn(self, c: _Container, now: float) -> None:
        own, env = self._env_for(c)
        log = open(c.log_path, "ab", buffering=0)
        try:   # a process group of its own (not a session: the watchdog must be able to join it)
            c.proc = subprocess.Popen(argv_of(c.spec, own), cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT, process_group=0)
        except (OSError, ValueError) as e:
            log.write(f"failed to start container {c.name}: {e}\n".encode())
            c.proc = None
            self._exited(c, 128, now, reason="StartError")
        finally:
            log.close()
        if c.proc is not None:
            c.watchdog = _watchdog(c.proc.pid, self._lifeline, self.workdir)
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
        if c.proc is not None:      # the container is its main process: what it left behind goes with it
            _signal_group(c.proc.pid, signal.SIGKILL)
        _reap(c)
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
            _reap(c)
        if self._lifeline_w >= 0:                       # nothing starts after a stop
            os.close(self._lifeline)
            os.close(self._lifeline_w)
            self._lifeline = self._lifeline_w = -1

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
        os.killpg(pid, sig)         # the container's own process group
    except (ProcessLookupError, PermissionError):
        pass


# The watchdog: a shell in the container's process group that waits on the lifeline and, at its end
# (the pod's process died), kills the whole group, itself with it. It ignores the SIGTERM of a
# graceful stop (the SIGKILL after the grace period ends it). Its $0 names it, and the working
# directory it was started for, so a process table shows whose it is.
_WATCH = "trap '' HUP INT TERM; read _ ; kill -KILL 0"


def _watchdog(pgid: int, lifeline: int, workdir: str) -> subprocess.Popen | None:
    try:
        return subprocess.Popen(["/bin/sh", "-c", _WATCH, WATCHDOG, workdir], stdin=lifeline,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env={},
                                process_group=pgid)
    except (OSError, subprocess.SubprocessError):
        return None                 # the container's group is gone already: nothing to watch


def _reap(c: _Container) -> None:
    """The container's watchdog, ended and waited for (it is killed with the group, or now)."""
    if c.watchdog is None:
        return
    try:
        c.watchdog.kill()
        c.watchdog.wait(timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        pass
    c.watchdog = None
