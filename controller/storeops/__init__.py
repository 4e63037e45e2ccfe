"""Whole-store operations run by `atoll store` with the cluster's API servers out of the loop:
snapshot save/restore (snapshot.py), sqlite -> etcd migration (migrate.py), both checked against
the key inventory (inventory.py)."""
