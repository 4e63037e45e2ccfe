"""Sizes every API listener holds requests and answers to (gRPC and HTTP alike)."""

from __future__ import annotations

# Requests above this are refused (RESOURCE_EXHAUSTED on gRPC, 413 on HTTP) before any call runs.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
