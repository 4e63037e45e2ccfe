"""The atoll API package: wire types, kinds, manifests, validation, the typed client and the CLI."""
