"""Hollow fleets: thousands of simulated nodes in one process (as kubemark and kwok do), sharing
one connection, one watch per kind and one batched Lease renewer. ``run_hollow_fleet`` is the
entry point (hollow_fleet.py); fleet.py reads fleet files and builds ``default_fleet(n)``."""
