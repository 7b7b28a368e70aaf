"""kube-proxy without Ray: round robin over endpoints, endpoint changes, and a host's view of
the cluster (its own endpoints on loopback, another host's at that host's address)."""

import socket
import socketserver
import threading

import pytest

from cluster_ray.proxy import HostProxy, Proxy, hosts_of
from cluster_ray.runtime import service_env
from reconcile.api.model import Service


class _Named(socketserver.StreamRequestHandler):
    """Answers each line with the server's name, until the client closes."""

    def handle(self):
        while self.rfile.readline():
            self.wfile.write(self.server.name.encode() + b"\n")


def _server(name, host="127.0.0.1"):
    srv = socketserver.ThreadingTCPServer((host, 0), _Named)
    srv.daemon_threads = True
    srv.name = name
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _ask(port, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"hi\n")
        s.shutdown(socket.SHUT_WR)
        return s.makefile().read().strip()


def _closed_at_once(port):
    """The proxy accepts and closes (or resets) the connection without an answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(b"hi\n")
            return s.recv(100) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def servers():
    made = []

    def make(name, host="127.0.0.1"):
        srv = _server(name, host)
        made.append(srv)
        return srv.server_address[1]

    yield make
    for srv in made:
        srv.shutdown()
        srv.server_close()


def test_connections_go_round_robin_over_the_endpoints(servers):
    proxy = Proxy()
    try:
        port = proxy.serve("web", 0, [("127.0.0.1", servers("a")), ("127.0.0.1", servers("b"))])
        assert [_ask(port) for _ in range(4)] == ["a", "b", "a", "b"]
    finally:
        proxy.close()


def test_a_refused_endpoint_is_skipped_and_no_endpoint_closes_the_connection(servers):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]          # nothing listens there once the socket is closed
    proxy = Proxy()
    try:
        port = proxy.serve("web", 0, [("127.0.0.1", dead), ("127.0.0.1", servers("a"))])
        assert {_ask(port) for _ in range(3)} == {"a"}
        assert proxy.serve("web", 0, []) == port        # same listener, no endpoints now
        assert _closed_at_once(port)
    finally:
        proxy.close()


def test_an_open_connection_outlives_an_endpoint_change(servers):
    proxy = Proxy()
    try:
        a, b = servers("a"), servers("b")
        port = proxy.serve("web", 0, [("127.0.0.1", a)])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as held:
            lines = held.makefile("rw")
            lines.write("1\n"), lines.flush()
            assert lines.readline() == "a\n"               # (the connection has its endpoint)
            assert proxy.serve("web", 0, [("127.0.0.1", b)]) == port
            lines.write("2\n"), lines.flush()
            assert lines.readline() == "a\n"               # the old endpoint still answers it
        assert _ask(port) == "b"                          # new connections take the new one
    finally:
        proxy.close()


def test_hosts_of_gives_one_proxy_node_per_machine():
    nodes = [{"NodeID": "c3", "NodeManagerAddress": "10.0.0.2"}, {"NodeID": "b2", "NodeManagerAddress": "10.0.0.1"},
             {"NodeID": "a1", "NodeManagerAddress": "10.0.0.2"}, {"NodeID": "d4", "NodeManagerAddress": "10.0.0.1"}]
    assert hosts_of(nodes) == {"10.0.0.1": "b2", "10.0.0.2": "a1"}


def test_a_host_reaches_its_own_endpoints_on_loopback_and_another_hosts_at_its_address(servers):
    """Host 10.9.9.9's proxy: an endpoint reported at 10.9.9.9 is on this machine (loopback);
    one at 127.0.0.2 is another host, reached there (Linux answers all of 127/8 locally)."""
    here, there = servers("here"), servers("there", host="127.0.0.2")
    proxy = HostProxy("10.9.9.9")
    try:
        used = proxy.sync({("default", "web", "80"): (0, [("10.9.9.9", here), ("127.0.0.2", there)]),
                           ("default", "db", "5432"): (0, [])})
        port = used[("default", "web", "80")]
        assert sorted(_ask(port) for _ in range(4)) == ["here", "here", "there", "there"]
        assert proxy.ping() == "10.9.9.9"
        used = proxy.sync({("default", "web", "80"): (0, [("127.0.0.2", there)])})
        assert list(used) == [("default", "web", "80")] and used[("default", "web", "80")] == port
        assert list(proxy.proxy.keys()) == [("default", "web", "80")]      # db's listener stopped
        assert {_ask(port) for _ in range(3)} == {"there"}
    finally:
        proxy.close()


def test_service_env_is_the_ports_of_one_host():
    web = Service.new("web-api", "shop", spec={"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 81}]})
    db = Service.new("db", "shop", spec={"ports": [{"port": 5432}]})
    keys = [(web, [("shop", "web-api", "http"), ("shop", "web-api", "admin")]), (db, [("shop", "db", "5432")])]
    host_a = {("shop", "web-api", "http"): 8080, ("shop", "web-api", "admin"): 8081, ("shop", "db", "5432"): 5432}
    host_b = {("shop", "web-api", "http"): 40001, ("shop", "web-api", "admin"): 40002}   # db not served there yet
    assert service_env(keys, host_a) == {"shop": {
        "WEB_API_SERVICE_HOST": "127.0.0.1", "WEB_API_SERVICE_PORT": "8080",
        "WEB_API_SERVICE_PORT_HTTP": "8080", "WEB_API_SERVICE_PORT_ADMIN": "8081",
        "DB_SERVICE_HOST": "127.0.0.1", "DB_SERVICE_PORT": "5432"}}
    assert service_env(keys, host_b) == {"shop": {
        "WEB_API_SERVICE_HOST": "127.0.0.1", "WEB_API_SERVICE_PORT": "40001",
        "WEB_API_SERVICE_PORT_HTTP": "40001", "WEB_API_SERVICE_PORT_ADMIN": "40002"}}
