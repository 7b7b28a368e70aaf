"""The control plane on Ray: the real store, engine and controllers, with Ray actors as the nodes.

:class:`RayCluster` is a :class:`~reconcile.controlplane.ControlPlane`, as
:class:`reconcile.sim.SimCluster` is: the same store, engine, controllers and
scheduler, with the same ``apply``, ``get``, ``list``, ``scale`` and
``events``; but time is the wall clock, and a node is a
:class:`cluster_ray.kubelet.Kubelet` actor on a Ray node whose pods are real
processes.

- Every alive Ray node is a Node (``ray-`` and the start of its node id),
  with Ray's CPU and memory as capacity; Nodes of the manifest (``nodes
  worker x3``) are virtual nodes, spread round-robin over the Ray nodes.
- Each :meth:`step` runs the engine, then syncs every kubelet: the pods
  bound to its node go to it, its reports come back as pod statuses, and a
  kubelet that answers renews its node's Lease. A kubelet that does not
  answer lets the Lease expire; the node lifecycle controller then marks
  the node and evicts its pods, which their owners make again elsewhere.
- Every machine of the Ray cluster runs a kube-proxy (a
  :class:`cluster_ray.proxy.HostProxy` actor, ``kube-proxy-IP``) that serves
  every Service port on its loopback; its pods find the services there
  (``NAME_SERVICE_HOST=127.0.0.1`` and that host's port).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from reconcile.api.conditions import set_condition
from reconcile.controllers.nodelifecycle import LEASE_NAMESPACE
from reconcile.controlplane import ClusterError, ControlPlane
from reconcile.scheduler.rule import scheduler_key
from reconcile.api.model import KObject, Lease, Node, freeze
from reconcile.api.validation import validate_label_key, validate_label_value

from cluster_ray.kubelet import Kubelet, kubelet_name, pod_actor_name, pod_status, thaw_pod
from cluster_ray.proxy import HostProxy, hosts_of, service_backends, service_env

__all__ = ["RayCluster", "RAY_NODE", "cluster_namespace"]

RAY_NODE = "ray.reconcile.dev/node-id"        # annotation: the Ray node a (virtual) node runs on
JOIN_PERIOD = 5.0                              # seconds between looks for Ray nodes that joined
PACKAGE_TTL = 300.0                            # seconds an uploaded package is reused (Ray keeps it 10 min)
CLIENT_ATTEMPTS = 3                            # tries of a Ray Client connection whose server did not start
_QUIET = logging.getLogger("reconcile.packaging")
_LOG = logging.getLogger("reconcile.ray")


def cluster_namespace(data_dir: str) -> str:
    """The Ray namespace of the cluster kept in ``data_dir`` (the same after a restart)."""
    return "reconcile-" + hashlib.blake2b(os.path.abspath(data_dir).encode(), digest_size=4).hexdigest()


def join_ray(address: str, attempts: int = CLIENT_ATTEMPTS, pause: float = 2.0, **kwargs):
    """``ray.init(address=address)``. A Ray Client address (``ray://``) is tried again when the
    client server answers that it could not start this client's own server ("Initialization failure
    from server": Ray Client's proxy starts one server process per client, and a loaded head can
    lose it); Ray has already closed the failed connection. Any other error is raised at once."""
    for attempt in range(1, attempts + 1):
        try:
            return ray.init(address=address, **kwargs)
        except ConnectionAbortedError as e:
            if not address.startswith("ray://") or attempt == attempts:
                raise
            _LOG.warning("Ray Client at %s could not start a server for this client (attempt %d of %d), "
                         "trying again: %s", address, attempt, attempts, str(e).strip().splitlines()[-1])
            time.sleep(pause)


class RayCluster(ControlPlane):
    """A cluster whose nodes are Ray actors: a :class:`~reconcile.controlplane.ControlPlane` with Ray
    kubelets and the wall clock. ``address=None`` starts a local Ray (or joins the one
    ``RAY_ADDRESS`` names); ``data_dir=None`` keeps the store in memory."""

    has_logs = True

    def __init__(self, address: str | None = None, data_dir: str | None = None, *, node_grace: float = 10.0,
                 eviction_timeout: float = 5.0, period: float = 0.5, num_cpus: int | None = None,
                 namespace: str | None = None):
        self.data_dir = data_dir
        self.root = data_dir or tempfile.mkdtemp(prefix="reconcile-")
        self.namespace = namespace or cluster_namespace(self.root)
        self.period = period
        backend = None
        if data_dir is not None:
            from reconcile.state.durable import SqliteBackend
            backend = SqliteBackend(os.path.join(data_dir, "state.db"))
        super().__init__(time.time, backend=backend, uid_seed=random.getrandbits(62), node_grace=node_grace,
                         eviction_timeout=eviction_timeout)   # (each rule is queued for every object stored)
        self.engine.enqueue("scheduler", scheduler_key())
        self.address = address
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._joined_ray = False        # whether ray.init was this cluster's (down() undoes it)
        if not ray.is_initialized():
            kwargs = dict(namespace=self.namespace, log_to_driver=False, configure_logging=False)
            if address or os.environ.get("RAY_ADDRESS"):
                join_ray(address or os.environ["RAY_ADDRESS"], **kwargs)
            else:
                ray.init(num_cpus=num_cpus, include_dashboard=False, **kwargs)
            self._joined_ray = True
        self.kubelets: dict = {}
        self._host_ip = ray.util.get_node_ip_address()
        self._hosts: dict = {}          # host IP -> the Ray node its kube-proxy runs on
        self._ray_ips: dict = {}        # Ray node id -> its host IP
        self.proxies: dict = {}         # host IP -> its kube-proxy (an actor; in process for a host without Ray)
        self._proxy_sent: dict = {}     # host IP -> (the services it was last given, the ports it answered, when)
        self._proxy_calls: dict = {}    # host IP -> (the services, its sync call not yet answered)
        self._ports: dict = {}          # pod uid -> {port name or number: the host port it got}
        self._service_env: dict = {}    # host IP -> namespace -> the services' environment variables
        self._syncing: dict = {}        # node -> the kubelet's sync call not yet answered
        self._packages: dict = {}       # image -> (when, the image with its local paths uploaded)
        self._ray_nodes: list[str] = []
        self._join_ray_nodes()
        self._sync_kubelets()       # a restarted control plane hears its kubelets before judging their nodes

    # -- nodes
    def _join_ray_nodes(self) -> None:
        self._next_join = time.monotonic() + JOIN_PERIOD
        alive = [n for n in ray.nodes() if n.get("Alive")]
        self._ray_nodes = sorted(n["NodeID"] for n in alive)
        self._ray_ips = {n["NodeID"]: n.get("NodeManagerAddress") or "127.0.0.1" for n in alive}
        self._hosts = hosts_of(alive)
        with self.store.batch():
            for n in alive:
                name = "ray-" + n["NodeID"][:8]
                if self.store.snapshot().get("Node", name, None) is not None:
                    continue
                res = n.get("Resources") or {}
                cap = {"cpu": str(int(res.get("CPU", 1))), "memory": str(int(res.get("memory", 2 ** 30))),
                       "pods": "110"}
                labels = {"kubernetes.io/hostname": name, "ray.io/node-id": n["NodeID"]}
                labels.update({k: str(v) for k, v in (n.get("Labels") or {}).items()
                               if not validate_label_key(k) and not validate_label_value(str(v))})
                self.store.create(Node.new(name, labels=labels, annotations={RAY_NODE: n["NodeID"]},
                                           status={"capacity": cap, "allocatable": cap,
                                                   "addresses": [{"type": "InternalIP",
                                                                  "address": n.get("NodeManagerAddress", "")}]}))

    def _kubelet(self, node: KObject):
        handle = self.kubelets.get(node.name)
        if handle is None:
            ray_node = node.metadata.annotations.get(RAY_NODE)
            handle = ray.remote(Kubelet).options(
                name=kubelet_name(node.name), namespace=self.namespace, lifetime="detached", get_if_exists=True,
                num_cpus=0, max_concurrency=4,      # pings answered while a sync works (one sync at a time)
                scheduling_strategy=NodeAffinitySchedulingStrategy(ray_node, soft=False),
            ).remote(node.name, ray_node, self.namespace, self.root)
            self.kubelets[node.name] = handle
        return handle

    # -- the API of the cluster (ControlPlane's, with Ray's nodes and rounds)
    def describe(self, brief: bool = False) -> str:
        if brief:
            return f"Ray ({'a local Ray' if self.address is None else self.address})"
        where = "a local Ray" if self.address is None else f"the Ray cluster at {self.address}"
        return f"{where}: nodes {', '.join(n.name for n in self.list('Node'))}"

    def _prepare_nodes(self, objects: list[KObject]) -> list[KObject]:
        """A new Node of the manifest (a virtual node) runs on a Ray node, spread round-robin."""
        out, spread = [], 0
        for obj in objects:
            if obj.kind == "Node" and self.store.snapshot().get("Node", obj.name, None) is None:
                ray_node = self._ray_nodes[spread % len(self._ray_nodes)]
                spread += 1
                obj = obj.set(metadata=obj.metadata.set(annotations=obj.metadata.annotations.set(RAY_NODE, ray_node)))
                if not obj.status.get("allocatable"):
                    cap = obj.status.get("capacity") or freeze({"cpu": "4", "memory": "8Gi", "pods": "110"})
                    obj = obj.set(status=obj.status.update({"capacity": cap, "allocatable": cap}))
            out.append(obj)
        return out

    def _changed(self) -> None:
        """After a client's write: the controllers' fixpoint, and the kubelets given their pods at once."""
        self.engine.run()
        self._sync_kubelets()
        self._notify()

    def logs(self, name: str, namespace: str = "default", container: str | None = None,
             tail: int | None = None) -> str:
        """A pod's container log (``kubectl logs``): its first container unless one is named."""
        return ray.get(self._pod_actor(name, namespace).logs.remote(container, tail))

    def follow(self, name: str, namespace: str = "default", container: str | None = None,
               tail: int | None = 10, poll: float = 0.2):
        """``kubectl logs -f``: the last ``tail`` lines, then each new line as it is written
        (an endless iterator; stop reading it to stop)."""
        return follow_log(self._pod_actor(name, namespace), container, tail, poll)

    def _pod_actor(self, name: str, namespace: str):
        pod = self.store.get("Pod", name, namespace)
        try:
            return ray.get_actor(pod_actor_name(pod.metadata.uid), namespace=self.namespace)
        except ValueError:
            raise ClusterError(f"pod {namespace}/{name} is not running on a node yet") from None

    # -- running
    def step(self) -> None:
        """One round: every kubelet synced and its reports written, the controllers to their
        fixpoint, the services' proxies updated (and, every few seconds, Ray nodes that joined
        made Nodes)."""
        with self.lock:
            if time.monotonic() >= self._next_join:
                self._join_ray_nodes()
            self._sync_kubelets()
            self.engine.run()
            self._sync_services()
        self._notify()

    def _sync_kubelets(self) -> None:
        """Each kubelet is pinged every round (an answer renews its node's Lease, as the kubelet's
        heartbeat does, apart from its pod work) and given the node's pods unless it is still busy
        with the last ones (starting pods whose runtime_env is being built can take minutes)."""
        snapshot = self.store.snapshot()
        pings, syncs = {}, {}
        for node in snapshot.list("Node"):
            if RAY_NODE not in node.metadata.annotations:
                continue
            kubelet = self._kubelet(node)
            pings[node.name] = kubelet.ping.remote()
            busy = self._syncing.get(node.name)
            if busy is not None and not ray.wait([busy], timeout=0)[0]:
                continue
            pods = [self._packaged(thaw_pod(p)) for p in snapshot.pods_on_node(node.name)]
            env = self._service_env.get(self._ray_ips.get(node.metadata.annotations[RAY_NODE]), {})
            self._syncing[node.name] = kubelet.sync.remote(pods, env)
            syncs[node.name] = self._syncing[node.name]
        refs = list(pings.values()) + list(syncs.values())
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=max(2.0, self.period * 4))
        now = time.time()
        with self.store.batch():
            for name, ref in pings.items():
                try:
                    ray.get(ref, timeout=0)
                except ray.exceptions.GetTimeoutError:
                    continue                        # no answer this round: its lease is not renewed
                except ray.exceptions.RayError:
                    self.kubelets.pop(name, None)   # dead: made again next round; meanwhile its lease runs out
                    self._syncing.pop(name, None)
                    continue
                self._heartbeat(name, now)
            for name, ref in list(self._syncing.items()):
                if not ray.wait([ref], timeout=0)[0]:
                    continue
                del self._syncing[name]
                try:
                    reports = ray.get(ref)
                except ray.exceptions.RayError as e:
                    self.record_event("Warning", "KubeletSyncFailed", str(e)[-500:], ("Node", None, name))
                    continue
                self._report(name, reports, now)

    def _packaged(self, pod: dict) -> dict:
        """The pod with its images' local directories (``working_dir``, ``py_modules``) uploaded to
        Ray and named by their package URIs, as ``ray job submit`` does: an actor's runtime_env may
        not name local paths, and a kubelet on another machine could not read them anyway."""
        for c in pod["spec"].get("containers") or ():
            image = c.get("image")
            if image and ("working_dir" in image or "py_modules" in image):
                c["image"] = self._package(image)
        return pod

    def _package(self, image: str) -> str:
        hit = self._packages.get(image)
        if hit is not None and time.monotonic() - hit[0] < PACKAGE_TTL:
            return hit[1]
        try:
            env = json.loads(image)
        except ValueError:
            return image
        if not isinstance(env, dict):
            return image
        from ray._private.runtime_env.py_modules import upload_py_modules_if_needed
        from ray._private.runtime_env.working_dir import upload_working_dir_if_needed
        try:
            env = upload_working_dir_if_needed(dict(env), include_gitignore=True, logger=_QUIET)
            env = upload_py_modules_if_needed(env, include_gitignore=True, logger=_QUIET)
        except (OSError, ValueError) as e:     # a path that is not there: the kubelet reports Ray's refusal
            self.record_event("Warning", "Failed", f"image {image}: {e}"[:500])
            return image
        packaged = json.dumps(env, sort_keys=True, separators=(",", ":"))
        self._packages[image] = (time.monotonic(), packaged)
        return packaged

    def run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            t = time.monotonic()
            self.step()
            if time.monotonic() >= end:
                return
            time.sleep(max(0.0, min(self.period - (time.monotonic() - t), end - time.monotonic())))

    def wait_until(self, predicate, timeout: float = 60.0, what: str = "the condition") -> None:
        """Return once ``predicate(cluster)`` holds, as the rounds go by (run here, unless
        :meth:`start` runs them in a thread); ``TimeoutError`` after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            background = self._loop is not None
            if not background:
                self.step()
            if predicate(self):
                return
            if time.monotonic() > end:
                raise TimeoutError(f"{what} did not hold within {timeout:g}s")
            time.sleep(0.25 if background else self.period)

    def start(self) -> None:
        """Run the rounds in a thread, every ``period`` seconds, until :meth:`close`; a round that
        fails is an event, and the next one tries again."""
        if self._loop is not None:
            return
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._run_loop, name="reconcile-control-plane", daemon=True)
        self._loop.start()

    def _run_loop(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.step()
            except Exception as e:          # a round that failed: the next one tries again
                self.record_event("Warning", "ControlPlaneRound", repr(e)[:500])

    def close(self) -> None:
        """Stop the rounds' thread, then :meth:`down`."""
        if self._loop is not None:
            self._stop.set()
            self._loop.join(timeout=30)
            self._loop = None
        with self.lock:
            self.down()

    def _heartbeat(self, node_name: str, now: float) -> None:
        store = self.store
        lease = store.snapshot().get("Lease", node_name, LEASE_NAMESPACE)
        if lease is None:
            store.create(Lease.new(node_name, LEASE_NAMESPACE, spec={
                "holderIdentity": node_name, "leaseDurationSeconds": 40, "renewTime": now}))
        else:
            store.update(lease.set(spec=lease.spec.set("renewTime", now)))
        node = store.snapshot().get("Node", node_name, None)
        ready = next((c for c in node.status.get("conditions") or () if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            conds = set_condition(node.status.get("conditions"), "Ready", "True", now, "KubeletReady",
                                  "kubelet is posting ready status")
            store.update_status(node.set(status=node.status.set("conditions", conds)))

    def _report(self, node_name: str, reports: dict, now: float) -> None:
        snapshot = self.store.snapshot()
        for pod in snapshot.pods_on_node(node_name):
            report = reports.get(pod.metadata.uid)
            if report is None or pod.metadata.deletionTimestamp is not None:
                continue
            if report.get("ports") is not None:
                self._ports[pod.metadata.uid] = report["ports"]
            for type_, reason, message in report.get("events") or ():
                self.record_event(type_, reason, message, pod.key)
            status = pod_status(pod, report, now)
            if status != pod.status:
                self.store.update_status(pod.set(status=status))

    # -- services (kube-proxy)
    def _sync_services(self) -> None:
        """Every Service port served by each host's kube-proxy over its ready endpoints; the ports
        a host listens on go to the environment of that host's new pods, and this host's to the
        Service's status (as a load balancer's ingress)."""
        snapshot = self.store.snapshot()
        live = {p.metadata.uid for p in snapshot.list("Pod")}
        self._ports = {uid: ports for uid, ports in self._ports.items() if uid in live}
        plan, services = {}, []
        for svc in snapshot.list("Service"):
            ep = snapshot.get("Endpoints", svc.name, svc.metadata.namespace)
            keys = []
            for port in svc.spec.get("ports") or ():
                key = (svc.metadata.namespace, svc.name, port.get("name") or str(port.get("port")))
                plan[key] = (int(port.get("port")), service_backends(snapshot, ep, port, self._ports)
                             if ep is not None else [])
                keys.append(key)
            if keys:
                services.append((svc, keys))
        used = self._serve(plan)
        self._service_env = {host: service_env(services, ports) for host, ports in used.items()}
        here = used.get(self._host_ip, {})
        with self.store.batch():
            for svc, keys in services:
                if not all(k in here for k in keys):
                    continue
                ingress = freeze({"ingress": [{"ip": "127.0.0.1",
                                               "ports": [{"port": here[k], "protocol": "TCP"} for k in keys]}]})
                if svc.status.get("loadBalancer") != ingress:
                    self.store.update_status(svc.set(status=svc.status.set("loadBalancer", ingress)))

    def _serve(self, plan: dict) -> dict:
        """Give every host's kube-proxy the services when they changed (and every few seconds,
        so a proxy made anew gets them); returns ``{host IP: {service key: port}}`` as the
        proxies last answered. A proxy still starting is not waited for."""
        hosts = dict(self._hosts)
        if self._host_ip not in hosts:          # a control plane off the Ray machines serves its own host too
            hosts[self._host_ip] = None
        now = time.monotonic()
        for ip, ray_node in hosts.items():
            proxy = self._proxy(ip, ray_node)
            sent = self._proxy_sent.get(ip)
            if ip in self._proxy_calls or (sent is not None and sent[0] == plan and now - sent[2] < JOIN_PERIOD):
                continue
            if ray_node is None:
                self._proxy_sent[ip] = (plan, proxy.sync(plan), now)
            else:
                self._proxy_calls[ip] = (plan, proxy.sync.remote(plan))
        known = [ref for ip, (_, ref) in self._proxy_calls.items() if ip in self._proxy_sent]
        if known:                               # (an endpoint that went away leaves the proxies this round)
            ray.wait(known, num_returns=len(known), timeout=1.0)
        for ip, (sent_plan, ref) in list(self._proxy_calls.items()):
            if not ray.wait([ref], timeout=0)[0]:
                continue
            del self._proxy_calls[ip]
            try:
                self._proxy_sent[ip] = (sent_plan, ray.get(ref), now)
            except ray.exceptions.RayError as e:
                self.proxies.pop(ip, None)      # its node died: made again on a node of that host
                self._proxy_sent.pop(ip, None)
                self.record_event("Warning", "KubeProxyFailed", str(e)[-500:])
        for ip in [ip for ip in self.proxies if ip not in hosts]:
            self._drop_proxy(ip)
        return {ip: sent[1] for ip, sent in self._proxy_sent.items()}

    def _proxy(self, ip: str, ray_node: str | None):
        proxy = self.proxies.get(ip)
        if proxy is None:
            if ray_node is None:
                proxy = HostProxy(ip)
            else:
                proxy = ray.remote(HostProxy).options(
                    name=f"kube-proxy-{ip}", namespace=self.namespace, lifetime="detached", get_if_exists=True,
                    num_cpus=0, max_restarts=0,
                    scheduling_strategy=NodeAffinitySchedulingStrategy(ray_node, soft=False),
                ).remote(ip)
            self.proxies[ip] = proxy
        return proxy

    def _drop_proxy(self, ip: str) -> None:
        proxy = self.proxies.pop(ip)
        self._proxy_sent.pop(ip, None)
        self._proxy_calls.pop(ip, None)
        if isinstance(proxy, HostProxy):
            proxy.close()
        else:
            ray.kill(proxy)

    def service_address(self, name: str, namespace: str = "default", port: str | int | None = None) -> tuple[str, int]:
        """Where a Service answers on this host: (address, port), its first port unless one is named."""
        svc = self.store.get("Service", name, namespace)
        ports = list(svc.spec.get("ports") or ())
        i = 0 if port is None else next(k for k, p in enumerate(ports) if port in (p.get("name"), p.get("port")))
        lb = (svc.status.get("loadBalancer") or {}).get("ingress") or ()
        if not lb:
            raise RuntimeError(f"service {namespace}/{name} is not served yet")
        return lb[0]["ip"], lb[0]["ports"][i]["port"]

    # -- the end
    def down(self, grace: float | None = None) -> None:
        """Stop every pod, kubelet and kube-proxy; leave Ray if this cluster joined it (a local Ray
        it started stops with it)."""
        refs = [k.shutdown.remote(grace) for k in self.kubelets.values()]
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=(grace or 30) + 15)
        for k in self.kubelets.values():
            ray.kill(k)
        self.kubelets.clear()
        for ip in list(self.proxies):
            self._drop_proxy(ip)
        ControlPlane.close(self)
        if self._joined_ray:
            ray.shutdown()
            self._joined_ray = False


def follow_log(actor, container: str | None, tail: int | None, poll: float = 0.2, stop=None):
    """Lines of a pod actor's container log: the last ``tail`` ones, then the new ones as they come,
    until ``stop`` (a ``threading.Event``) is set."""
    text, offset = ray.get(actor.read_log.remote(container, 0))
    lines = text.splitlines(keepends=True)
    yield from (lines if tail is None else lines[-tail:] if tail > 0 else [])
    stop = stop or threading.Event()
    while not stop.is_set():
        text, offset = ray.get(actor.read_log.remote(container, offset))
        if text:
            yield from text.splitlines(keepends=True)
        else:
            stop.wait(poll)
