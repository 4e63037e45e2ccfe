"""The ``atoll`` command-line interface: one module per verb, dispatched by ``atoll.cli.main``."""
