"""``etcd``: the Store on a real etcd cluster (v3 API through aetcd), for users who outgrow one machine.

store.py (EtcdStore) builds requests with rpc.py (aetcd imported once, request builders) and turns
each etcd watch stream into Store events in watch.py.
"""

from controller.store.etcd.store import EtcdStore

__all__ = ["EtcdStore"]
