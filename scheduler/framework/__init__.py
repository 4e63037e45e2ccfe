"""The scheduling framework: extension-point protocols, Status, the per-cycle runtime and profiles."""
