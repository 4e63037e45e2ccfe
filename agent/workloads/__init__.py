"""Per-workload reconcilers: one runner per Pod or VirtualMachine bound to the node, converging
what the driver runs to what the spec asks, and writing status and Events."""
