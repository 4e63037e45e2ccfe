"""Objects that break one size bound each (atoll/validation/bounds.py), and the error each must get.

Every case starts from a valid object of tests/support/objects.py and changes only what its bound
needs; ``problem`` is the text the refusal must contain (field path and limit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from atoll.v1 import object_pb2
from atoll.validation import bounds
from tests.support.objects import make_pod, make_vm

# A valid label key prefix of 253 characters (four DNS labels) and 63-character names and values.
_PREFIX = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])


@dataclass(frozen=True)
class Oversized:
    """``make(name)`` builds the oversized object; ``valid(name)`` the valid one it started from."""

    id: str
    make: Callable[[str], object_pb2.Object]
    problem: str

    def valid(self, name: str) -> object_pb2.Object:
        return make_vm(name) if self.make is _too_many_disks else make_pod(name)


def _object_over_size(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    container = obj.pod.spec.containers[0]
    for index in range(bounds.MAX_OBJECT_BYTES // (60 * 1024) + 1):
        container.env.add(name=f"BLOB_{index}", value="x" * (60 * 1024))
    return obj


def _too_many_labels(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    obj.pod.metadata.labels.update({f"k{index}": "v" for index in range(bounds.MAX_LABELS)})  # and "app"
    return obj


def _labels_over_bytes(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    obj.pod.metadata.labels.update({f"{_PREFIX}/k{index:062d}": "v" * 63 for index in range(200)})
    return obj


def _annotations_over_bytes(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    obj.pod.metadata.annotations.update({f"note-{index}": "x" * 100_000 for index in range(3)})
    return obj


def _too_many_containers(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    template = obj.pod.spec.containers[0]
    for index in range(1, 65):
        added = obj.pod.spec.containers.add()
        added.CopyFrom(template)
        added.name = f"c{index}"
    return obj


def _too_many_env_entries(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    for index in range(1025):
        obj.pod.spec.containers[0].env.add(name=f"E{index}", value="1")
    return obj


def _too_many_disks(name: str) -> object_pb2.Object:
    obj = make_vm(name)
    for index in range(33):
        obj.virtual_machine.spec.disks.add(name=f"d{index}", size="1Gi")
    return obj


def _long_image(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    obj.pod.spec.containers[0].image = "i" * 5000
    return obj


def _too_many_finalizers(name: str) -> object_pb2.Object:
    obj = make_pod(name)
    obj.pod.metadata.finalizers.extend(f"example.com/f{index}" for index in range(65))
    return obj


CASES = (
    Oversized("an object over 1.5 MiB encoded", _object_over_size,
              "object: encoded size"),
    Oversized("more than 256 labels", _too_many_labels,
              "metadata.labels: has 257 entries, more than the limit of 256"),
    Oversized("labels over 64 KiB in total", _labels_over_bytes,
              "more than the limit of 65536 (64 KiB)"),
    Oversized("annotations over 256 KiB in total", _annotations_over_bytes,
              "metadata.annotations: keys and values total 300018 bytes, more than the limit of 262144 (256 KiB)"),
    Oversized("more than 64 containers in a pod", _too_many_containers,
              "spec.containers: has 65 entries, more than the limit of 64"),
    Oversized("more than 1024 env entries in a container", _too_many_env_entries,
              "spec.containers[0].env: has 1025 entries, more than the limit of 1024"),
    Oversized("more than 32 disks in a VM", _too_many_disks,
              "spec.disks: has 33 entries, more than the limit of 32"),
    Oversized("a string over 4096 characters", _long_image,
              "spec.containers[0].image: 5000 characters, more than the limit of 4096"),
    Oversized("more than 64 finalizers", _too_many_finalizers,
              "metadata.finalizers: has 65 entries, more than the limit of 64"),
)
