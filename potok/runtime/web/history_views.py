"""A document's history (``/s/<stream>/<id>/history``): every entry as a readable line —
registered, changed field by field, moved to the trash and back, linked and unlinked, shared
and no longer shared, files attached, replaced by a new version and removed.

Fields hidden from the user stay hidden here too. A linked document is a link to its card
only while the user may read it and it is not in the trash; otherwise its number, as the
history kept it, is plain text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import false, select
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from potok.errors import N_, NotFound
from potok.metadata.model import Field
from potok.platform.web.context import Ctx, endpoint
from potok.runtime import documents, links, permissions
from potok.runtime.display import Lookups, show
from potok.runtime.tables import HistoryEntry
from potok.runtime.web.common import MAX_ID, Place, document_of, lookups, stream_place, streams_of

ACTIONS = {
    "create": N_("Registered"),
    "update": N_("Changed"),
    "delete": N_("Moved to the trash"),
    "restore": N_("Restored from the trash"),
    "link": N_("Link added"),
    "unlink": N_("Link removed"),
    "share": N_("Shared"),
    "unshare": N_("Sharing stopped"),
    "file_add": N_("File attached"),
    "file_version": N_("New version of a file"),
    "file_remove": N_("File removed"),
}
# Entries whose changes are about something else than fields (a field may be called "file").
NOT_FIELDS = frozenset(
    {"link", "unlink", "share", "unshare", "file_add", "file_version", "file_remove"}
)


@endpoint()
def history(ctx: Ctx) -> Response:
    place = stream_place(ctx)
    document = document_of(ctx, place)
    entries = documents.history(ctx.db, place.runtime, document.id)
    names = lookups(ctx)
    opener = _Opener(ctx)
    shown = []
    for entry in entries:
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        shown.append(
            {
                "entry": entry,
                "action": ctx.t.gettext(ACTIONS[entry.action])
                if entry.action in ACTIONS
                else entry.action,
                "changes": _field_changes(place, entry, changes, names),
                "details": _details(ctx, entry, changes, opener),
            }
        )
    return ctx.render(
        "runtime/history.html",
        {"runtime": place.runtime, "document": document, "entries": shown},
    )


def _field_changes(
    place: Place, entry: HistoryEntry, changes: Mapping[str, Any], names: Lookups
) -> list[dict[str, Any]]:
    """The fields an entry changed, in the user's words; hidden fields left out."""
    if entry.action in NOT_FIELDS:
        return []
    fields = {item.key: item for item in place.runtime.stream.fields}
    shown = []
    for key, change in changes.items():
        item = fields.get(key)
        if item is None or key in place.access.hidden:
            continue
        shown.append(_describe_change(item, change, names, entry.action))
    return shown


def _details(
    ctx: Ctx, entry: HistoryEntry, changes: Mapping[str, Any], opener: _Opener
) -> list[dict[str, Any]]:
    """What a link, share or file entry was about, as ``label: text`` lines (with ``url``
    when the text may be a link)."""
    details: list[dict[str, Any]] = []
    if entry.action in ("link", "unlink"):
        try:
            described = links.describe(changes)
        except (TypeError, ValueError):  # not as links.py writes it: show nothing, not a 500
            described = None
        if described is not None:
            label, stream, doc_id, number = described
            url, stream_label = opener(stream, doc_id)
            details.append(
                {
                    "label": ctx.t.gettext(label),
                    "text": str(number or f"#{doc_id}"),
                    "url": url,
                    "note": stream_label,
                }
            )
    share = changes.get("share")
    if entry.action in ("share", "unshare") and isinstance(share, dict):
        details.append(
            {
                "label": ctx.t.gettext(N_("Person")),
                "text": str(share.get("user") or "—"),
                "url": None,
                "note": "",
            }
        )
    file = changes.get("file")
    if entry.action.startswith("file_") and isinstance(file, dict):
        version = file.get("version")
        details.append(
            {
                "label": ctx.t.gettext(N_("File")),
                "text": str(file.get("name") or "—"),
                "url": None,
                "note": ctx.t.format(N_("version %(number)s"), {"number": version})
                if isinstance(version, int) and version > 1
                else "",
            }
        )
    return details


class _Opener:
    """Whether the user may open a linked document from the history: its card's URL and
    its stream's label, or ``(None, "")`` when the stream or the document is gone, in the
    trash, or not theirs to read. Asked once per document of a page."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.seen: dict[tuple[str, int], tuple[str | None, str]] = {}

    def __call__(self, stream: str, doc_id: int) -> tuple[str | None, str]:
        key = (stream, doc_id)
        if key not in self.seen:
            self.seen[key] = self._look(stream, doc_id)
        return self.seen[key]

    def _look(self, stream: str, doc_id: int) -> tuple[str | None, str]:
        ctx = self.ctx
        if not 0 < doc_id <= MAX_ID:
            return None, ""
        try:
            runtime = streams_of(ctx).get(ctx.db, stream)
        except NotFound:
            return None, ""
        if not permissions.can(ctx.db, ctx.me, runtime, "read", doc_id):
            return None, ""
        table = runtime.compiled.table
        alive = ctx.db.scalar(
            select(table.c.id).where(table.c.id == doc_id, table.c.deleted == false())
        )
        if alive is None:
            return None, ""
        url = ctx.url("runtime:card", stream=runtime.key, doc_id=doc_id)
        return url, runtime.stream.label(ctx.t.language)


def _describe_change(item: Field, change: Any, names: Lookups, action: str) -> dict[str, Any]:
    label = item.label(names.t.language)
    if item.type == "table" and isinstance(change, dict):
        return {
            "label": label,
            "rows": {
                "added": len(change.get("rows_added", [])),
                "changed": len(change.get("rows_changed", [])),
                "removed": len(change.get("rows_removed", [])),
            },
        }
    if action == "create":
        return {"label": label, "old": "", "new": _show_stored(item, change, names)}
    old, new = change if isinstance(change, list) and len(change) == 2 else (None, change)
    return {
        "label": label,
        "old": _show_stored(item, old, names),
        "new": _show_stored(item, new, names),
    }


def _show_stored(item: Field, value: Any, names: Lookups) -> str:
    """A value as the history stored it (JSON), shown like on the card."""
    if value in (None, "", []):
        return "—"
    try:
        parsed = item.field_type.parse(item.spec, value)
    except Exception:
        return str(value)
    return show(item, parsed, names) or "—"


routes: list[BaseRoute] = [
    Route("/{stream}/{doc_id:int}/history", history, name="history"),
]
