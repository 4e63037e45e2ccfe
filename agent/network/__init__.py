"""The node's network: which addresses of the node's pod CIDR its workloads hold, and on real
nodes the kernel state programmed from watched objects (host-gw routes, the Service table)."""
