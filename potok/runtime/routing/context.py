"""The context of one route transition: the app's environment, the locked instance, the
parsed route version, the document's values, the working calendar, the timeline writer."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound
from potok.metadata.routes import Route, parse
from potok.metadata.tables import MetaObject, MetaVersion
from potok.platform.audit import Actor
from potok.platform.i18n import Catalogs
from potok.platform.models import RouteEvent, RouteInstance, RouteTask
from potok.runtime import documents, notifications
from potok.runtime.routing import calendar, rows
from potok.runtime.routing.errors import RouteNotRunning, RouteRuntimeError
from potok.runtime.streams import StreamRuntime, Streams


@dataclass
class Env:
    """What every transition needs from the app: the compiled streams, the catalogs for
    e-mails, the installation's time zone, and parsed route versions (they never change)."""

    streams: Streams
    catalogs: Catalogs | None = None
    zone: tzinfo = UTC
    routes: dict[int, Route] = field(default_factory=dict)

    def route(self, session: Session, version_id: int) -> Route:
        if version_id not in self.routes:
            body = session.scalar(select(MetaVersion.body).where(MetaVersion.id == version_id))
            if body is None:
                raise RouteRuntimeError(N_("The route version this document follows is gone."))
            self.routes[version_id] = parse(body)
        return self.routes[version_id]


class LazyValues(Mapping[str, Any]):
    """The document's values, read from the database only when a step first looks at one
    (a step with a plain user executor and a duration deadline never does)."""

    def __init__(self, step: Step) -> None:
        self._step = step

    def __getitem__(self, key: str) -> Any:
        return self._step.values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._step.values())

    def __len__(self) -> int:
        return len(self._step.values())


@dataclass
class Step:
    """One transition of one instance.

    It writes as it goes, with plain SQL (:mod:`.rows`); ``created`` lists the rows it
    added, so a movement rolled back to its savepoint can take them out of the session.
    """

    session: Session
    env: Env
    instance: RouteInstance
    route: Route
    actor: Actor
    now: datetime
    moves: int = 0
    resting: bool = False  # a branch came to rest at a person's step or a wait
    _values: dict[str, Any] | None = None
    _calendar: calendar.WorkCalendar | None = None
    _touched: bool = False
    _serial: int = 0
    created: list[Any] = field(default_factory=list)
    writer: rows.Writer = field(init=False)

    def __post_init__(self) -> None:
        self.writer = rows.Writer(self.session)

    @property
    def runtime(self) -> StreamRuntime:
        try:
            with self.session.no_autoflush:
                return self.env.streams.get(self.session, self.instance.stream)
        except NotFound:
            raise RouteRuntimeError(N_("The stream of this document is not published.")) from None

    def values(self) -> dict[str, Any]:
        if self._values is None:
            runtime = self.runtime
            try:
                with self.session.no_autoflush:
                    document = documents.load(self.session, runtime, self.instance.doc_id)
            except NotFound:
                raise RouteRuntimeError(N_("The document is deleted.")) from None
            self._values = {
                **document.values,
                "author_id": document.author_id,
                "created_at": document.created_at,
                "updated_at": document.updated_at,
                "reg_number": document.reg_number,
            }
        return self._values

    @property
    def lazy_values(self) -> Mapping[str, Any]:
        return LazyValues(self)

    def forget_values(self) -> None:
        self._values = None

    @property
    def calendar(self) -> calendar.WorkCalendar:
        if self._calendar is None:
            with self.session.no_autoflush:
                self._calendar = calendar.load(self.session)
        return self._calendar

    def touch(self) -> None:
        """Bump the instance's version once per transition (a transition refused by its
        checks writes nothing, not even that)."""
        if not self._touched:
            self.writer.change(self.instance, version=self.instance.version + 1)
            self._touched = True

    def new_key(self) -> str:
        """A key unique to this row among the instance's: the instance, its version in this
        transition and a serial number — two transitions racing on one instance collide."""
        self.touch()
        self._serial += 1
        return f"{self.instance.id}:v{self.instance.version}:{self._serial}"

    def event(
        self, what: str, node: str | None = None, task: RouteTask | None = None, **details: Any
    ) -> None:
        """Add to the timeline, and notify the people the event concerns."""
        self.touch()
        self.writer.add_many(
            RouteEvent,
            [
                {
                    "instance_id": self.instance.id,
                    "at": self.now,
                    "actor_id": self.actor.user_id,
                    "actor_name": self.actor.username[:64],
                    "node": node,
                    "what": what,
                    "task_id": task.id if task is not None else None,
                    "decision": details.get("decision"),
                    "comment": details.get("comment", ""),
                    "delay_reason": details.get("delay_reason"),
                }
            ],
        )
        notifications.on_event(self, what, node, task, details)


def lock(session: Session, instance_id: int) -> RouteInstance:
    """The instance, locked for the rest of this transaction."""
    instance = session.scalar(
        select(RouteInstance)
        .where(RouteInstance.id == instance_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if instance is None:
        raise NotFound()
    return instance


def step_for(
    session: Session, env: Env, instance_id: int, actor: Actor, now: datetime, *, running: bool
) -> Step:
    instance = lock(session, instance_id)
    if running and instance.status != "running":
        raise RouteNotRunning()
    return Step(session, env, instance, env.route(session, instance.route_version_id), actor, now)


_PUBLISHED = (
    select(MetaVersion.id)
    .join(
        MetaObject,
        (MetaObject.kind == MetaVersion.kind)
        & (MetaObject.key == MetaVersion.key)
        & (MetaObject.published_version == MetaVersion.version),
    )
    .where(MetaVersion.kind == "route", MetaVersion.key == bindparam("route"))
)


def published_version(session: Session, route_key: str) -> int:
    version_id = session.scalar(_PUBLISHED, {"route": route_key})
    if version_id is None:
        raise NotFound()
    return version_id
