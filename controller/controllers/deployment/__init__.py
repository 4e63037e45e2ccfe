"""The Deployment controller: N replicas of a Pod or VirtualMachine template, rolled out safely."""
