"""The context of one route transition: the app's environment, the locked instance, the
parsed route version, the document's values, the working calendar, the timeline writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound
from potok.metadata.routes import Route, parse
from potok.metadata.tables import MetaObject, MetaVersion
from potok.platform.audit import Actor
from potok.platform.i18n import Catalogs
from potok.platform.models import RouteEvent, RouteInstance
from potok.runtime import documents, notifications
from potok.runtime.routing import calendar
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


@dataclass
class Step:
    """One transition of one instance."""

    session: Session
    env: Env
    instance: RouteInstance
    route: Route
    actor: Actor
    now: datetime
    moves: int = 0
    _values: dict[str, Any] | None = None
    _calendar: calendar.WorkCalendar | None = None
    _touched: bool = False

    @property
    def runtime(self) -> StreamRuntime:
        try:
            return self.env.streams.get(self.session, self.instance.stream)
        except NotFound:
            raise RouteRuntimeError(N_("The stream of this document is not published.")) from None

    def values(self) -> dict[str, Any]:
        if self._values is None:
            try:
                document = documents.load(self.session, self.runtime, self.instance.doc_id)
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

    def forget_values(self) -> None:
        self._values = None

    @property
    def calendar(self) -> calendar.WorkCalendar:
        if self._calendar is None:
            self._calendar = calendar.load(self.session)
        return self._calendar

    def event(self, what: str, node: str | None = None, **details: Any) -> None:
        """Add to the timeline, and notify the people the event concerns; the first event of
        a transition bumps the instance's version (a transition refused by its checks writes
        nothing, not even that)."""
        if not self._touched:
            self.instance.version += 1
            self._touched = True
        self.session.add(
            RouteEvent(
                instance_id=self.instance.id,
                at=self.now,
                actor_id=self.actor.user_id,
                actor_name=self.actor.username[:64],
                node=node,
                what=what,
                task_id=details.get("task_id"),
                decision=details.get("decision"),
                comment=details.get("comment", ""),
                delay_reason=details.get("delay_reason"),
            )
        )
        notifications.on_event(self, what, node, details)


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


def published_version(session: Session, route_key: str) -> int:
    version_id = session.scalar(
        select(MetaVersion.id)
        .join(
            MetaObject,
            (MetaObject.kind == MetaVersion.kind)
            & (MetaObject.key == MetaVersion.key)
            & (MetaObject.published_version == MetaVersion.version),
        )
        .where(MetaVersion.kind == "route", MetaVersion.key == route_key)
    )
    if version_id is None:
        raise NotFound()
    return version_id
