"""The controller runtime (client-go's machinery): informer caches, work queues, rate limiting,
expectations, the reconciler contract and the runner that drives it; no controller logic here."""
