"""The node IPAM controller: one pod CIDR per Node from the cluster CIDR."""
