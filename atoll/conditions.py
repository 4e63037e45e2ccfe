"""Status condition types that more than one component writes or reads.

The scheduling condition says whether a workload is placed: ``PodScheduled`` on a Pod (as
Kubernetes names it), ``Scheduled`` on a VirtualMachine. The scheduler sets it False with the
reason it cannot place the workload; the API server's Bind sets it True in the binding's write.
"""

from __future__ import annotations

POD_SCHEDULED = "PodScheduled"
SCHEDULED = "Scheduled"


def scheduled_condition_type(kind: str) -> str:
    """The scheduling condition's type for a workload of ``kind`` (a kind name such as ``Pod``)."""
    return POD_SCHEDULED if kind == "Pod" else SCHEDULED
