"""The composition root: ``atoll up`` runs the API server, the controllers, the scheduler and node
agents together in one process, and the ``atoll`` console script that offers it.

The only package that imports controller, scheduler and agent together (import-linter's layers
contract in pyproject.toml); nothing imports it.
"""
