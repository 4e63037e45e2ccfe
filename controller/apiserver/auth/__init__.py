"""Who may call the API server and what they may do: TLS, authentication, authorization, audit, limits.

Pipeline of one call (``guard.SecurityGuard``, hooked in by ``handlers.objects_calls``, which gRPC and HTTP share)::

    authn.Authenticator      bearer token (token file) or client certificate -> UserInfo; wrong tokens
                             limited per peer (limits.FailedAuthLimiter over buckets.TokenBuckets)
    attributes.attributes_for request -> verb, kind, namespace, name (one per binding for Bind)
    authorizer.Authorizer    rbac (built-in roles + Role/RoleBinding objects), then node.NodeAuthorizer
    limits.WatchLimiter      watch streams per user; request deadline
    audit.AuditLog           every mutating call and refused calls within audit_budget.AuditBudget,
                             JSON lines with the peer's certificate, bounded strings, rotated by size
"""
