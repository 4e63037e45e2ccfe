"""The control plane: the store, the gRPC API server and the controllers."""
