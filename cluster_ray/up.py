"""``reconcile up FILE`` and ``reconcile down``: the cluster of a file, run on Ray until Ctrl-C.

``up`` starts (or joins) Ray, brings up the control plane with its durable
store in the data directory, applies the file and shows the cluster live:
a table of nodes, deployments and pods on a terminal, a plain log of the
changes otherwise. Ctrl-C (or SIGTERM) stops every pod, the kubelets, and
the Ray it started. ``--detach`` runs the same in the background (its log
in ``DIR/reconcile.log``); ``down`` stops it. A control plane that dies
(even ``kill -9``) leaves Ray and the pods running: ``up`` again with the
same data directory adopts them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from reconcile.api.errors import StateError, StateInUse
from reconcile.controllers.workloads import is_ready
from reconcile.controllers.job import job_finished
from reconcile.state import datadir
from reconcile.state.durable import DEFAULT_FILE, SqliteBackend

__all__ = ["up", "down", "logs"]

PID_FILE = "reconcile.pid"


class _Signals:
    """Ctrl-C and SIGTERM as a flag that the loops look at between rounds. An exception raised by
    the signal could land inside Ray's own calls, which may swallow it."""

    def __init__(self):
        self.stop = threading.Event()
        self.saved = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old = signal.signal(sig, self._handle)
            self.saved.setdefault(sig, old)

    def _handle(self, signum, frame) -> None:
        self.stop.set()

    def restore(self) -> None:
        for sig, old in self.saved.items():
            signal.signal(sig, old)


class _Output:
    """The live view's output, which a reader that goes away does not break: after a broken pipe
    (``reconcile up ... | tee log`` and Ctrl-C, which ends tee too; ``| head``) the rest is dropped
    and ``stop`` is set, so that the cluster is stopped as after Ctrl-C, not left running."""

    def __init__(self, out, stop: threading.Event):
        self.out, self.stop, self.broken = out, stop, False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.out.write(text)
            except (OSError, ValueError):       # BrokenPipeError, or a closed file
                self._broke()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.out.flush()
            except (OSError, ValueError):
                self._broke()

    def isatty(self) -> bool:
        try:
            return self.out.isatty()
        except (OSError, ValueError):
            return False

    def _broke(self) -> None:
        self.broken = True
        self.stop.set()
        try:                                    # and Python's own flush at exit finds somewhere to write
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.out.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


def _pid(data_dir: str) -> int | None:
    """The pid of the control plane that runs with ``data_dir``: the one its pid file names, if that
    process owns the directory now (holds its lock). A pid left by one that died, maybe reused by
    another process since, is not it."""
    from cluster_ray.local import alive
    try:
        with open(os.path.join(data_dir, PID_FILE)) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    return pid if datadir.owner(data_dir) == pid and alive(pid) else None


def _in_use(data_dir: str, pid: int | None) -> int:
    """Say that ``data_dir`` is taken (by a control plane, or by another process that owns it)."""
    if pid is not None and pid == _pid(data_dir):
        print(f"reconcile: a control plane (pid {pid}) already runs with {data_dir}; "
              f"'reconcile down --state {data_dir}' stops it", file=sys.stderr)
    else:
        print(f"reconcile: the data directory {data_dir} is in use by "
              f"{f'pid {pid}' if pid else 'another process'}; stop it, or use another --state directory",
              file=sys.stderr)
    return 1


def up(manifest, file: str, data_dir: str, address: str | None = None, detach: bool = False,
       num_cpus: int | None = None, period: float = 0.5, out=None, node_grace: float = 10.0,
       eviction_timeout: float = 5.0) -> int:
    out = out or sys.stdout
    if detach:
        running = datadir.owner(data_dir)
        if running is not None:
            return _in_use(data_dir, running)
        return _detach(file, data_dir, address, num_cpus, node_grace, eviction_timeout)
    try:                                # the directory's owner from now on, before Ray starts
        held = datadir.lock(data_dir)
    except StateInUse as e:
        return _in_use(data_dir, e.pid)
    try:
        fd = datadir.private_file(os.path.join(data_dir, PID_FILE), os.O_WRONLY | os.O_TRUNC)
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        try:
            SqliteBackend(os.path.join(data_dir, DEFAULT_FILE)).close()     # a bad state file stops us here
        except StateError as e:
            print(f"reconcile: {e}", file=sys.stderr)
            return 1
        return _up(manifest, file, data_dir, address, num_cpus, period, out, node_grace, eviction_timeout)
    finally:
        try:
            os.unlink(os.path.join(data_dir, PID_FILE))
        except FileNotFoundError:
            pass
        held.release()


def _up(manifest, file: str, data_dir: str, address: str | None, num_cpus: int | None, period: float, out,
        node_grace: float, eviction_timeout: float) -> int:
    from cluster_ray import local
    signals = _Signals()
    signals.install()                   # from the start: a Ctrl-C while Ray starts stops it all too
    out = _Output(out, signals.stop)    # a reader that goes away (`| tee` and Ctrl-C) stops the cluster too
    if address is None and not os.environ.get("RAY_ADDRESS"):
        local.use_token_auth()          # before ray is imported: it reads these once
        local.loopback_only()           # the Ray started here is this machine's only
    from cluster_ray.runtime import RayCluster
    started_ray = False
    if address is None and not os.environ.get("RAY_ADDRESS"):
        started_ray = local.running(data_dir) is None
        print("starting a local Ray..." if started_ray else "joining this cluster's local Ray...", file=out, flush=True)
        address = local.start(data_dir, num_cpus=num_cpus)
    cluster = None
    manifest = resolve_paths(manifest, os.path.dirname(os.path.abspath(file)))
    try:
        cluster = RayCluster(address=address, data_dir=data_dir, period=period, node_grace=node_grace,
                             eviction_timeout=eviction_timeout)
        signals.install()                   # again: joining Ray put handlers of its own there
        if not signals.stop.is_set():
            for action, what in cluster.apply(manifest):
                print(f"{what} {action}", file=out, flush=True)
            _watch(cluster, period, out, signals.stop)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping the cluster...", file=out, flush=True)     # (more signals only set the flag again)
        try:
            if cluster is not None:
                cluster.down()
            if address is not None and local.running(data_dir) is not None \
                    and local.running(data_dir)["address"] == address:
                local.stop(data_dir)
        finally:
            signals.restore()
    print("stopped: no pod is left running", file=out, flush=True)
    return 0


def resolve_paths(manifest, base: str) -> list:
    """The manifest with the local paths of its images' runtime_envs (``working_dir``,
    ``py_modules``) made absolute against ``base``, the directory of the file they came from, as
    a user reads them; URIs (``s3://...``) and absolute paths are kept."""
    import json

    from reconcile.api.model import from_dict

    def fix(path):
        if not isinstance(path, str) or "://" in path or os.path.isabs(path):
            return path
        return os.path.normpath(os.path.join(base, path))

    def fix_containers(containers) -> bool:
        changed = False
        for c in containers or ():
            try:
                env = json.loads(c.get("image") or "")
            except ValueError:
                continue
            if not isinstance(env, dict):
                continue
            new = dict(env)
            if "working_dir" in new:
                new["working_dir"] = fix(new["working_dir"])
            if isinstance(new.get("py_modules"), list):
                new["py_modules"] = [fix(m) for m in new["py_modules"]]
            if new != env:
                c["image"] = json.dumps(new, sort_keys=True, separators=(",", ":"))
                changed = True
        return changed

    out = []
    for obj in manifest:
        d = obj.to_dict()
        spec = d.get("spec") or {}
        pod_spec = spec if obj.kind == "Pod" else ((spec.get("jobTemplate") or {}).get("spec") or spec)
        pod_spec = pod_spec if obj.kind == "Pod" else (pod_spec.get("template") or {}).get("spec") or {}
        changed = fix_containers(pod_spec.get("containers")) | fix_containers(pod_spec.get("initContainers"))
        out.append(from_dict(d) if changed else obj)
    return out


def _detach(file: str, data_dir: str, address: str | None, num_cpus: int | None, node_grace: float,
            eviction_timeout: float) -> int:
    datadir.private_dir(data_dir)
    cmd = [sys.executable, "-m", "reconcile.frontends.cli", "up", file, "--state", data_dir]
    if address:
        cmd += ["--address", address]
    if num_cpus is not None:
        cmd += ["--num-cpus", str(num_cpus)]
    cmd += ["--node-grace", str(node_grace), "--eviction-timeout", str(eviction_timeout)]
    log_path = os.path.join(data_dir, "reconcile.log")
    with os.fdopen(datadir.private_file(log_path, os.O_WRONLY | os.O_APPEND), "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    print(f"running in the background (pid {proc.pid}); log: {log_path}; "
          f"stop it with: reconcile down --state {data_dir}")
    return 0


def down(data_dir: str, timeout: float = 120.0) -> int:
    """Stop the control plane of ``data_dir`` and everything it runs; or, if it died, its pods and Ray."""
    from cluster_ray import local
    pid = _pid(data_dir)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        end = time.monotonic() + timeout
        while _pid(data_dir) is not None and time.monotonic() < end:
            time.sleep(0.2)
        if _pid(data_dir) is not None:
            print(f"reconcile: the control plane (pid {pid}) did not stop within {timeout:g}s", file=sys.stderr)
            return 1
    info = local.running(data_dir)
    if info is not None:            # its control plane died (or never stopped them): pods and Ray still run
        local.use_token_auth()
        local.loopback_only()
        _stop_orphans(info["address"], data_dir)
        local.stop(data_dir)
    if pid is None and info is None:
        print(f"nothing runs for {data_dir}")
    else:
        print(f"stopped the cluster of {data_dir}: no pod is left running")
    return 0


def logs(data_dir: str, pod: str, namespace: str = "default", container: str | None = None,
         tail: int | None = None, follow: bool = False, address: str | None = None, out=None) -> int:
    """``reconcile logs POD``: a pod's container log, read from its actor (``-f`` follows it)."""
    from cluster_ray import local
    out = out or sys.stdout
    db = os.path.join(data_dir, DEFAULT_FILE)
    if not os.path.exists(db):
        print(f"reconcile: no cluster in {data_dir} (no state.db)", file=sys.stderr)
        return 1
    backend = SqliteBackend(db, readonly=True)          # the cluster's control plane owns it: only read
    try:
        found = [o for o in backend.load()[1] if o.kind == "Pod" and o.name == pod and o.metadata.namespace == namespace]
    finally:
        backend.close()
    if not found:
        print(f'reconcile: pods "{pod}" not found in namespace {namespace}', file=sys.stderr)
        return 1
    info = None if address else local.running(data_dir)
    if address is None and info is None and not os.environ.get("RAY_ADDRESS"):
        print(f"reconcile: the cluster of {data_dir} is not running", file=sys.stderr)
        return 1
    if info is not None:
        local.use_token_auth()
        local.loopback_only()
    import ray

    from cluster_ray.kubelet import pod_actor_name
    from cluster_ray.runtime import cluster_namespace, follow_log, join_ray
    signals = _Signals()
    signals.install()                       # before connecting: a Ctrl-C then must not be lost either
    join_ray(address or (info["address"] if info else os.environ["RAY_ADDRESS"]), namespace=cluster_namespace(data_dir),
             log_to_driver=False, configure_logging=False)
    signals.install()                       # again: Ray put handlers of its own there
    try:
        try:
            actor = ray.get_actor(pod_actor_name(found[0].metadata.uid), namespace=cluster_namespace(data_dir))
        except ValueError:
            print(f"reconcile: pod {namespace}/{pod} is not running on a node", file=sys.stderr)
            return 1
        try:
            if follow:
                for line in follow_log(actor, container, tail, stop=signals.stop):
                    out.write(line)
                    out.flush()
            else:
                out.write(ray.get(actor.logs.remote(container, tail)))
        except ray.exceptions.RayTaskError as e:
            print(f"reconcile: {e.cause}", file=sys.stderr)
            return 1
        except ray.exceptions.ActorDiedError:
            print(f"reconcile: pod {namespace}/{pod} has stopped", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
        finally:
            signals.restore()
        return 0
    finally:
        ray.shutdown()


def _stop_orphans(address: str, data_dir: str) -> None:
    import ray

    from cluster_ray.runtime import cluster_namespace
    namespace = cluster_namespace(data_dir)
    ray.init(address=address, namespace=namespace, log_to_driver=False, configure_logging=False)
    try:
        names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if a["namespace"] == namespace]
        kubelets = [ray.get_actor(n, namespace=namespace) for n in names if n.startswith("kubelet-")]
        ray.get([k.shutdown.remote() for k in kubelets], timeout=60)
        for n in names:
            try:
                ray.kill(ray.get_actor(n, namespace=namespace))
            except ValueError:
                pass
    finally:
        ray.shutdown()


# ---------------------------------------------------------------- the live view

def _watch(cluster, period: float, out, stop: threading.Event) -> None:
    """Rounds of the cluster until ``stop`` is set, shown live (a terminal) or as a log of changes."""
    if out.isatty():
        from rich.live import Live
        with Live(_table(cluster), refresh_per_second=4, transient=False) as live:
            while not stop.is_set():
                cluster.step()
                live.update(_table(cluster))
                stop.wait(period)
        return
    last: dict = {}
    while not stop.is_set():
        cluster.step()
        now = _summary(cluster)
        for line in sorted(set(now.items()) - set(last.items())):
            print(f"{time.strftime('%H:%M:%S')} {line[0]}: {line[1]}", file=out, flush=True)
        last = now
        stop.wait(period)




_WORKLOADS = (      # kind, its ready count, its wanted count (spec.replicas or a status field), its updated count
    ("Deployment", "readyReplicas", "replicas", "updatedReplicas"),
    ("StatefulSet", "readyReplicas", "replicas", "updatedReplicas"),
    ("DaemonSet", "numberReady", "desiredNumberScheduled", "updatedNumberScheduled"),
)


def _summary(cluster) -> dict:
    """What the plain log reports: a line per node, deployment and pod, printed when it changes."""
    snap = cluster.store.snapshot()
    lines = {}
    for n in snap.list("Node"):
        lines[f"node {n.name}"] = f"{'Ready' if is_ready(n) else 'NotReady'}, {len(list(snap.pods_on_node(n.name)))} pods"
    for kind, ready, want, updated in _WORKLOADS:      # "3/3 ready, 3 up to date"
        for w in snap.list(kind):
            st = w.status
            line = (f"{st.get(ready, 0)}/{w.spec.get(want, 1) if want == 'replicas' else st.get(want, 0)} ready, "
                    f"{st.get(updated, 0)} up to date")
            if kind == "Deployment":
                line += f", {st.get('availableReplicas', 0)} available"
            lines[f"{kind.lower()} {w.metadata.namespace}/{w.name}"] = line
    for j in snap.list("Job"):
        st = j.status
        done = job_finished(j)
        lines[f"job {j.metadata.namespace}/{j.name}"] = (
            f"{st.get('succeeded', 0)}/{j.spec.get('completions', 1)} succeeded, {st.get('active', 0)} active, "
            f"{st.get('failed', 0)} failed" + (f": {done}" if done else ""))
    for p in snap.list("Pod"):
        lines[f"pod {p.metadata.namespace}/{p.name}"] = (
            f"{_pod_state(p)} on {p.spec.get('nodeName') or '(not scheduled)'}")
    for s in snap.list("Service"):
        ingress = ((s.status.get("loadBalancer") or {}).get("ingress") or [None])[0]
        if ingress:
            lines[f"service {s.metadata.namespace}/{s.name}"] = (
                "serving on " + ", ".join(f"{ingress['ip']}:{p['port']}" for p in ingress.get("ports") or ()))
    return lines


def _pod_state(p) -> str:
    for c in p.status.get("containerStatuses") or ():
        waiting = (c.get("state") or {}).get("waiting")
        if waiting:
            return waiting.get("reason", "Waiting")
    phase = p.status.get("phase", "Pending")
    return f"{phase}{' (ready)' if phase == 'Running' and is_ready(p) else ''}"


_ORDER = ["node", "deployment", "statefulset", "daemonset", "job", "service", "pod"]


def _table(cluster):
    from rich.table import Table
    summary = _summary(cluster)
    t = Table(title=f"reconcile: {cluster.root}", expand=False)
    t.add_column("object")
    t.add_column("state")
    for key in sorted(summary, key=lambda k: (_ORDER.index(k.split()[0]), k)):
        t.add_row(key, summary[key])
    return t
