"""Durable desired state with etcd's semantics: one Store protocol, backends memory, sqlite and etcd."""
