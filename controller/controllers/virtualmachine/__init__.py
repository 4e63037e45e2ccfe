"""The VirtualMachine controller: run strategies and power actions (a new run = a new object)."""
