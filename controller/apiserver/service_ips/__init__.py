"""Cluster IPs of Services: allocated from the API server's --service-cidr on create, one store
key per IP so that no two Services ever hold one address, released when a Service goes, repaired
from the stored Services (allocator.py, repair.py)."""
