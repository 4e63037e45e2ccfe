""""Did you mean": the one rule for suggesting a known word in place of a mistyped one (kinds in
manifests and on the command line, manifest fields, verbs, flags)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from atoll.user_text import bounded

CUTOFF = 0.6


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word most like ``word`` (difflib ratio at least CUTOFF, case-insensitive), or None."""
    candidates = {candidate.lower(): candidate for candidate in known}
    close = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=CUTOFF)
    return candidates[close[0]] if close else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """``; did you mean "pods"?`` when a known word is close to ``word``, else ""."""
    match = closest(bounded(word, 100), known)
    return f'; did you mean "{match}"?' if match else ""
