"""The authorizer: RBAC first (built-in and stored bindings), then the node authorizer for node identities."""

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
            # A fleet acts as every node it simulates, so it may hold the agent finalizer on any
            # bound workload, exactly as a node may on its own (and nothing more).
            return await self._nodes.allows_finalizer_update(None, request)
        return False
