"""The inbox: a user's route tasks, in four tabs.

* ``todo`` — open tasks the user may decide: assigned to them, to an absent user they stand
  in for (the task remembers the owner, who still sees it), or to a person they are deputy
  for today (:func:`potok.platform.org.acting_for` turned around);
* ``overdue`` — the open ones past their deadline;
* ``delegated`` — tasks they handed to a colleague, while the colleague has them;
* ``done`` — tasks they decided.

:func:`open_inbox` answers a page: the counts of every tab in one query (conditional
aggregates over the user's tasks, filters applied), then one page of the chosen tab in keyset
order — ``(deadline, id)`` with tasks without a deadline last, or ``(decided_at, id)``
newest first for ``done`` — and the names a row shows (the document's number and title, one
query per stream on the page; the step's label from the route version). A document the user
may not read shows neither its number nor its title, and a search never finds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from potok.metadata.model import label
from potok.platform import org
from potok.platform.auth import CurrentUser
from potok.platform.models import Deputy, RouteInstance, RouteTask, User
from potok.runtime import links, listing, permissions
from potok.runtime.routing import executors
from potok.runtime.routing.context import Env
from potok.runtime.routing.errors import RouteRuntimeError
from potok.runtime.streams import StreamRuntime

TABS = ("todo", "overdue", "delegated", "done")
PAGE_SIZE = 50
NO_DEADLINE = datetime(9999, 12, 31)  # sorts tasks without a deadline after every other
MAX_SEARCH = 200


@dataclass(frozen=True)
class Filters:
    tab: str = "todo"
    stream: str = ""
    search: str = ""
    after: tuple[datetime, int] | None = None  # the keyset cursor: the last row's (key, id)

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """From a query string; values that make no sense are dropped (first page, all)."""
        tab = params.get("tab", "todo")
        return cls(
            tab=tab if tab in TABS else "todo",
            stream=params.get("stream", "")[:40],
            search=params.get("q", "").strip()[:MAX_SEARCH],
            after=parse_cursor(params.get("after", "")),
        )


def parse_cursor(text: str) -> tuple[datetime, int] | None:
    stamp, _, number = text.partition("~")
    if not number.isdigit() or len(number) > 10 or len(stamp) > 40:
        return None
    try:
        return datetime.fromisoformat(stamp), int(number)
    except ValueError:
        return None


def cursor_text(key: datetime, task_id: int) -> str:
    return f"{key.isoformat()}~{task_id}"


@dataclass
class Row:
    task_id: int
    kind: str
    node: str
    status: str
    decision: str | None
    stream: str
    doc_id: int
    assigned_at: datetime
    deadline: datetime | None
    decided_at: datetime | None
    overdue: bool
    step: str = ""
    stream_label: str = ""
    number: str = ""
    title: str = ""
    readable: bool = False
    acting_for: str = ""  # "for <person>": the owner whose task this deputy does
    colleague: str = ""  # delegated: who has it now


@dataclass
class Inbox:
    filters: Filters
    counts: dict[str, int]
    rows: list[Row] = field(default_factory=list)
    next_after: str = ""


# Which tasks are whose --------------------------------------------------------------------


def _principals(user_id: int, today: date) -> Any:
    """Whom ``user_id`` stands in for today, as a subquery."""
    return (
        select(Deputy.principal_id)
        .join(User, User.id == Deputy.deputy_id)
        .where(
            Deputy.deputy_id == user_id,
            Deputy.starts_on <= today,
            Deputy.ends_on >= today,
            User.is_active.is_(True),
        )
        .scalar_subquery()
    )


def _holds(user_id: int, today: date) -> ColumnElement[bool]:
    """Tasks ``user_id`` has: their own, an absent owner's given to them, or one whose
    assignee they stand in for today (as :func:`executors.may_act` decides)."""
    return or_(
        RouteTask.assignee_id == user_id,
        RouteTask.original_assignee_id == user_id,
        RouteTask.assignee_id.in_(_principals(user_id, today)),
    )


def todo_count(session: Session, user_id: int, today: date) -> int:
    """The number on the navigation's "Inbox": open tasks the user may decide."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(RouteTask)
            .where(RouteTask.status == "open", _holds(user_id, today))
        )
        or 0
    )


def _tab_clauses(user_id: int, today: date, now: datetime) -> dict[str, ColumnElement[bool]]:
    holds = _holds(user_id, today)
    open_ = and_(RouteTask.status == "open", holds)
    return {
        "todo": open_,
        "overdue": and_(open_, RouteTask.deadline.is_not(None), RouteTask.deadline < now),
        "delegated": and_(RouteTask.status == "delegated", holds),
        "done": and_(RouteTask.decided_by_id == user_id, RouteTask.status.in_(("done", "refused"))),
    }


def _document_filter(
    session: Session, env: Env, user: CurrentUser, filters: Filters
) -> ColumnElement[bool] | None:
    """Tasks of the chosen stream whose document the search finds (None: no filter)."""
    if not filters.stream and not filters.search:
        return None
    runtimes = [
        r for r in env.streams.all(session) if not filters.stream or r.key == filters.stream
    ]
    if not filters.search:
        return RouteInstance.stream == filters.stream if runtimes else false()
    parts = []
    for runtime in runtimes:
        access = permissions.access_for(user, runtime)
        table = runtime.compiled.table
        found = (
            select(table.c.id)
            .where(
                listing.search_clause(session, runtime, filters.search, access.hidden),
                permissions.readable(session, user, runtime),
                table.c.deleted == false(),
            )
            .scalar_subquery()
        )
        parts.append(and_(RouteInstance.stream == runtime.key, RouteInstance.doc_id.in_(found)))
    return or_(*parts) if parts else false()


# What a row of the inbox (or of a card's waiting tasks) is made from, with its sort key.
_ROW_COLUMNS = (
    RouteTask.id,
    RouteTask.kind,
    RouteTask.node,
    RouteTask.status,
    RouteTask.decision,
    RouteTask.assignee_id,
    RouteTask.original_assignee_id,
    RouteTask.created_at,
    RouteTask.deadline,
    RouteTask.decided_at,
    RouteInstance.stream,
    RouteInstance.doc_id,
    RouteInstance.route_version_id,
)


def open_inbox(
    session: Session,
    env: Env,
    user: CurrentUser,
    filters: Filters,
    *,
    now: datetime,
    today: date,
    language: str,
    page_size: int = PAGE_SIZE,
) -> Inbox:
    """The counts of every tab and one page of ``filters.tab`` (see the module docstring)."""
    tabs = _tab_clauses(user.id, today, now)
    documents = _document_filter(session, env, user, filters)
    counted = select(
        *(
            func.coalesce(func.sum(case((clause, 1), else_=0)), 0).label(tab)
            for tab, clause in tabs.items()
        )
    ).select_from(RouteTask)
    mine = or_(_holds(user.id, today), RouteTask.decided_by_id == user.id)
    if documents is not None:
        counted = counted.join(RouteInstance, RouteInstance.id == RouteTask.instance_id).where(
            documents
        )
    totals = session.execute(counted.where(mine)).one()
    inbox = Inbox(filters, {tab: int(totals[index]) for index, tab in enumerate(tabs)})

    done = filters.tab == "done"
    key = (
        RouteTask.decided_at
        if done
        else func.coalesce(RouteTask.deadline, literal(NO_DEADLINE, RouteTask.deadline.type))
    )
    statement = (
        select(*_ROW_COLUMNS, key.label("sort_key"))
        .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
        .where(tabs[filters.tab])
    )
    if documents is not None:
        statement = statement.where(documents)
    if filters.after is not None:
        last_key, last_id = filters.after
        if done:
            statement = statement.where(
                or_(key < last_key, and_(key == last_key, RouteTask.id < last_id))
            )
        else:
            statement = statement.where(
                or_(key > last_key, and_(key == last_key, RouteTask.id > last_id))
            )
    order = (key.desc(), RouteTask.id.desc()) if done else (key.asc(), RouteTask.id.asc())
    found = list(session.execute(statement.order_by(*order).limit(page_size + 1)).all())
    if len(found) > page_size:
        found = found[:page_size]
        last = found[-1]
        inbox.next_after = cursor_text(last.sort_key, last.id)
    inbox.rows = _rows(session, env, user, found, now=now, language=language)
    return inbox


def _rows(
    session: Session,
    env: Env,
    user: CurrentUser,
    found: list[Any],
    *,
    now: datetime,
    language: str,
) -> list[Row]:
    rows = []
    people: set[int] = set()
    for item in found:
        row = Row(
            task_id=item.id,
            kind=item.kind,
            node=item.node,
            status=item.status,
            decision=item.decision,
            stream=item.stream,
            doc_id=item.doc_id,
            assigned_at=item.created_at,
            deadline=item.deadline,
            decided_at=item.decided_at,
            overdue=item.status == "open" and item.deadline is not None and item.deadline < now,
        )
        row.step = _step_label(session, env, item.route_version_id, item.node, language)
        owner = owner_for(user.id, item.assignee_id, item.original_assignee_id)
        if owner is not None:
            people.add(owner)
            row.acting_for = str(owner)
        rows.append(row)
    colleagues = delegates_of(session, [row.task_id for row in rows if row.status == "delegated"])
    people.update(colleagues.values())
    names = people_names(session, people)
    for row in rows:
        if row.acting_for:
            row.acting_for = names.get(int(row.acting_for), "")
        if row.task_id in colleagues:
            row.colleague = names.get(colleagues[row.task_id], "")
    _documents(session, env, user, rows, language)
    return rows


def owner_for(user_id: int, assignee_id: int, original_id: int | None) -> int | None:
    """Whose task a deputy does: the absent owner, or the assignee the user stands in for."""
    if assignee_id == user_id:
        return original_id
    if original_id == user_id:
        return None  # the owner's own task, done meanwhile by their deputy
    return assignee_id


def _step_label(session: Session, env: Env, version_id: int, node: str, language: str) -> str:
    try:
        route = env.route(session, version_id)
    except RouteRuntimeError:
        return node
    step = route.nodes.get(node)
    return step.label(language) if step is not None else node


def delegates_of(session: Session, task_ids: list[int]) -> dict[int, int]:
    """Delegated task -> the colleague who has it now."""
    if not task_ids:
        return {}
    child = aliased(RouteTask)
    rows = session.execute(
        select(child.parent_id, child.assignee_id).where(
            child.parent_id.in_(task_ids), child.status == "open"
        )
    ).all()
    return {parent: assignee for parent, assignee in rows if parent is not None}


def people_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.full_name, User.username).where(User.id.in_(sorted(ids)))
    )
    return {row[0]: row[1] or row[2] for row in rows}


def _documents(
    session: Session, env: Env, user: CurrentUser, rows: list[Row], language: str
) -> None:
    """Number, title and stream label of each row's document, one query per stream; only
    for documents the user may read."""
    by_stream: dict[str, list[Row]] = {}
    for row in rows:
        by_stream.setdefault(row.stream, []).append(row)
    known = {runtime.key: runtime for runtime in env.streams.all(session)}
    for stream, members in by_stream.items():
        runtime = known.get(stream)
        if runtime is None:
            continue
        for row in members:
            row.stream_label = label(runtime.stream.labels, language)
        table = runtime.compiled.table
        title_key = runtime.stream.title_field
        title = runtime.compiled.columns.get(title_key) if title_key else None
        columns = [table.c.id, table.c.reg_number] + ([title] if title is not None else [])
        ids = {row.doc_id for row in members}
        found = {
            item[0]: item
            for item in session.execute(
                select(*columns).where(
                    table.c.id.in_(sorted(ids)),
                    table.c.deleted == false(),
                    permissions.readable(session, user, runtime, among=ids),
                )
            )
        }
        for row in members:
            item = found.get(row.doc_id)
            if item is not None:
                row.readable = True
                row.number = str(item[1] or "")
                row.title = str(item[2] or "") if len(item) > 2 else ""


def task_visible_to(session: Session, task: RouteTask, user_id: int, today: date) -> bool:
    """Whether ``user_id`` may open the task: it is in one of their tabs, or they may give
    it to someone else (its controller, the assignee's head of department)."""
    if user_id in (
        task.assignee_id,
        task.original_assignee_id,
        task.decided_by_id,
        task.controller_id,
    ):
        return True
    deputy = bool(
        session.scalar(
            select(func.count())
            .select_from(Deputy)
            .where(
                Deputy.principal_id == task.assignee_id,
                Deputy.deputy_id == user_id,
                Deputy.starts_on <= today,
                Deputy.ends_on >= today,
            )
        )
    )
    return deputy or may_reassign(session, task, user_id, today)


def may_reassign(session: Session, task: RouteTask, user_id: int, today: date) -> bool:
    """Whether the engine lets ``user_id`` give the open task to someone else: its
    controller, the assignee's head of department, or the supervisor picking among a role."""
    if task.status != "open":
        return False
    if user_id == task.controller_id:
        return True
    head = org.head_of_department_of(session, task.original_assignee_id or task.assignee_id)
    if head is not None and head.id == user_id:
        return True
    return task.pool_role is not None and executors.may_act(session, task, user_id, today)


def colleagues(session: Session, exclude: set[int], limit: int = 500) -> list[tuple[int, str]]:
    """Active people a task can be given to, by name."""
    rows = session.execute(
        select(User.id, User.full_name, User.username)
        .where(
            User.is_active.is_(True),
            User.is_system.is_(False),
            User.id.not_in(sorted(exclude)),
        )
        .order_by(func.lower(User.full_name), User.username)
        .limit(limit)
    )
    return [(row[0], row[1] or row[2]) for row in rows]


def waiting_for(
    session: Session,
    env: Env,
    user: CurrentUser,
    target: StreamRuntime,
    doc_id: int,
    *,
    now: datetime,
    today: date,
    language: str,
    limit: int = 20,
) -> list[Row]:
    """Open tasks of ``user`` (their own or those they stand in for) on document ``doc_id``
    of ``target`` or on the documents linking to it — a Client's card lists the contracts
    and works waiting for the user's decision. Driven by the user's open tasks (indexed):
    one query, whatever the size of the streams."""
    places = [and_(RouteInstance.stream == target.key, RouteInstance.doc_id == doc_id)]
    for runtime, item in links.linking_fields(env.streams.all(session), target.key):
        if item.key in permissions.access_for(user, runtime).hidden:
            continue
        table = runtime.compiled.table
        linking = select(table.c.id).where(
            links.points_to(runtime, item, doc_id), table.c.deleted == false()
        )
        places.append(and_(RouteInstance.stream == runtime.key, RouteInstance.doc_id.in_(linking)))
    key = func.coalesce(RouteTask.deadline, literal(NO_DEADLINE, RouteTask.deadline.type))
    statement = (
        select(*_ROW_COLUMNS, key.label("sort_key"))
        .join(RouteInstance, RouteInstance.id == RouteTask.instance_id)
        .where(RouteTask.status == "open", _holds(user.id, today), or_(*places))
        .order_by(key, RouteTask.id)
        .limit(limit)
    )
    found = list(session.execute(statement).all())
    if not found:
        return []
    rows = _rows(session, env, user, found, now=now, language=language)
    return [row for row in rows if row.readable]
