"""``qemu``: real virtual machines (qemu-system-x86_64 over QMP; KVM when it works, else TCG)."""

from agent.drivers.qemu.driver import QemuDriver, QemuSettings

__all__ = ["QemuDriver", "QemuSettings"]
