"""Test artifacts for the real runtimes, shared by the e2e fixtures and tests/bench/runtimes.py:
a busybox rootfs (from busybox-static), a Debian kernel (``apt-get download`` + ``dpkg -x`` into
a cache dir, never installed) with an uncompressed vmlinux extracted from its vmlinuz, and an
initramfs whose init prints a marker and powers off on the ACPI power button; the kernel
command line can make it power off at once (``atoll.poweroff``), crash (``atoll.crash``: init
exits, the kernel panics) or ignore the power button (``atoll.ignore-powerdown``). Before the
marker, init looks for a cloud-init NoCloud seed (a virtio disk labelled ``cidata``) and runs its
user-data when that is a shell script (``#!``), between ``CLOUD_INIT_BEGIN`` and
``CLOUD_INIT_END`` lines on the console. With ``atoll.disk`` init prints what its first virtio disk
holds, then writes its boot id there (persistent disks). With a virtio-net device, init configures it from the
kernel's ``ip=`` argument (Debian's kernel has no IP autoconfiguration, so init applies it) or,
with ``atoll.dhcp``, by DHCP (busybox udhcpc) as a disk-booted guest would, before the marker,
and serves the marker line over HTTP on port 80 (busybox httpd), so a test can reach the guest
at its address.

scripts/install_runtime_deps.sh fills the same cache (``kernel_cache_dir()``) in CI.
"""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "ATOLL-GUEST-READY"
KERNEL_META_PACKAGE = "linux-image-amd64"
XZ_MAGIC = b"\xfd7zXZ\x00"
ELF_MAGIC = b"\x7fELF"
CLOUD_INIT_BEGIN = "atoll-guest: user-data begins"
CLOUD_INIT_END = "atoll-guest: user-data exited"
GUEST_MODULES = ("kernel/drivers/acpi/button.ko", "kernel/drivers/input/evdev.ko",
                 "kernel/drivers/misc/pvpanic/pvpanic.ko", "kernel/drivers/misc/pvpanic/pvpanic-mmio.ko",
                 # virtio disks (the cloud-init seed, blank disks) and the seed's ISO 9660 filesystem
                 "kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
                 "kernel/drivers/virtio/virtio_pci_modern_dev.ko", "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
                 "kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/block/virtio_blk.ko",
                 "kernel/drivers/cdrom/cdrom.ko", "kernel/fs/isofs/isofs.ko",
                 # virtio-net (the pod network)
                 "kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko",
                 "kernel/drivers/net/virtio_net.ko")
# With ``atoll.disk`` init prints what the first virtio disk holds, then writes its boot id there.
DISK_HOLDS = "atoll-guest: disk holds"
GUEST_HTTP_PORT = 80
# With ``atoll.shell`` init ends in a shell on the console (ttyS0) instead of sleeping.
SHELL_MARKER = "atoll-guest: shell on the console"

INIT_SCRIPT = f"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# insmod resolves no dependencies: passes until every module that can load has loaded
for pass in 1 2 3 4; do for module in /lib/modules/*.ko; do insmod "$module" 2>/dev/null; done; done
for event in /sys/class/input/event*; do
  case " $(cat /proc/cmdline) " in *" atoll.ignore-powerdown "*) break;; esac
  if grep -q "Power Button" "$event/device/name" 2>/dev/null; then
    (head -c 1 "/dev/input/${{event##*/}}" >/dev/null; echo "atoll-guest: power button"; poweroff -f) &
  fi
done
ip_arg=""
for word in $(cat /proc/cmdline); do case "$word" in ip=*) ip_arg="${{word#ip=}}";; esac; done
case " $(cat /proc/cmdline) " in
  *" atoll.dhcp "*)
    ip_arg=""; ifconfig lo 127.0.0.1 up; ifconfig eth0 up
    udhcpc -i eth0 -q -n -t 60 -T 1 -s /bin/dhcp-event;;
esac
if [ -n "$ip_arg" ]; then
  saved_ifs=$IFS; IFS=:; set -- $ip_arg; IFS=$saved_ifs
  [ -n "$5" ] && hostname "$5"
  ifconfig lo 127.0.0.1 up
  ifconfig "${{6:-eth0}}" "$1" netmask "$4" up && echo "atoll-guest: ${{6:-eth0}} $1"
  [ -n "$3" ] && route add default gw "$3"
fi
seed=$(findfs LABEL=cidata 2>/dev/null)
if [ -n "$seed" ] && mkdir -p /run/cidata /tmp && mount -o ro "$seed" /run/cidata; then
  if [ "$(head -c 2 /run/cidata/user-data)" = "#!" ]; then
    cp /run/cidata/user-data /tmp/user-data && chmod +x /tmp/user-data
    echo "{CLOUD_INIT_BEGIN} ($seed)"
    /tmp/user-data
    echo "{CLOUD_INIT_END} $?"
  fi
  umount /run/cidata
fi
case " $(cat /proc/cmdline) " in *" atoll.disk "*)
  for wait in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 1; done
  echo "{DISK_HOLDS} [$(head -c 64 /dev/vda | tr -d '\\000' | head -n 1)]"
  echo "written-by $(cat /proc/sys/kernel/random/boot_id)" | dd of=/dev/vda conv=fsync 2>/dev/null
  sync;;
esac
mkdir -p /www
echo "{MARKER} $(cat /proc/sys/kernel/random/boot_id)" | tee /www/index.html
httpd -p {GUEST_HTTP_PORT} -h /www
case " $(cat /proc/cmdline) " in
  *" atoll.poweroff "*) echo "atoll-guest: powering off"; poweroff -f;;
  *" atoll.crash "*) echo "atoll-guest: crashing"; exit 1;;
esac
case " $(cat /proc/cmdline) " in *" atoll.shell "*)
  echo "{SHELL_MARKER}"
  while true; do sh; done;;
esac
while true; do sleep 3600; done
"""

# udhcpc's event script: applies the lease it got.
DHCP_EVENT_SCRIPT = """#!/bin/sh
case "$1" in bound|renew)
  ifconfig "$interface" "$ip" netmask "$subnet" up
  [ -n "$hostname" ] && hostname "$hostname"
  [ -n "$router" ] && route add default gw "$router"
  echo "atoll-guest: dhcp $interface $ip";;
esac
"""


def cache_root() -> Path:
    """``$ATOLL_E2E_CACHE``, else ``$XDG_CACHE_HOME/atoll/e2e`` (default ``~/.cache/atoll/e2e``)."""
    explicit = os.environ.get("ATOLL_E2E_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "atoll" / "e2e"


def kernel_cache_dir() -> Path:
    return cache_root() / "kernel"


@dataclass(frozen=True)
class Kernel:
    image: Path  # vmlinux when it could be extracted (boots ~2x faster under TCG), else vmlinuz
    vmlinuz: Path
    modules: Path
    version: str


class ArtifactError(Exception):
    pass


def busybox_rootfs(dest: Path, busybox: Path) -> Path:
    """A minimal root filesystem at ``dest``: static busybox and a symlink per applet."""
    for directory in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "var"):
        (dest / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, dest / "bin" / "busybox")
    applets = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True).stdout.split()
    for applet in applets:
        link = dest / "bin" / applet
        if applet != "busybox" and not link.exists():
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (dest / "etc" / "group").write_text("root:x:0:\n")
    return dest


def _download_kernel(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    depends = subprocess.run(["apt-cache", "depends", KERNEL_META_PACKAGE], capture_output=True, text=True,
                             check=True).stdout
    package = next((line.split()[-1] for line in depends.splitlines() if "Depends: linux-image-" in line), "")
    if not package:
        raise ArtifactError(f"apt-cache names no kernel package for {KERNEL_META_PACKAGE}")
    subprocess.run(["apt-get", "download", package], cwd=cache, check=True, capture_output=True)
    debs = sorted(cache.glob(f"{package}_*.deb"))
    subprocess.run(["dpkg", "-x", str(debs[-1]), str(cache / "root")], check=True)
    for deb in debs:
        deb.unlink()


def extract_vmlinux(vmlinuz: Path, dest: Path) -> bool:
    """Decompress the xz payload of ``vmlinuz`` into the ELF ``dest``; False when it is not xz."""
    data = vmlinuz.read_bytes()
    start = data.find(XZ_MAGIC)
    if start < 0:
        return False
    try:
        elf = lzma.LZMADecompressor().decompress(data[start:])
    except lzma.LZMAError:
        return False
    if not elf.startswith(ELF_MAGIC):
        return False
    temporary = dest.with_suffix(".tmp")
    temporary.write_bytes(elf)
    temporary.replace(dest)
    return True


def debian_kernel(cache: Path | None = None) -> Kernel:
    """The cached Debian kernel, downloading it first if the cache is empty (needs apt sources)."""
    cache = cache or kernel_cache_dir()
    if not list((cache / "root" / "boot").glob("vmlinuz-*")):
        _download_kernel(cache)
    vmlinuz = sorted((cache / "root" / "boot").glob("vmlinuz-*"))[-1]
    version = vmlinuz.name.removeprefix("vmlinuz-")
    vmlinux = cache / f"vmlinux-{version}"
    if not vmlinux.exists() and not extract_vmlinux(vmlinuz, vmlinux):
        vmlinux = vmlinuz
    return Kernel(vmlinux, vmlinuz, cache / "root" / "lib" / "modules" / version, version)


def _cpio_entry(name: str, mode: int, data: bytes = b"", ino: int = 1) -> bytes:
    encoded = name.encode() + b"\0"
    header = "070701" + "".join(f"{value:08x}" for value in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
    entry = header.encode() + encoded
    entry += b"\0" * (-len(entry) % 4)
    entry += data + b"\0" * (-len(data) % 4)
    return entry


def build_initramfs(dest: Path, busybox: Path, kernel: Kernel) -> Path:
    """An uncompressed newc cpio at ``dest``: busybox, the init script and the guest modules."""
    files: list[tuple[str, int, bytes]] = [
        ("bin", 0o040755, b""), ("lib", 0o040755, b""), ("lib/modules", 0o040755, b""),
        ("bin/busybox", 0o100755, busybox.read_bytes()),
        ("init", 0o100755, INIT_SCRIPT.encode()),
        ("bin/dhcp-event", 0o100755, DHCP_EVENT_SCRIPT.encode()),
    ]
    for index, module in enumerate(GUEST_MODULES):
        path = kernel.modules / module
        if path.exists():  # numbered, so that init's glob loads them in GUEST_MODULES order
            files.append((f"lib/modules/{index:02d}-{path.name}", 0o100644, path.read_bytes()))
    archive = b"".join(_cpio_entry(name, mode, data, ino) for ino, (name, mode, data) in enumerate(files, 1))
    archive += _cpio_entry("TRAILER!!!", 0, ino=0)
    dest.write_bytes(archive)
    return dest
