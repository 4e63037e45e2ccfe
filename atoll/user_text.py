"""Bounding text a user supplied before it reaches a log line, an error message or an Event.

A request may carry megabytes in any string field (an object name, a label key, a token); nothing
but the gRPC message limit bounds it before validation refuses it. Every place that repeats such
a string to someone else (the audit log, a status message, a log record, a CLI echo) goes
through ``bounded`` or ``quoted``, so one request costs the log at most a few hundred bytes per
string however long the string was, and a newline in a name cannot forge a second log line.
"""

from __future__ import annotations

import json

# Longer than any valid name (a DNS subdomain is at most 253 characters, a label key 316), so a
# valid value is always shown whole.
SHOWN_CHARS = 320
# An error message as a whole (many problems joined), before it becomes a gRPC status: the
# details travel in HTTP/2 trailers, which clients cap at 8 KiB by default.
MESSAGE_CHARS = 4096


def bounded(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` itself when at most ``limit`` characters and printable; else its first ``limit``
    characters followed by how many more there were, with control characters escaped."""
    shown = text if len(text) <= limit else text[:limit]
    if not shown.isprintable():
        shown = "".join(char if char.isprintable() else _escape(char) for char in shown)
    if len(text) <= limit:
        return shown
    return f"{shown}... ({len(text) - limit} more characters)"


def quoted(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` in double quotes, escaped as in JSON, cut after ``limit`` characters
    (``"abc"... (3999997 more characters)``)."""
    if len(text) <= limit:
        return json.dumps(text, ensure_ascii=False)
    return f"{json.dumps(text[:limit], ensure_ascii=False)}... ({len(text) - limit} more characters)"


def bounded_repr(text: str, limit: int = SHOWN_CHARS) -> str:
    """``repr(text)`` (Python's single quotes), cut after ``limit`` characters like ``quoted``."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text) - limit} more characters)"


def _escape(char: str) -> str:
    return json.dumps(char)[1:-1] if ord(char) < 0x80 else f"\\u{ord(char):04x}"
