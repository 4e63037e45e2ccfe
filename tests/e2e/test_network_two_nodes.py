"""The networking proof, end to end: two real node agents on one machine (``atoll-agent --real
--node-name`` twice), each in a network namespace of its own, joined by a veth (one L2 segment,
as two hosts on one switch); ``atoll up`` (mutual TLS) in node A's namespace. Through the CLI:

- the containers of one pod talk on localhost;
- a pod on node A reaches a pod and a real QEMU VM on node B by IP (host-gw routes, ``proto 212``);
- one Service selects a pod on each node and the VM (VMs and containers on one network, behind
  one virtual IP): the VM is in its Endpoints, and a client pod on node A reaches every backend
  through the cluster IP over a series of connections (node A's nftables table: DNAT across
  nodes, masquerade on its bridge);
- kill -9 and a restart of agent A leave exactly the same rules, routes, links and addresses;
- deleting a backend, the pod and then the VM, takes it out of the Endpoints and node A's rules
  within 1 s.

Needs root, runc, QEMU, busybox-static, the CNI plugins, nftables, iproute2 (util-linux's
nsenter) and the test guest (tests/e2e/artifacts.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from atoll.images import ImageStore, default_image_dir
from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE, BUSYBOX_IMAGE
from tests.e2e.network_lab import Lab
from tests.support.atoll_cli import run_atoll
from tests.support.eventually import until
from tests.support.system import require_binary
from tests.support.up_process import UpProcess, start_up

REPO = Path(__file__).resolve().parents[2]
SEGMENT = {"node-a": "192.168.60.1", "node-b": "192.168.60.2"}
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
CNI_BIN_DIR = Path("/usr/lib/cni")


def enter(netns: str) -> tuple[str, ...]:
    """The command prefix that runs a process in network namespace ``netns`` (and nothing else)."""
    return ("nsenter", f"--net=/run/netns/{netns}", "--")


@dataclass
class Cluster:
    lab: Lab
    tmp: Path
    up: UpProcess
    namespaces: dict[str, str]
    agents: dict[str, subprocess.Popen[bytes]]
    vm_dirs: tuple[Path, ...] = ()  # where the VM's kernel and initramfs are (--vm-image-dir)

    @property
    def pki(self) -> Path:
        return self.tmp / "data" / "pki"

    def atoll(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """The ``atoll`` CLI as admin, from node A's namespace (where the API server listens)."""
        done = run_atoll(
            [*args, "--server", self.up.address, "--ca", str(self.pki / "ca.pem"),
             "--cert", str(self.pki / "admin.pem"), "--key", str(self.pki / "admin-key.pem")],
            prefix=enter(self.namespaces["node-a"]), stdin=stdin, cwd=str(REPO), default=120)
        if check and done.returncode != 0:
            raise AssertionError(f"atoll {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def get(self, kind: str, name: str) -> dict[str, Any]:
        """The object as JSON; {} while it does not exist."""
        return dict(json.loads(self.atoll("get", kind, name, "-o", "json", check=False) or "{}"))

    def start_agent(self, node: str) -> None:
        state = self.tmp / node
        # nsenter enters only the network namespace; `ip netns exec` would also remount /sys, hiding
        # the cgroup filesystem runc needs.
        args = [*enter(self.namespaces[node]), sys.executable, "-m", "agent.main",
                "--server", self.up.address, "--ca", str(self.pki / "ca.pem"),
                "--cert", str(self.pki / "nodes" / f"{node}.pem"), "--key", str(self.pki / "nodes" / f"{node}-key.pem"),
                "--node-name", node, "--real", "--state-dir", str(state), "--lease-interval", "2",
                "--logs-listen", f"{SEGMENT[node]}:0", "--metrics-listen", "", "--log-level", "INFO",
                *(arg for directory in self.vm_dirs for arg in ("--vm-image-dir", str(directory)))]
        log = (self.tmp / f"{node}.log").open("ab")
        self.agents[node] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                             env={**os.environ, "PYTHONPATH": str(REPO)})

    def kill_agent(self, node: str, signum: int = signal.SIGKILL) -> None:
        agent = self.agents.pop(node)
        agent.send_signal(signum)
        agent.wait(timeout=30)

    def in_node(self, node: str, *argv: str, check: bool = True) -> str:
        return self.lab.exec(self.namespaces[node], *argv, check=check)

    def kernel_state(self, node: str) -> dict[str, str]:
        """What the agent programs and the pod network made, as the kernel lists it."""
        return {
            "rules": self.in_node(node, "nft", "list", "table", "ip", "atoll"),
            "routes": self.in_node(node, "ip", "route", "show", "proto", "212"),
            "links": "\n".join(sorted(line.split("@")[0] for line in
                                      self.in_node(node, "ip", "-o", "-br", "link").splitlines())),
            "addresses": self.in_node(node, "ip", "-o", "-br", "-4", "addr"),
        }


def _prerequisites() -> None:
    if os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("two real nodes need root", pytrace=False)
        pytest.skip("two real nodes need root")
    for binary, package in (("runc", "runc"), ("qemu-system-x86_64", "qemu-system-x86"), ("nft", "nftables"),
                            ("ip", "iproute2"), ("nsenter", "util-linux")):
        require_binary(binary, package)
    if not (CNI_BIN_DIR / "bridge").exists():
        require_binary("cni-bridge-plugin-in-usr-lib-cni", "containernetworking-plugins")


@pytest.fixture
def two_nodes(tmp_path: Path, busybox: Path, kernel: artifacts.Kernel, initramfs: Path) -> Iterator[Cluster]:
    _prerequisites()
    lab = Lab()
    up: UpProcess | None = None
    cluster: Cluster | None = None
    try:
        namespaces = {node: lab.netns(node) for node in SEGMENT}
        lab.link(namespaces["node-a"], f"{SEGMENT['node-a']}/24", namespaces["node-b"], f"{SEGMENT['node-b']}/24")
        rootfs = artifacts.busybox_rootfs(tmp_path / "rootfs", busybox)
        for node in SEGMENT:
            ImageStore(default_image_dir(tmp_path / node)).import_path(rootfs, BUSYBOX_IMAGE)
        up = start_up(tmp_path / "data", "--sim-nodes", "0", "--san", SEGMENT["node-a"], "--cluster-cidr", CLUSTER_CIDR,
                      "--service-cidr", SERVICE_CIDR, secure=True, listen=f"{SEGMENT['node-a']}:0",
                      prefix=enter(namespaces["node-a"]), timeout=60)
        cluster = Cluster(lab, tmp_path, up, namespaces, {}, (kernel.image.parent, initramfs.parent))
        for node in SEGMENT:
            subprocess.run([sys.executable, "-m", "allinone", "certs", "node", node, "--dir", str(cluster.pki)],
                           check=True, capture_output=True, cwd=REPO)
            cluster.start_agent(node)
        yield cluster
    finally:
        if cluster is not None:
            with contextlib.suppress(Exception):  # one command: their grace periods run at once
                cluster.atoll("delete", "vm/vm-b", *(f"pod/{pod}" for pod in ("duo", "web-a", "web-b", "direct",
                                                                               "through-service")),
                              "--wait", "--ignore-not-found", "--timeout", "90", check=False)
            for node in list(cluster.agents):
                cluster.kill_agent(node, signal.SIGTERM)
        if up is not None:
            up.kill(signal.SIGTERM)
        left = _kill_leftover_vms(tmp_path)
        lab.close()
        left += _release_mounts(tmp_path)
        _remove_empty_cgroups()
        assert not left, f"left behind after the agents stopped: {left}"


def _kill_leftover_vms(root: Path) -> list[str]:
    """QEMU processes of this test still running (a VM whose delete did not finish), killed."""
    killed = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-x86_64") and any(str(root).encode() in arg for arg in argv):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
            killed.append(f"qemu pid {proc.name}")
    return killed


def _release_mounts(root: Path) -> list[str]:
    """Mounts still under ``root`` (a container's rootfs, a pinned pod namespace: a pod whose
    delete did not finish), unmounted so the next run's cleanup can remove the directory."""
    mounted = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
               if line.split()[4].startswith(f"{root}/")]
    for path in sorted(mounted, key=len, reverse=True):
        subprocess.run(["umount", "-l", path], check=False, capture_output=True)
    return mounted


def _remove_empty_cgroups() -> None:
    """runc leaves each node's (empty) cgroup parent atoll/NODE behind in every hierarchy."""
    for node in SEGMENT:
        for directory in sorted(Path("/sys/fs/cgroup").glob(f"**/atoll/{node}"), key=lambda p: -len(p.parts)):
            for inner in sorted(directory.glob("**/"), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    inner.rmdir()


def test_two_real_nodes_one_network(two_nodes: Cluster, kernel: artifacts.Kernel, initramfs: Path) -> None:
    c = two_nodes
    until(lambda: all(c.get("node", node).get("spec", {}).get("podCIDR") for node in SEGMENT), 120,
          what="both nodes have a pod CIDR")
    c.atoll("apply", "-f", "-", stdin=manifests(kernel, initramfs))
    web_b = until(lambda: c.get("pod", "web-b").get("status", {}).get("podIP"), 180, what="web-b has an address")
    web_a = until(lambda: c.get("pod", "web-a").get("status", {}).get("podIP"), 180, what="web-a has an address")
    until(lambda: "pod-b" in c.in_node("node-b", "wget", "-q", "-O", "-", f"http://{web_b}/", check=False), 30,
          what="web-b serves")
    vm_b = until(lambda: c.get("vm", "vm-b").get("status", {}).get("ip"), 300, what="vm-b has an address")
    until(lambda: artifacts.MARKER in c.in_node("node-b", "wget", "-q", "-O", "-", f"http://{vm_b}/", check=False),
          120, 1, what="vm-b's guest serves")

    # Containers of one pod talk on localhost.
    until(lambda: "duo-local" in c.atoll("logs", "pod/duo", "-c", "client", check=False), 120,
          what="duo's client log")

    # A pod on node A reaches a pod and a VM on node B by address (host-gw).
    c.atoll("apply", "-f", "-", stdin=client_pod("direct", f"http://{web_b}/ http://{vm_b}/", 3))
    direct = until(lambda: finished_log(c, "direct"), 180, what="the direct client finished")
    assert direct.count("pod-b") == 3 and direct.count(artifacts.MARKER) == 3, direct
    assert f"via {SEGMENT['node-b']}" in c.kernel_state("node-a")["routes"]

    # One Service in front of a pod on each node and the VM: the VM is one of its endpoints, and a
    # client pod reaches all three through the cluster IP over a series of connections.
    cluster_ip = c.get("svc", "web")["spec"]["clusterIP"]
    until(lambda: ready_targets(c) == {web_a: "Pod", web_b: "Pod", vm_b: "VirtualMachine"}, 180,
          what="web's Endpoints list both pods and the VM")
    c.atoll("apply", "-f", "-", stdin=client_pod("through-service", f"http://{cluster_ip}/", 30))
    answers = until(lambda: finished_log(c, "through-service"), 240, what="the Service client finished")
    counts = {backend: answers.count(backend) for backend in ("pod-a", "pod-b", artifacts.MARKER)}
    assert sum(counts.values()) == 30 and all(counts.values()), (counts, answers)

    # kill -9 and a restart of agent A: the same rules, routes, links and addresses.
    before = c.kernel_state("node-a")
    programmed = programmed_count(c, "node-a")
    c.kill_agent("node-a")
    c.start_agent("node-a")
    until(lambda: programmed_count(c, "node-a") > programmed, 60, what="the new agent A programmed its table")
    assert c.kernel_state("node-a") == before

    # Deleting a backend, a pod and then the VM, takes it out of the Endpoints and node A's rules within 1 s.
    for kind, name, ip in (("pod", "web-b", web_b), ("vm", "vm-b", vm_b)):
        assert f"{ip}:80" in c.kernel_state("node-a")["rules"]
        c.atoll("delete", kind, name)
        deleted = time.monotonic()
        until(lambda ip=ip: f"{ip}:80" not in c.in_node("node-a", "nft", "list", "table", "ip", "atoll"), 10, 0.02,
              what=f"{name} left node A's rules")
        assert time.monotonic() - deleted <= 1.0, f"{name} left node A's rules after more than 1 s"
        assert ip not in ready_targets(c)
    assert ready_targets(c) == {web_a: "Pod"}


def programmed_count(c: Cluster, node: str) -> int:
    """How many Service table transactions node's agents logged (agent.network.proxy.proxier)."""
    return (c.tmp / f"{node}.log").read_text().count("Service table programmed")


def ready_targets(c: Cluster) -> dict[str, str]:
    """The ready addresses of web's Endpoints, each with the kind of its target (Pod, VirtualMachine)."""
    endpoints = json.loads(c.atoll("get", "ep", "web", "-o", "json", check=False) or "{}")
    return {address["ip"]: address.get("targetRef", {}).get("kind", "")
            for subset in endpoints.get("subsets", []) for address in subset.get("addresses", [])}


def finished_log(c: Cluster, pod: str) -> str:
    phase = c.get("pod", pod).get("status", {}).get("phase")
    return c.atoll("logs", f"pod/{pod}") if phase in ("Succeeded", "Failed") else ""


def client_pod(name: str, urls: str, rounds: int) -> str:
    loop = (f"for i in $(seq {rounds}); do for u in {urls}; do timeout 5 wget -q -O - $u | head -c 200; echo; "
            "done; done")
    return f"""apiVersion: atoll.dev/v1
kind: Pod
metadata: {{name: {name}}}
spec:
  restartPolicy: Never
  scheduling: {{nodeSelector: {{atoll.dev/hostname: node-a}}}}
  containers: [{{name: main, image: {BUSYBOX_IMAGE}, command: [sh, -c, {json.dumps(loop)}]}}]
"""


def server(name: str, node: str) -> str:
    serve = f"mkdir -p /w && echo {name} > /w/index.html && exec httpd -f -p 80 -h /w"
    return f"""apiVersion: atoll.dev/v1
kind: Pod
metadata: {{name: web-{node[-1]}, labels: {{app: web}}}}
spec:
  terminationGracePeriodSeconds: 1  # httpd as pid 1 ignores SIGTERM; it has nothing to save
  scheduling: {{nodeSelector: {{atoll.dev/hostname: {node}}}}}
  containers: [{{name: web, image: {BUSYBOX_IMAGE}, command: [sh, -c, {json.dumps(serve)}]}}]
"""


LOCAL_SERVER = "mkdir -p /w && echo duo-local > /w/index.html && exec httpd -f -p 127.0.0.1:7000 -h /w"
LOCAL_CLIENT = "until wget -q -O - http://127.0.0.1:7000/; do sleep 0.2; done; sleep 3600"


def manifests(kernel: artifacts.Kernel, initramfs: Path) -> str:
    """The Service web, its backends (a pod on each node, the test guest as a VM on node B: it
    serves the marker on port 80) and the pod duo, whose two containers talk on localhost."""
    return f"""apiVersion: atoll.dev/v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 80}}]
---
{server("pod-a", "node-a")}---
{server("pod-b", "node-b")}---
apiVersion: atoll.dev/v1
kind: VirtualMachine
metadata:
  name: vm-b
  labels: {{app: web}}
  annotations: {{qemu.atoll.dev/boot-marker: {artifacts.MARKER}}}
spec:
  vcpus: 1
  memory: 256Mi
  boot: {{kernel: {kernel.image}, initrd: {initramfs}, cmdline: {json.dumps(BASE_CMDLINE)}}}
  scheduling: {{nodeSelector: {{atoll.dev/hostname: node-b}}}}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {{name: duo}}
spec:
  terminationGracePeriodSeconds: 1  # its shells as pid 1 ignore SIGTERM; they have nothing to save
  scheduling: {{nodeSelector: {{atoll.dev/hostname: node-a}}}}
  containers:
  - {{name: server, image: {BUSYBOX_IMAGE}, command: [sh, -c, {json.dumps(LOCAL_SERVER)}]}}
  - {{name: client, image: {BUSYBOX_IMAGE}, command: [sh, -c, {json.dumps(LOCAL_CLIENT)}]}}
"""
