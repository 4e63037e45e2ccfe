"""The console's charts: workloads by phase and scheduling throughput and latency over the last hour,
sampled by the API server (history.py) from its store and the scheduler's metrics, or read from
Prometheus when one is configured (prometheus.py); served as one JSON document (handler.py)."""
