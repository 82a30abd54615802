"""In-app notifications: a bell with the number of unread ones, and their list.

They are written by the route engine in the transaction of the transition that causes them
(:func:`on_event`, called for every timeline event), so a transition rolled back leaves
none, and a decision submitted twice or a timer fired twice — which the engine turns into
one transition — leaves one. What causes one, and for whom:

* a task given to a person (``task_created``, ``reassigned``): the assignee, and the absent
  owner when a deputy gets it; a revision task tells the author the document came back, a
  delegated one tells the colleague;
* a reminder or an overdue notice (where the timers queue the e-mails): the assignee, and
  the task's controller when it is overdue;
* a delegated task coming back (``returned``): its owner;
* a route finished or needing attention: the document's author.

Nobody is told of what they did themselves. The text is a message id with its values (a
step's or route's label in every language), rendered in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, and_, false, func, insert, select, update
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound
from potok.metadata.model import label
from potok.platform.auth import CurrentUser
from potok.platform.models import Notification, RouteTask, User
from potok.runtime import permissions
from potok.settings import LANGUAGES

if TYPE_CHECKING:
    from potok.platform.i18n import Translator
    from potok.runtime.routing.context import Step
    from potok.runtime.streams import Streams

PAGE_SIZE = 30
MAX_ID = 2**31 - 1

NEW_TASK = N_("New task: %(step)s")
NEW_TASK_FOR = N_("New task: %(step)s, for %(owner)s")
DELEGATED = N_("A colleague delegated a task to you: %(step)s")
REVISION = N_("Your document is returned to you for revision: %(step)s")
REASSIGNED = N_("A task is given to you: %(step)s")
REMINDER = N_("Reminder: your task %(step)s is due %(deadline)s")
OVERDUE = N_("Overdue: your task %(step)s was due %(deadline)s")
OVERDUE_CONTROLLED = N_("Overdue: the task of %(user)s at step %(step)s was due %(deadline)s")
RETURNED = N_("The delegated task is back with you to decide: %(step)s")
FINISHED = {
    "completed": N_("The route %(route)s of your document is completed"),
    "rejected": N_("The route %(route)s of your document ended: rejected"),
    "refused": N_("The route %(route)s of your document ended: refused"),
    "cancelled": N_("The route %(route)s of your document is cancelled"),
}
FINISHED_OTHER = N_("The route %(route)s of your document ended: %(outcome)s")
NEEDS_ATTENTION = N_("The route %(route)s of your document stopped and needs attention")

EVENTS = frozenset(
    ("task_created", "reassigned", "reminder", "overdue", "returned", "finished", "needs_attention")
)
TASK_KINDS = {"revision": ("revision", REVISION), "delegated": ("delegated", DELEGATED)}


# Writing ------------------------------------------------------------------------------------


def notify(
    session: Session,
    user_id: int,
    kind: str,
    *,
    stream: str,
    doc_id: int,
    text: str,
    now: datetime,
    params: dict[str, Any] | None = None,
    task: RouteTask | None = None,
) -> None:
    """Write one notification for ``user_id`` in the session's transaction (a plain
    INSERT: the route engine writes without the ORM's unit of work)."""
    session.connection().execute(
        _INSERT,
        {
            "user_id": user_id,
            "created_at": now,
            "read_at": None,
            "kind": kind,
            "stream": stream,
            "doc_id": doc_id,
            "task_id": task.id if task is not None else None,
            "text": text,
            "params": params or {},
        },
    )


_INSERT = insert(cast(Table, Notification.__table__))


def _labels(labels: Any, fallback: str) -> dict[str, str]:
    """A label in every language (a reader's language missing from it falls back)."""
    labels = labels or {}
    return {
        language: str(labels.get(language) or labels.get("en") or fallback)
        for language in LANGUAGES
    }


def on_event(
    step: Step, what: str, node: str | None, task: RouteTask | None, details: dict[str, Any]
) -> None:
    """Notify the people a timeline event concerns (see the module docstring)."""
    if what not in EVENTS:
        return
    people: list[tuple[int | None, str, str, dict[str, Any]]] = []
    if task is not None and what in ("task_created", "reassigned"):
        kind, text = TASK_KINDS.get(task.kind, ("task", NEW_TASK))
        if what == "reassigned":
            text = REASSIGNED
        owner = task.original_assignee_id
        if owner is not None and owner != task.assignee_id:
            owner_user = step.session.get(User, owner)
            name = owner_user.display_name if owner_user is not None else ""
            people.append((task.assignee_id, kind, NEW_TASK_FOR, {"owner": name}))
            people.append((owner, kind, text, {}))
        else:
            people.append((task.assignee_id, kind, text, {}))
    elif task is not None and what == "reminder":
        people.append((task.assignee_id, "reminder", REMINDER, _deadline(task)))
    elif task is not None and what == "overdue":
        people.append((task.assignee_id, "overdue", OVERDUE, _deadline(task)))
        if task.controller_id is not None and task.controller_id != task.assignee_id:
            assignee = step.session.get(User, task.assignee_id)
            params = {**_deadline(task), "user": assignee.display_name if assignee else ""}
            people.append((task.controller_id, "overdue", OVERDUE_CONTROLLED, params))
    elif task is not None and what == "returned":
        people.append((task.assignee_id, "returned", RETURNED, {}))
    elif what == "finished":
        outcome = str(details.get("decision") or "completed")
        text = FINISHED.get(outcome, FINISHED_OTHER)
        people.append((step.instance.author_id, "finished", text, {"outcome": outcome}))
    elif what == "needs_attention":
        people.append((step.instance.author_id, "needs_attention", NEEDS_ATTENTION, {}))
    if not people:
        return
    route_node = step.route.nodes.get(node) if node is not None else None
    common = {
        "step": _labels(route_node.labels if route_node else None, node or ""),
        "route": _labels(step.route.labels, step.route.key),
    }
    told: set[int] = set()
    for user_id, kind, text, params in people:
        if user_id is None or user_id == step.actor.user_id or user_id in told:
            continue
        told.add(user_id)
        notify(
            step.session,
            user_id,
            kind,
            stream=step.instance.stream,
            doc_id=step.instance.doc_id,
            text=text,
            now=step.now,
            params={**common, **params},
            task=task,
        )


def _deadline(task: RouteTask) -> dict[str, Any]:
    return {"deadline": {"at": task.deadline.isoformat()}} if task.deadline else {"deadline": ""}


# Reading ------------------------------------------------------------------------------------


def unread_count(session: Session, user_id: int) -> int:
    """The number on the bell: one count over the ``(user_id, read_at, id)`` index."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


@dataclass
class Page:
    items: list[Notification] = field(default_factory=list)
    next_before: int | None = None  # the keyset cursor of the next page: ids below it


def page(
    session: Session, user_id: int, *, before: int | None = None, limit: int = PAGE_SIZE
) -> Page:
    """The user's notifications, newest first, ``limit`` at a time (ids below ``before``)."""
    statement = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        statement = statement.where(Notification.id < before)
    found = list(session.scalars(statement.order_by(Notification.id.desc()).limit(limit + 1)))
    if len(found) > limit:
        return Page(found[:limit], found[limit - 1].id)
    return Page(found)


def mine(session: Session, user_id: int, notification_id: int) -> Notification:
    """The user's notification (someone else's, or none, is not found)."""
    found = session.get(Notification, notification_id) if 0 < notification_id <= MAX_ID else None
    if found is None or found.user_id != user_id:
        raise NotFound()
    return found


def mark_read(session: Session, user_id: int, notification_id: int, *, now: datetime) -> None:
    found = mine(session, user_id, notification_id)
    if found.read_at is None:
        found.read_at = now


def mark_all_read(session: Session, user_id: int, *, now: datetime) -> int:
    """Mark every unread notification of the user read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(and_(Notification.user_id == user_id, Notification.read_at.is_(None)))
        .values(read_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def text_of(notification: Notification, t: Translator) -> str:
    """The notification in the reader's language and time zone."""
    params: dict[str, Any] = {}
    for name, value in (notification.params or {}).items():
        if isinstance(value, dict) and "at" in value:
            try:
                params[name] = t.datetime(datetime.fromisoformat(str(value["at"])), "short")
            except ValueError:
                params[name] = ""
        elif isinstance(value, dict):
            params[name] = str(value.get(t.language) or value.get("en") or "")
        else:
            params[name] = str(value)
    try:
        return t.format(notification.text, params)
    except (KeyError, TypeError, ValueError):
        return t.gettext(notification.text)


@dataclass(frozen=True)
class DocumentName:
    stream_label: str
    number: str = ""
    title: str = ""
    readable: bool = False


def document_names(
    session: Session,
    streams: Streams,
    user: CurrentUser,
    places: set[tuple[str, int]],
    language: str,
) -> dict[tuple[str, int], DocumentName]:
    """The stream label, number and title of each ``(stream, doc_id)`` — number and title
    only of the documents ``user`` may read; one query per stream."""
    by_stream: dict[str, list[int]] = {}
    for stream, doc_id in places:
        by_stream.setdefault(stream, []).append(doc_id)
    known = {runtime.key: runtime for runtime in streams.all(session)}
    names: dict[tuple[str, int], DocumentName] = {}
    for stream, ids in by_stream.items():
        runtime = known.get(stream)
        if runtime is None:
            continue
        stream_label = label(runtime.stream.labels, language)
        table = runtime.compiled.table
        title_key = runtime.stream.title_field
        title = runtime.compiled.columns.get(title_key) if title_key else None
        columns = [table.c.id, table.c.reg_number] + ([title] if title is not None else [])
        found = {
            item[0]: item
            for item in session.execute(
                select(*columns).where(
                    table.c.id.in_(sorted(set(ids))),
                    table.c.deleted == false(),
                    permissions.readable(session, user, runtime),
                )
            )
        }
        for doc_id in ids:
            item = found.get(doc_id)
            names[(stream, doc_id)] = (
                DocumentName(
                    stream_label,
                    str(item[1] or ""),
                    str(item[2] or "") if len(item) > 2 else "",
                    readable=True,
                )
                if item is not None
                else DocumentName(stream_label)
            )
    return names
