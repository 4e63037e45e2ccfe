"""The controllers, one package each (deployment, node_lifecycle, garbage_collector,
virtualmachine): level-based reconcilers built on ``controller.runtime``; they talk only to the API."""
