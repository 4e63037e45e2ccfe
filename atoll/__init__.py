"""The atoll API package: wire types, kinds, manifests, validation, the typed client and the CLI."""

# The distribution's version: pyproject.toml reads it from here (one home), and `atoll version`
# prints it without importlib.metadata's start-up cost.
__version__ = "0.1.0"
