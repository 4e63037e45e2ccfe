"""Simulated runtimes: Linux containers, Windows containers (process, Hyper-V and HostProcess
isolation with Microsoft's build rules) and type-1/type-2 hypervisors, driven by a small script
language; no root and no real runtime needed, so one process can host thousands (agent/hollow)."""
