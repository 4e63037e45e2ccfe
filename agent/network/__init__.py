"""The node's pod network: which addresses of the node's pod CIDR its workloads hold."""
