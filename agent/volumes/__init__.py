"""A node's side of persistent volumes: a workload's claims resolved to their data here
(claims.py), the room for local volumes (capacity.py), deleted volumes' data removed (reclaimer.py).
Making and removing the data itself is atoll/volume_data.py (the controller removes shared data too)."""
