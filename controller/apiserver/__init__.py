"""The gRPC API server: validation, defaulting, object storage semantics and watch fan-out."""
