"""The types of a WatchEvent (``api_pb2.WatchEvent.type``), as the API server sends them and as
``Client.list_then_watch`` adds its own; every sender and consumer imports them from here.

Sent by the API server:
- ADDED / MODIFIED / DELETED: an object entered the watch, changed, or left it (deleted, or no
  longer matching the watch's selectors); DELETED carries the object's last state.
- BOOKMARK: no object; ``resource_version`` is a revision the watch has delivered everything up to.

Synthetic, from ``Client.list_then_watch`` only (never on the wire; they carry no object):
- RESYNC: the watch fell behind compaction; a full relist follows.
- SYNCED: a full list has been delivered; the consumer's view is complete.
"""

from __future__ import annotations

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"
BOOKMARK = "BOOKMARK"
RESYNC = "RESYNC"
SYNCED = "SYNCED"
