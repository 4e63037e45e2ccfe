"""The ``atoll`` command-line interface: one module per verb, dispatched by ``atoll.cli.main``."""

import os

# gRPC's C core logs to stderr on its own (e.g. a port that cannot be bound); the CLI reports
# every such failure itself in one line, so the core stays quiet unless the user asks.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
