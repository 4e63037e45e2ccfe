"""The live migration controller: VirtualMachineMigration lifecycle, limits, timeouts, switch-over."""
