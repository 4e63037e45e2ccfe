"""Network namespaces a test makes and removes: "hosts" joined by veth pairs, "pods" on a host's
bridge, and tiny TCP servers and clients inside them, so that real kernel routes and nftables
rules are tested without touching the host's own network.

Every name a ``Lab`` creates starts with its own random prefix, and ``close`` deletes every
namespace it made (their veths, bridges, routes and nftables tables go with them), also after
a failed test. Commands run through ``ip netns exec NS``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from dataclasses import dataclass, field

from tests.support.netns import SESSION_TAG

# Answers every connection with its name and closes it; prints "listening" once bound.
_SERVER = textwrap.dedent("""
    import socket, sys
    name, port = sys.argv[1], int(sys.argv[2])
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(64); print("listening", flush=True)
    while True:
        c, _ = s.accept(); c.sendall(name.encode()); c.close()
""")
_CLIENT = textwrap.dedent("""
    import socket, sys
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for _ in range(count):
        try:
            with socket.create_connection((host, port), timeout=2) as c:
                print(c.recv(100).decode() or "-", flush=True)
        except OSError as err:
            print(f"error:{type(err).__name__}", flush=True)
""")


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


@dataclass
class Lab:
    prefix: str = field(default_factory=lambda: f"al{SESSION_TAG}{uuid.uuid4().hex[:4]}")
    namespaces: list[str] = field(default_factory=list)
    servers: list[subprocess.Popen[str]] = field(default_factory=list)

    def netns(self, role: str) -> str:
        """A new namespace with loopback up; its name is prefix-role."""
        name = f"{self.prefix}-{role}"
        run("ip", "netns", "add", name)
        self.namespaces.append(name)
        self.ip(name, "link", "set", "lo", "up")
        return name

    def ip(self, ns: str, *args: str) -> str:
        return self.exec(ns, "ip", *args)

    def exec(self, ns: str, *argv: str, check: bool = True) -> str:
        return run("ip", "netns", "exec", ns, *argv, check=check).stdout

    def link(self, a: str, a_address: str, b: str, b_address: str) -> None:
        """A veth pair between namespaces ``a`` and ``b`` with an address (CIDR form) on each end."""
        left, right = f"v{uuid.uuid4().hex[:8]}", f"v{uuid.uuid4().hex[:8]}"
        self.ip(a, "link", "add", left, "type", "veth", "peer", "name", right, "netns", b)
        for ns, dev, address in ((a, left, a_address), (b, right, b_address)):
            self.ip(ns, "addr", "add", address, "dev", dev)
            self.ip(ns, "link", "set", dev, "up")

    def bridge(self, host: str, gateway: str, name: str = "cni0") -> None:
        """A bridge in ``host`` holding the gateway address (CIDR form) of its pods; forwarding on."""
        self.ip(host, "link", "add", name, "type", "bridge")
        self.ip(host, "addr", "add", gateway, "dev", name)
        self.ip(host, "link", "set", name, "up")
        self.exec(host, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def pod(self, host: str, role: str, address: str, gateway: str, bridge: str = "cni0") -> str:
        """A pod namespace on ``host``'s bridge with ``address`` (CIDR form) and a default route via ``gateway``."""
        pod = self.netns(role)
        inside, outside = "eth0", f"v{uuid.uuid4().hex[:8]}"
        self.ip(pod, "link", "add", inside, "type", "veth", "peer", "name", outside, "netns", host)
        self.ip(pod, "addr", "add", address, "dev", inside)
        self.ip(pod, "link", "set", inside, "up")
        self.ip(pod, "route", "add", "default", "via", gateway)
        self.ip(host, "link", "set", outside, "master", bridge)
        self.ip(host, "link", "set", outside, "up")
        return pod

    def serve(self, ns: str, name: str, port: int) -> None:
        """A TCP server in ``ns`` answering every connection on ``port`` with ``name``."""
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", _SERVER, name, str(port)],
                                  stdout=subprocess.PIPE, text=True)
        self.servers.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"

    def connect(self, ns: str, host: str, port: int, count: int = 1) -> list[str]:
        """What ``count`` connections from ``ns`` to host:port answered (``error:NAME`` for a failure)."""
        return self.exec(ns, sys.executable, "-c", _CLIENT, host, str(port), str(count)).split()

    def close(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False)
        self.namespaces.clear()


def leftover_namespaces(prefix: str) -> list[str]:
    """Namespaces whose name starts with ``prefix`` (a test checks it removed its own)."""
    return [line.split()[0] for line in run("ip", "netns", "list").stdout.splitlines() if line.startswith(prefix)]
