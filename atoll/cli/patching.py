"""The three patch types of ``atoll patch`` over manifest documents (camelCase dicts, as
``-o json`` prints them):

- ``merge``: JSON merge patch (RFC 7386): maps merge, ``null`` removes a key, lists are replaced.
- ``strategic``: as merge, except that lists of maps whose items all have a ``name`` (containers,
  ports, volumes, env, conditions by ``type``) merge item by item on that key; an item with
  ``$patch: delete`` removes the item of that name (kubectl's strategic merge, keyed by name).
- ``json``: JSON patch (RFC 6902) operations, by the jsonpatch library.
"""

from __future__ import annotations

import copy
from typing import Any

from atoll.cli.common import CliError
from atoll.user_text import bounded

PATCH_TYPES = ("strategic", "merge", "json")
MERGE_KEYS = ("name", "type")  # the key a list of maps merges on, the first all items have
DELETE_DIRECTIVE = "$patch"


def apply_patch(document: dict[str, Any], patch: Any, patch_type: str) -> dict[str, Any]:
    """``document`` with ``patch`` applied (a new dict); CliError (one line) when it cannot apply."""
    if patch_type == "json":
        return _json_patch(document, patch)
    if not isinstance(patch, dict):
        raise CliError(f"a {patch_type} patch must be a map (a JSON object), got {type(patch).__name__}")
    result = merge(document, patch, strategic=patch_type == "strategic")
    assert isinstance(result, dict)
    return result


def merge(target: Any, patch: Any, *, strategic: bool) -> Any:
    """RFC 7386 merge of ``patch`` onto ``target``; with ``strategic``, keyed lists merge by item."""
    if isinstance(patch, dict):
        merged = dict(target) if isinstance(target, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge(merged.get(key), value, strategic=strategic)
        return merged
    if strategic and isinstance(patch, list) and isinstance(target, list):
        key = _merge_key(target, patch)
        if key is not None:
            return _merge_keyed(target, patch, key)
    return copy.deepcopy(patch)


def _merge_key(target: list[Any], patch: list[Any]) -> str | None:
    items = [*target, *patch]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    return next((key for key in MERGE_KEYS if all(key in item for item in items)), None)


def _merge_keyed(target: list[dict[str, Any]], patch: list[dict[str, Any]], key: str) -> list[Any]:
    merged = [copy.deepcopy(item) for item in target]
    positions = {item[key]: index for index, item in enumerate(merged)}
    deleted: set[Any] = set()
    for item in patch:
        if item.get(DELETE_DIRECTIVE) == "delete":
            deleted.add(item[key])
            continue
        if item[key] in positions:
            merged[positions[item[key]]] = merge(merged[positions[item[key]]], item, strategic=True)
        else:
            positions[item[key]] = len(merged)
            merged.append(copy.deepcopy(item))
    return [item for item in merged if item[key] not in deleted]


def _json_patch(document: dict[str, Any], patch: Any) -> dict[str, Any]:
    import jsonpatch  # deferred: only --type json needs it

    if not isinstance(patch, list):
        raise CliError('a json patch must be a list of operations: [{"op": "replace", "path": ..., "value": ...}]')
    try:
        result = jsonpatch.JsonPatch(patch).apply(document)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as err:
        raise CliError(f"the json patch does not apply: {bounded(str(err), 300)}") from None
    if not isinstance(result, dict):
        raise CliError("the json patch replaced the whole object with something that is not one")
    return result
