"""Readable differences between two versions of a metadata object.

``field amount: type integer → money``, ``field client added``, ``labels.ru: "Клиенты" →
"Контрагенты"``. Fields (and table columns, options, items) are matched by key, never by
position, so moving a field reads as a move, not as a change of every field after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MATCH_BY = {
    "fields": "key",
    "columns": "key",
    "tabs": "key",
    "sections": "key",
    "nodes": "key",
    "options": "value",
    "items": "code",
}


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any
    kind: str  # "added", "removed", "changed", "moved"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.path} added"
        if self.kind == "removed":
            return f"{self.path} removed"
        if self.kind == "moved":
            return f"{self.path} moved from position {self.old + 1} to {self.new + 1}"
        return f"{self.path}: {_show(self.old)} → {_show(self.new)}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every change from ``old`` to ``new``, in document order."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[Change] = []
        for key in list(old) + [key for key in new if key not in old]:
            where = _join(path, str(key))
            if key not in new:
                changes.append(Change(where, old[key], None, "removed"))
            elif key not in old:
                changes.append(Change(where, None, new[key], "added"))
            elif isinstance(old[key], list) and isinstance(new[key], list) and key in MATCH_BY:
                changes += _keyed(old[key], new[key], where, MATCH_BY[key])
            else:
                changes += diff(old[key], new[key], where)
        return changes
    if old != new:
        return [Change(path, old, new, "changed")]
    return []


def _keyed(old: list[Any], new: list[Any], path: str, by: str) -> list[Change]:
    if not all(isinstance(item, Mapping) and by in item for item in old + new):
        return diff_plain(old, new, path)
    singular = path.rsplit(".", 1)[-1].removesuffix("s")  # fields -> field
    prefix = path.rsplit(".", 1)[0] + "." if "." in path else ""
    if path.endswith(":") or " " in path.rsplit(".", 1)[-1]:
        prefix = ""
    old_keys = [item[by] for item in old]
    new_keys = [item[by] for item in new]
    changes: list[Change] = []
    for item in new:
        where = f"{prefix}{singular} {item[by]}"
        if item[by] not in old_keys:
            changes.append(Change(where, None, item, "added"))
            continue
        before = old[old_keys.index(item[by])]
        changes += diff(before, item, where + ":")
    for item in old:
        if item[by] not in new_keys:
            changes.append(Change(f"{prefix}{singular} {item[by]}", item, None, "removed"))
    common_old = [key for key in old_keys if key in new_keys]
    common_new = [key for key in new_keys if key in old_keys]
    if common_old != common_new:
        for key in common_new:
            if common_old.index(key) != common_new.index(key):
                changes.append(
                    Change(
                        f"{prefix}{singular} {key}",
                        old_keys.index(key),
                        new_keys.index(key),
                        "moved",
                    )
                )
    return changes


def _join(path: str, key: str) -> str:
    if not path:
        return key
    return f"{path} {key}" if path.endswith(":") else f"{path}.{key}"


def diff_plain(old: list[Any], new: list[Any], path: str) -> list[Change]:
    return [] if old == new else [Change(path, old, new, "changed")]


def describe(old: Any, new: Any) -> list[str]:
    return [str(change) for change in diff(old, new)]
