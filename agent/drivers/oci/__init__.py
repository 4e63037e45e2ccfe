"""``oci``: real Linux containers run by runc or crun, from a node-local image store."""

from agent.drivers.oci.driver import OciDriver, OciSettings

__all__ = ["OciDriver", "OciSettings"]
