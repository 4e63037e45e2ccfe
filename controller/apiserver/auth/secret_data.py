"""Secret data leaves the API server only for callers allowed to read it (``rules``: a rule that
names kind Secret, or the node whose pod references it). Everyone else allowed to read Secrets
gets each one with its keys, empty values and ``dataRedacted: true``; a redacted copy cannot be
written back (validation refuses it), so a viewer's round trip never wipes data.

``redact_response`` handles every response shape that can carry a Secret: an Object (Get, Create,
Update, UpdateStatus), a ListResponse, a DeleteResponse or ApplyResponse (``object``), a
BatchUpdateStatusResponse (each result's ``object``) and the pre-serialized WatchResponse bytes of
a watch stream.
"""

from __future__ import annotations

from typing import Any

from atoll.v1 import api_pb2, config_pb2, object_pb2


def redact(secret: config_pb2.Secret) -> None:
    """Empties every value of ``secret`` in place (keys stay) and marks it redacted."""
    for key in list(secret.data):
        secret.data[key] = b""
    secret.ClearField("string_data")
    secret.data_redacted = True


def redact_object(obj: object_pb2.Object) -> None:
    if obj.HasField("secret"):
        redact(obj.secret)


def redact_response(response: Any) -> Any:
    """``response`` without Secret data (changed in place; bytes are decoded and re-encoded)."""
    if isinstance(response, bytes):
        watch = api_pb2.WatchResponse.FromString(response)
        for event in watch.events:
            redact_object(event.object)
        return watch.SerializeToString()
    if isinstance(response, object_pb2.Object):
        redact_object(response)
    elif isinstance(response, api_pb2.ListResponse):
        for item in response.items:
            redact_object(item)
    elif isinstance(response, api_pb2.DeleteResponse | api_pb2.ApplyResponse):
        redact_object(response.object)
    elif isinstance(response, api_pb2.BatchUpdateStatusResponse):
        for result in response.results:
            redact_object(result.object)
    return response
