"""kube-proxy for one host: a TCP proxy per Service port, spreading connections over ready endpoints.

:class:`Proxy` runs an asyncio loop in a thread. :meth:`Proxy.serve` opens
(or updates) a listener for one service port and gives it the endpoints
to use; each new connection goes to the next endpoint in turn (as IPVS's
round robin does), retrying the next one if a connection is refused.
Changing the endpoints affects new connections only: open ones carry on,
as they do through kube-proxy when an endpoint goes away.

A Service port is served on the same port number on 127.0.0.1 when it can
be bound, else on a free port; :meth:`serve` returns the port used.

:class:`HostProxy` is the kube-proxy of one host (the Ray runtime runs one
as an actor on every machine of the cluster): given every Service port of
the cluster with its endpoints' (host IP, port), it serves them all on the
host's loopback, reaching the endpoints of its own host on 127.0.0.1 and
the others at their host's address.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Sequence

from reconcile.api.model import KObject

__all__ = ["Proxy", "HostProxy", "hosts_of", "service_backends", "service_env"]


class _Listener:
    def __init__(self, backends: Sequence[tuple[str, int]]):
        self.backends = list(backends)
        self.turn = itertools.count()
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self.connections = 0


class Proxy:
    """A host's service proxy; ``host`` is the address services listen on."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.listeners: dict = {}
        self._thread = threading.Thread(target=self.loop.run_forever, name="kube-proxy", daemon=True)
        self._thread.start()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def serve(self, key, port: int, backends: Sequence[tuple[str, int]]) -> int:
        """Listen for service port ``key`` (on ``port`` if free, else any port) and send its
        connections to ``backends``; an existing listener just gets the new backends."""
        return self._call(self._serve(key, port, backends))

    async def _serve(self, key, port: int, backends) -> int:
        listener = self.listeners.get(key)
        if listener is not None:
            listener.backends = list(backends)
            return listener.port
        listener = _Listener(backends)

        async def handle(reader, writer):
            await self._forward(listener, reader, writer)

        for candidate in (port, 0):
            try:
                listener.server = await asyncio.start_server(handle, self.host, candidate)
                break
            except OSError:
                if candidate == 0:
                    raise
        listener.port = listener.server.sockets[0].getsockname()[1]
        self.listeners[key] = listener
        return listener.port

    async def _forward(self, listener: _Listener, reader, writer) -> None:
        listener.connections += 1
        backends = list(listener.backends)
        upstream = None
        start = next(listener.turn)
        for i in range(len(backends)):
            host, port = backends[(start + i) % len(backends)]
            try:
                upstream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=3)
                break
            except (OSError, asyncio.TimeoutError):
                continue
        if upstream is None:            # no endpoint: the connection is closed, as with no endpoints in Kubernetes
            writer.close()
            return
        up_reader, up_writer = upstream

        async def pipe(src, dst):
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    dst.write_eof()
                except (OSError, RuntimeError):
                    dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        writer.close()
        up_writer.close()

    def stop(self, key) -> None:
        """Stop serving one service port."""
        self._call(self._stop(key))

    async def _stop(self, key) -> None:
        listener = self.listeners.pop(key, None)
        if listener is not None and listener.server is not None:
            listener.server.close()

    def keys(self) -> list:
        return list(self.listeners)

    def close(self) -> None:
        """Stop every listener and cut the connections still open; the loop's thread ends."""
        if self.loop.is_closed():
            return
        try:
            self._call(self._close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self.loop.close()

    async def _close(self) -> None:
        for key in list(self.listeners):
            await self._stop(key)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def hosts_of(nodes) -> dict[str, str]:
    """``{host IP: the Ray node that hosts its proxy}`` for alive Ray nodes (``ray.nodes()``
    entries): one per machine, the lowest node id of those sharing its address."""
    hosts: dict[str, str] = {}
    for n in sorted(nodes, key=lambda n: n["NodeID"]):
        hosts.setdefault(n.get("NodeManagerAddress") or "127.0.0.1", n["NodeID"])
    return hosts


class HostProxy:
    """kube-proxy of the host whose address is ``host_ip``: every Service port on its loopback."""

    def __init__(self, host_ip: str, bind: str = "127.0.0.1"):
        self.host_ip = host_ip
        self.proxy = Proxy(bind)

    def ping(self) -> str:
        return self.host_ip

    def sync(self, services: dict) -> dict:
        """Serve exactly ``services`` (``{key: (service port, [(host IP, port), ...])}``); returns
        ``{key: the port it listens on here}``. Endpoints on this host are reached on loopback
        (a pod may listen on 127.0.0.1 only); the others at their host's address."""
        used = {}
        for key, (port, backends) in services.items():
            local = [("127.0.0.1" if ip == self.host_ip else ip, n) for ip, n in backends]
            used[key] = self.proxy.serve(key, int(port), local)
        for key in self.proxy.keys():
            if key not in services:
                self.proxy.stop(key)
        return used

    def close(self) -> None:
        self.proxy.close()


def service_backends(snapshot, endpoints: KObject, port, host_ports: dict) -> list[tuple[str, int]]:
    """(host, port) of each ready endpoint of one service port, in the Endpoints' order."""
    out = []
    name = port.get("name")
    for subset in endpoints.spec.get("subsets") or ():
        ports = subset.get("ports") or ()
        match = next((p for p in ports if p.get("name") == name), None) if name else (ports[0] if ports else None)
        if match is None:
            continue
        number = match["port"]
        for address in subset.get("addresses") or ():
            ref = address.get("targetRef") or {}
            pod = snapshot.get("Pod", ref.get("name"), ref.get("namespace"))
            if pod is None:
                continue
            key = str(number)
            for c in pod.spec.get("containers") or ():
                for cp in c.get("ports") or ():
                    if cp.get("containerPort") == number:
                        key = cp.get("name") or str(number)
            out.append((address.get("ip") or "127.0.0.1", (host_ports.get(pod.metadata.uid) or {}).get(key, number)))
    return out


def service_env(services, ports: dict) -> dict:
    """``{namespace: {NAME_SERVICE_HOST, NAME_SERVICE_PORT, NAME_SERVICE_PORT_PORTNAME: ...}}`` of the
    services (``[(Service, its port keys)]``) served on one host at ``ports`` (``{key: port}``),
    as the kubelet gives a new pod the services of its namespace."""
    env: dict = {}
    for svc, keys in services:
        if not all(k in ports for k in keys):
            continue
        var = svc.name.upper().replace("-", "_")
        ns_env = env.setdefault(svc.metadata.namespace, {})
        ns_env[f"{var}_SERVICE_HOST"] = "127.0.0.1"
        ns_env[f"{var}_SERVICE_PORT"] = str(ports[keys[0]])
        for port, key in zip(svc.spec.get("ports") or (), keys):
            if port.get("name"):
                ns_env[f"{var}_SERVICE_PORT_{port['name'].upper().replace('-', '_')}"] = str(ports[key])
    return env
