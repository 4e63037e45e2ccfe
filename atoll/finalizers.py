"""Finalizers the system itself sets, shared by the API server and the components that clear them."""

# Held by the node agent on every workload bound to its node. The API server adds it in the Bind
# write; an agent adds it itself to a workload created with spec.nodeName already set, before it
# starts anything. Deleting such a workload only marks it; the agent stops it within its grace
# period and then removes this finalizer. When the node is lost, the node lifecycle controller
# removes it on eviction (the agent cannot), and an agent that comes back stops whatever it still
# runs that no longer exists.
NODE_AGENT = "atoll.dev/agent"
