"""Services through `atoll up --dev` and the real CLI: apply twice (the cluster IP is kept), `get
svc` shows the IP and the endpoints count, `get ep` the Ready pods, a taken cluster IP is one
line, delete frees the IP, a restart keeps every IP (bad --service-cidr flags: test_up_addresses.py)."""

from __future__ import annotations

import ipaddress
import json
import signal
from pathlib import Path
from typing import Any

from tests.integration.test_cli_e2e import atoll
from tests.integration.test_up_addresses import items, wait_for
from tests.support.up_process import UpProcess, start_up

SERVICE_CIDR = "10.70.0.0/24"
PODS = """
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    pod:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: busybox, ports: [{name: http, containerPort: 8080}]}]}
"""
SERVICE = """
apiVersion: atoll.dev/v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def service_with_ip(name: str, ip: str) -> str:
    return f"""
apiVersion: atoll.dev/v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: web}}
  clusterIP: {ip}
  ports: [{{port: 80}}]
"""


def get_json(up: UpProcess, *args: str) -> Any:
    result = atoll(up, "get", *args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_apply_get_delete_and_restart_keep_one_address_per_service(tmp_path: Path) -> None:
    extra = ("--sim-nodes", "2", "--service-cidr", SERVICE_CIDR)
    up = start_up(tmp_path, *extra)
    try:
        assert atoll(up, "apply", "-f", "-", stdin=PODS).returncode == 0
        first = atoll(up, "apply", "-f", "-", stdin=SERVICE)
        assert first.returncode == 0 and first.stdout.strip() == "service/web created", first.stderr
        again = atoll(up, "apply", "-f", "-", stdin=SERVICE)
        assert again.stdout.strip() == "service/web unchanged", again.stdout + again.stderr
        ip = get_json(up, "svc", "web")["spec"]["clusterIP"]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(SERVICE_CIDR)

        def two_ready() -> Any:
            endpoints = items(up, "endpoints").get("web")
            subsets = (endpoints or {}).get("subsets", [])
            return endpoints if sum(len(s.get("addresses", [])) for s in subsets) == 2 else None

        endpoints = wait_for(two_ready, "two Ready pods behind the Service")
        pods = {name: pod["status"]["podIP"] for name, pod in items(up, "pods").items()}
        (subset,) = endpoints["subsets"]
        assert sorted(a["ip"] for a in subset["addresses"]) == sorted(pods.values())
        assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        assert endpoints["metadata"]["ownerReferences"][0]["kind"] == "Service"
        table = wait_for(lambda: (t := atoll(up, "get", "svc").stdout) and " 2 " in t and t, "ENDPOINTS 2")
        header, row = table.splitlines()
        assert header.split() == ["NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "ENDPOINTS", "AGE"]
        assert row.split()[:5] == ["web", "ClusterIP", ip, "80/TCP", "2"]
        assert atoll(up, "get", "ep", "web").stdout.splitlines()[0].split() == ["NAME", "ENDPOINTS", "AGE"]

        taken = atoll(up, "apply", "-f", "-", stdin=service_with_ip("copy", ip))
        assert taken.returncode != 0
        assert f"spec.clusterIP: {ip} is already allocated by service/web in namespace default" in taken.stderr
        assert len(taken.stderr.strip().splitlines()) == 1
        assert "copy" not in items(up, "services")

        assert atoll(up, "delete", "svc", "web").returncode == 0
        wait_for(lambda: "web" not in items(up, "endpoints"), "the Endpoints to go with its Service")
        reuse = wait_for(
            lambda: (r := atoll(up, "apply", "-f", "-", stdin=service_with_ip("reuse", ip))).returncode == 0 and r,
            "the freed address to be taken again",
        )
        assert reuse.stdout.strip() == "service/reuse created"
        other = atoll(up, "apply", "-f", "-", stdin=SERVICE)
        assert other.returncode == 0, other.stderr
        kept = {name: svc["spec"]["clusterIP"] for name, svc in items(up, "services").items()}
        assert kept["reuse"] == ip and kept["web"] != ip
    finally:
        up.kill(signal.SIGTERM)
    restarted = start_up(tmp_path, *extra)
    try:
        assert {name: svc["spec"]["clusterIP"] for name, svc in items(restarted, "services").items()} == kept
        late = atoll(restarted, "apply", "-f", "-", stdin=service_with_ip("late", kept["web"]))
        assert late.returncode != 0 and "already allocated by service/web" in late.stderr
    finally:
        restarted.kill(signal.SIGTERM)
