"""The controllers: level-based reconcilers (deployment, node lifecycle, garbage collection, virtual
machines) fed by work queues and informer caches, plus leader election; they talk only to the API."""
