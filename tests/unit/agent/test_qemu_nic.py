"""A VM's interface as data: names and MAC derived stably, the kernel ip= argument, and where the
interface lands on QEMU's command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.drivers.protocol import TaskConfig, VmOptions
from agent.drivers.qemu.command import VmPaths, qemu_argv
from agent.drivers.qemu.network import VmNetwork, VmNetworkSettings
from agent.drivers.qemu.nic import Nic, guest_hostname, mac_for, tap_name
from agent.drivers.qemu.record import load_nic, save_nic
from agent.host.acceleration import TCG


def make_nic(**changes: str) -> Nic:
    fields = {"tap": tap_name("u1:vm"), "mac": mac_for("u1"), "container_id": "u1",
              "bridge": "atoll0", "subnet": "10.244.3.0/24", "hostname": "web-1", "address": "10.244.3.7/24",
              "gateway": "10.244.3.1"}
    fields.update(changes)
    return Nic(**fields)


def vm_config(cmdline: str = "console=ttyS0") -> TaskConfig:
    return TaskConfig(task_id="u1:vm", kind="vm", namespace="default", workload="Web_1", workload_uid="u1",
                      name="vm", vm=VmOptions(kernel="/k", cmdline=cmdline))


def test_tap_names_fit_ifnamsiz_are_stable_and_differ_between_tasks() -> None:
    name = tap_name("9f1c2a4e-uid:vm")
    assert len(name) == 15 and name.startswith("atv")
    assert tap_name("9f1c2a4e-uid:vm") == name != tap_name("other-uid:vm")


@pytest.mark.parametrize("uid", ["u1", "0e5f9c7e-1b2a-4c3d-8e9f-000000000001", ""])
def test_the_mac_is_a_locally_administered_unicast_address_stable_for_the_vm_uid(uid: str) -> None:
    mac = mac_for(uid)
    octets = [int(part, 16) for part in mac.split(":")]
    assert len(octets) == 6 and octets[0] & 0b11 == 0b10  # locally administered, not multicast
    assert mac_for(uid) == mac != mac_for(uid + "x")


def test_the_kernel_ip_argument_carries_address_gateway_netmask_and_a_safe_host_name() -> None:
    assert make_nic().kernel_ip_arg() == "ip=10.244.3.7::10.244.3.1:255.255.255.0:web-1:eth0:off"
    assert make_nic(address="").kernel_ip_arg() == ""
    assert guest_hostname("Web_1") == "web-1"
    assert guest_hostname("a:b" * 40) == ("a-b" * 40)[:63]


def test_qemu_gets_a_virtio_net_device_on_the_tap_and_ip_last_on_the_kernel_command_line() -> None:
    nic = make_nic()
    argv = qemu_argv("qemu", vm_config("console=ttyS0 ip=1.2.3.4::::::off"), TCG, VmPaths(Path("/t"), Path("/t/q")),
                     [], nic)
    assert argv[argv.index("-append") + 1] == (
        "console=ttyS0 ip=1.2.3.4::::::off ip=10.244.3.7::10.244.3.1:255.255.255.0:web-1:eth0:off")
    assert argv[-4:] == ["-netdev", f"tap,id=net0,ifname={nic.tap},script=no,downscript=no",
                         "-device", f"virtio-net-pci,netdev=net0,mac={nic.mac}"]
    assert not any("netdev" in arg for arg in qemu_argv("qemu", vm_config(), TCG, VmPaths(Path("/t"), Path("/q")), []))


def test_the_interface_record_round_trips_and_a_damaged_one_reads_as_none(tmp_path: Path) -> None:
    save_nic(tmp_path, make_nic())
    assert load_nic(tmp_path) == make_nic()
    (tmp_path / "network.json").write_text("{not json")
    assert load_nic(tmp_path) is None


def test_a_node_without_the_host_local_plugin_says_which_package_is_missing(tmp_path: Path) -> None:
    network = VmNetwork(VmNetworkSettings(ipam_data_dir=tmp_path, plugin_dirs=(tmp_path / "cni",)))
    assert "host-local not found" in network.missing_tools()
    assert "install the Debian package containernetworking-plugins" in network.missing_tools()
    (tmp_path / "cni").mkdir()
    (tmp_path / "cni" / "host-local").write_text("")
    (tmp_path / "cni" / "host-local").chmod(0o755)  # the invoker runs only an executable plugin
    assert network.missing_tools() in ("", "ip not found: install iproute2")
