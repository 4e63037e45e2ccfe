"""Readiness, liveness and startup probes of containers and VMs (Kubernetes' prober): one
schedule per probe (worker.py), the gating of one workload's probes (workload_probes.py) and
the checks themselves: exec through the driver, TCP and HTTP against the workload's address
(checks.py)."""
