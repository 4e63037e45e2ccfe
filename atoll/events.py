"""Event building: how every component reports what happened to an object and why.

One rule for the agent (Started, Killed, BackOff, ...), the scheduler (Scheduled,
FailedScheduling, Preempted) and the controllers (NodeNotReady, ScalingReplicaSet, ...):

- An Event lives in its object's namespace; ``default`` for cluster-scoped objects (Nodes), as in
  Kubernetes.
- Its name is the object's name, a dot and a suffix unique to this process (a random instance id
  and a counter: cheaper than a UUID on the agent's and the scheduler's hot paths). A long object
  name is shortened so the whole stays within the 253 characters of an object name.
- ``type`` is Normal or Warning, ``count`` 1, and the first and last timestamps are both ``at``
  (seconds since the epoch, a Clock reading: atoll.clock).

How an Event travels is the caller's: atoll.event_sink batches it off the critical path (agent,
scheduler); the controllers create it through their API port.
"""

from __future__ import annotations

import itertools
import os

from atoll.clock import to_timestamp
from atoll.v1 import event_pb2

NORMAL = "Normal"
WARNING = "Warning"
MAX_NAME = 253
_INSTANCE = os.urandom(6).hex()
_SEQUENCE = itertools.count()


def event_name(object_name: str) -> str:
    """A new Event name for an Event about ``object_name``, unique within this process."""
    suffix = f"{_INSTANCE}{next(_SEQUENCE):x}"
    return f"{object_name[: MAX_NAME - len(suffix) - 1]}.{suffix}"


def new_event(
    *,
    kind: str,
    namespace: str,
    name: str,
    uid: str,
    reason: str,
    message: str,
    source: str,
    at: float,
    event_type: str = NORMAL,
    resource_version: int = 0,
) -> event_pb2.Event:
    """An Event about the object ``kind`` ``namespace/name`` (``uid``, at ``resource_version`` when
    known) from ``source`` (``scheduler``, ``agent/NODE``, ``controller/NAME``) at ``at``."""
    event = event_pb2.Event(reason=reason, message=message, type=event_type, count=1, source=source)
    event.metadata.name = event_name(name)
    event.metadata.namespace = namespace or "default"
    involved = event.involved_object
    involved.kind, involved.namespace, involved.name, involved.uid = kind, namespace, name, uid
    involved.resource_version = resource_version
    event.first_timestamp.CopyFrom(to_timestamp(at))
    event.last_timestamp.CopyFrom(event.first_timestamp)
    return event
