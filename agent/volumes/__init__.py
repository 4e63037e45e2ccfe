"""What the node makes of a workload's volumes: claims resolved to their data on this node
(claims.py), created on first use (data.py)."""
