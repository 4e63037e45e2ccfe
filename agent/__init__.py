"""The node agent: registers a node, heartbeats its Lease, and runs the Pods and VirtualMachines
bound to it through drivers (simulated or real); ``agent.hollow`` runs thousands of simulated
nodes in one process.

Pipeline (one node)::

    host/ (fingerprint) + drivers/ (fingerprint) -> registration.py   Node create / UpdateStatus when changed
    lease.py                                       Lease renew every 10 s (atoll-node-lease/NODE)
    informer.py  watch pods + vms (spec.nodeName)  -> node_agent.py -> workloads/pod_runner.py, vm_runner.py
    workloads/*_runner.py  -> drivers/ start, stop, destroy, inspect   -> UpdateStatus, Events
"""
