#!/bin/sh
# Installs what the real-runtime tests (tests/e2e/test_oci_*, test_qemu_*) need, idempotently and
# fast when everything is already there:
#   - Debian packages runc, crun, qemu-system-x86 (+ qemu-utils for qemu-img), busybox-static,
#     containernetworking-plugins, nftables, iptables, iproute2, dosfstools, mtools, genisoimage,
#     skopeo, umoci and docker-registry (image pulls; the registry the image tests start on loopback);
#   - a Debian kernel (linux-image-amd64's current package) unpacked with `apt-get download` +
#     `dpkg -x` into the test cache (never installed into /boot); tests/e2e/artifacts.py reads it
#     and extracts an uncompressed vmlinux from it.
# Cache: $ATOLL_E2E_CACHE, else ${XDG_CACHE_HOME:-$HOME/.cache}/atoll/e2e (same rule as artifacts.py).
set -eu

cache="${ATOLL_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/atoll/e2e}"
kernel_dir="$cache/kernel"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=""
for pair in runc:runc crun:crun qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils busybox:busybox-static \
        nft:nftables iptables:iptables ip:iproute2 mkfs.vfat:dosfstools mcopy:mtools genisoimage:genisoimage \
        skopeo:skopeo umoci:umoci docker-registry:docker-registry; do
    binary="${pair%%:*}"
    package="${pair#*:}"
    command -v "$binary" >/dev/null 2>&1 || missing="$missing $package"
done
# CNI plugins (pod networking) live in /usr/lib/cni, not on PATH.
[ -x /usr/lib/cni/bridge ] || missing="$missing containernetworking-plugins"
# busybox (non-static) may provide the binary; the tests need the static one.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing="$missing busybox-static"

if [ -n "$missing" ]; then
    echo "installing:$missing"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 (word splitting of the package list is intended)
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ls "$kernel_dir"/root/boot/vmlinuz-* >/dev/null 2>&1; then
    echo "kernel: cached in $kernel_dir"
    exit 0
fi
package="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')"
if [ -z "$package" ]; then
    $sudo apt-get update -qq
    package="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
fi
mkdir -p "$kernel_dir"
work="$(mktemp -d "$kernel_dir/.download-XXXXXX")"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq "$package" 2>/dev/null)
dpkg -x "$work"/"$package"_*.deb "$work/root"
rm -rf "$kernel_dir/root"
mv "$work/root" "$kernel_dir/root"
echo "kernel: $package unpacked into $kernel_dir"
