"""The authorizer: RBAC first (built-in and stored bindings), then the node authorizer for node identities
and fleets. It answers True or False, or raises ``node.NodeRestrictionError`` with the reason a node's
write of its own Node is refused."""

from __future__ import annotations

from atoll.pki import FLEETS_GROUP
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.identity import UserInfo
from controller.apiserver.auth.node import NodeAuthorizer
from controller.apiserver.auth.policy import PolicyCache


class Authorizer:
    def __init__(self, policy: PolicyCache, nodes: NodeAuthorizer) -> None:
        self._policy = policy
        self._nodes = nodes

    async def allows(self, user: UserInfo, request: RequestAttributes) -> bool:
        if self._policy.policy.allows(user, request):
            return True
        node = user.node_name
        if node is not None:
            return await self._nodes.allows(node, request)
        if FLEETS_GROUP in user.groups:
            # A fleet acts as every node it simulates: it may write any Node as a node writes its own,
            # and hold the agent finalizer on any bound workload (and nothing more).
            return await self._nodes.allows_fleet(request)
        return False

    async def allows_data(self, user: UserInfo, request: RequestAttributes) -> bool:
        """Whether ``request`` (allowed) may see the Secret data it reads (``rules`` module docstring):
        by a rule naming kind Secret, or as the node a referencing pod is bound to."""
        if self._policy.policy.allows_data(user, request):
            return True
        node = user.node_name
        return node is not None and await self._nodes.allows(node, request)
