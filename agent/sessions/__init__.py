"""Sessions into workloads served by the agent: exec and console (service.py)."""
