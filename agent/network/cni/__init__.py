"""A CNI runtime for the node: plugins called as the CNI spec says (invoker.py), their results
(result.py) and errors (errors.py), the node's network configs (conflist.py) and the node's one
network that pod sandboxes and VM addresses share (network.py)."""

from agent.network.cni.conflist import NodeNetworkSettings, PortMapping
from agent.network.cni.errors import CniError, CniPluginError, CniPluginNotFoundError, CniResultError
from agent.network.cni.invoker import DEFAULT_BIN_DIR, Attachment, CniInvoker, NetworkConfigList
from agent.network.cni.network import NodeCniNetwork, Reservation
from agent.network.cni.result import CniIpConfig, CniResult

__all__ = [
    "DEFAULT_BIN_DIR", "Attachment", "CniError", "CniInvoker", "CniIpConfig", "CniPluginError",
    "CniPluginNotFoundError", "CniResult", "CniResultError", "NetworkConfigList", "NodeCniNetwork",
    "NodeNetworkSettings", "PortMapping", "Reservation",
]
