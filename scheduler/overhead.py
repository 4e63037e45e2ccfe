"""What a workload costs a node beyond its own requests: hypervisor per-VM memory.

A VirtualMachine pays the node's ``status.hypervisor.per_vm_overhead_memory``. A Hyper-V
isolated Windows pod runs in a utility VM and pays the same overhead, or
DEFAULT_UTILITY_VM_MEMORY when the node does not report one (Microsoft documents a Hyper-V
isolated container as needing hundreds of MiB more than a process-isolated one).
"""

from __future__ import annotations

DEFAULT_UTILITY_VM_MEMORY = 512 * 2**20


def utility_vm_memory(declared_per_vm_overhead: int) -> int:
    """Memory a Hyper-V utility VM costs on a node declaring ``declared_per_vm_overhead`` (0 = none)."""
    return declared_per_vm_overhead if declared_per_vm_overhead > 0 else DEFAULT_UTILITY_VM_MEMORY
