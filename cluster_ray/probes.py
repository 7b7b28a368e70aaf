"""Container probes as the kubelet runs them: HTTP GET, TCP and exec, with periods and thresholds.

A :class:`Prober` holds one probe of one container (``readinessProbe``,
``livenessProbe`` or ``startupProbe``, in Kubernetes' JSON) and its
consecutive successes and failures. The kubelet's rules:

- a probe first runs ``initialDelaySeconds`` after the container started,
  then every ``periodSeconds`` (default 10); each try gives up after
  ``timeoutSeconds`` (default 1);
- its result flips to success after ``successThreshold`` (default 1)
  successes in a row, to failure after ``failureThreshold`` (default 3)
  failures in a row;
- HTTP succeeds on a status from 200 to 399, TCP when a connection opens,
  exec when the command exits 0.

Before its first result a container is not ready and not started, and it is
live. Ports are the container's: a name or
a ``containerPort`` is mapped to the host port the kubelet gave it.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
from typing import Callable, Mapping

__all__ = ["Prober", "run_probe"]


def _port(value, ports: Mapping[str, int], container: Mapping) -> int:
    if isinstance(value, str) and not value.isdigit():
        if value in ports:
            return ports[value]
        raise ValueError(f"probe port {value!r} names no port of container {container.get('name')!r}")
    number = int(value)
    for p in container.get("ports") or ():
        if int(p.get("containerPort", -1)) == number:
            key = p.get("name") or str(number)
            if key in ports:
                return ports[key]
    return number


def run_probe(probe: Mapping, container: Mapping, ports: Mapping[str, int], env: Mapping[str, str], cwd: str,
              host: str = "127.0.0.1") -> tuple[bool, str]:
    """One try of a probe: (succeeded, why not)."""
    timeout = float(probe.get("timeoutSeconds") or 1)
    try:
        if "httpGet" in probe:
            h = probe["httpGet"]
            port = _port(h.get("port"), ports, container)
            conn = http.client.HTTPConnection(h.get("host") or host, port, timeout=timeout)
            try:
                conn.request("GET", h.get("path") or "/", headers={"User-Agent": "kube-probe/1.32"})
                code = conn.getresponse().status
            finally:
                conn.close()
            return (True, "") if 200 <= code < 400 else (False, f"HTTP probe failed with statuscode: {code}")
        if "tcpSocket" in probe:
            port = _port(probe["tcpSocket"].get("port"), ports, container)
            with socket.create_connection((probe["tcpSocket"].get("host") or host, port), timeout=timeout):
                return True, ""
        if "exec" in probe:
            r = subprocess.run(list(probe["exec"].get("command") or ()), cwd=cwd, env=dict(env), timeout=timeout,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return (True, "") if r.returncode == 0 else (False, f"command exited with {r.returncode}")
    except subprocess.TimeoutExpired:
        return False, f"command timed out after {timeout:g}s"
    except (OSError, ValueError, http.client.HTTPException) as e:
        return False, str(e) or type(e).__name__
    return False, "the probe has no handler (httpGet, tcpSocket or exec)"


class Prober:
    """One container's probe of one kind, with its counts and its current result."""

    def __init__(self, kind: str, probe: Mapping, started_at: float,
                 run: Callable[[Mapping], tuple[bool, str]]):
        self.kind, self.probe, self.run = kind, probe, run
        self.period = float(probe.get("periodSeconds") or 10)
        self.success_threshold = int(probe.get("successThreshold") or 1)
        self.failure_threshold = int(probe.get("failureThreshold") or 3)
        self.next_at = started_at + float(probe.get("initialDelaySeconds") or 0)
        self.result = kind == "liveness"     # a live container until shown otherwise; not ready, not started
        self.successes = self.failures = 0
        self.message = ""

    def tick(self, now: float) -> bool | None:
        """Run the probe if it is due. Returns True when the result turns to success, False when
        it turns to failure (for a startup probe: when it has failed ``failureThreshold`` times,
        which kills the container), else None."""
        if now < self.next_at:
            return None
        self.next_at = now + self.period
        ok, why = self.run(self.probe)
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if not self.result and self.successes >= self.success_threshold:
                self.result = True
                return True
            return None
        self.successes, self.failures, self.message = 0, self.failures + 1, why
        if self.failures >= self.failure_threshold and (self.result or self.kind == "startup"):
            self.result = False
            return False
        return None
