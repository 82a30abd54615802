"""Deadlines, reminders and waits as moments, and the timer rows that watch them.

Durations in working days or hours are counted on the working calendar in the installation's
time zone; calendar days, hours and minutes are plain. Every moment is stored as naive UTC.
A date field as a deadline means the end of that working day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import bindparam, update

from potok.errors import N_
from potok.metadata.routes import Deadline, Duration, Node
from potok.platform.models import RouteTask, RouteTimer, RouteToken
from potok.runtime.routing import rows
from potok.runtime.routing.calendar import CalendarError, WorkCalendar
from potok.runtime.routing.errors import RouteRuntimeError


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def _utc(moment: datetime, zone: tzinfo) -> datetime:
    return moment.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def after(duration: Duration, start: datetime, calendar: WorkCalendar, zone: tzinfo) -> datetime:
    """``start`` (naive UTC) plus ``duration``."""
    try:
        if duration.unit == "working_days":
            return _utc(calendar.add_working_days(_local(start, zone), duration.amount), zone)
        if duration.unit == "working_hours":
            return _utc(calendar.add_working_hours(_local(start, zone), duration.amount), zone)
    except CalendarError as error:
        raise RouteRuntimeError(N_("The working calendar has no working time left.")) from error
    return start + timedelta(**{duration.unit: duration.amount})


def before(duration: Duration, end: datetime, calendar: WorkCalendar, zone: tzinfo) -> datetime:
    """``end`` (naive UTC) minus ``duration``."""
    try:
        if duration.unit == "working_days":
            return _utc(calendar.subtract_working_days(_local(end, zone), duration.amount), zone)
        if duration.unit == "working_hours":
            return _utc(calendar.subtract_working_hours(_local(end, zone), duration.amount), zone)
    except CalendarError as error:
        raise RouteRuntimeError(N_("The working calendar has no working time left.")) from error
    return end - timedelta(**{duration.unit: duration.amount})


def field_moment(
    values: Mapping[str, Any], key: str, calendar: WorkCalendar, zone: tzinfo
) -> datetime:
    value = values.get(key)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return _utc(datetime.combine(value, calendar.day_end), zone)
    raise RouteRuntimeError(N_("Field %(field)s of the document has no date."), field=key)


def deadline_for(
    deadline: Deadline | None,
    values: Mapping[str, Any],
    now: datetime,
    calendar: WorkCalendar,
    zone: tzinfo,
) -> datetime | None:
    if deadline is None:
        return None
    if deadline.field is not None:
        return field_moment(values, deadline.field, calendar, zone)
    if deadline.duration is None:
        return None
    return after(deadline.duration, now, calendar, zone)


def schedule_task(
    writer: rows.Writer,
    task: RouteTask,
    node: Node,
    now: datetime,
    calendar: WorkCalendar,
    zone: tzinfo,
) -> None:
    """Reminder timers before the task's deadline and an overdue timer at it."""
    if task.deadline is None:
        return
    timers = [
        {
            "instance_id": task.instance_id,
            "kind": "reminder",
            "due_at": due,
            "task_id": task.id,
            "key": f"reminder:{task.id}:{index}",
        }
        for index, duration in enumerate(node.reminders)
        if (due := before(duration, task.deadline, calendar, zone)) > now
    ]
    timers.append(
        {
            "instance_id": task.instance_id,
            "kind": "overdue",
            "due_at": task.deadline,
            "task_id": task.id,
            "key": f"overdue:{task.id}",
        }
    )
    writer.add_many(RouteTimer, timers)


def schedule_wait(writer: rows.Writer, token: RouteToken, due: datetime) -> None:
    writer.add_many(
        RouteTimer,
        [
            {
                "instance_id": token.instance_id,
                "kind": "wait",
                "due_at": due,
                "token_id": token.id,
                "key": f"wait:{token.id}",
            }
        ],
    )


_TIMERS = rows.table_of(RouteTimer)
_CANCEL = (
    update(_TIMERS)
    .where(
        _TIMERS.c.task_id.in_(bindparam("task_ids", expanding=True)),
        _TIMERS.c.fired_at.is_(None),
        _TIMERS.c.cancelled_at.is_(None),
    )
    .values(cancelled_at=bindparam("now"))
)


def cancel_task_timers(writer: rows.Writer, task_ids: list[int], now: datetime) -> None:
    """Cancel the pending timers of tasks."""
    if task_ids:
        writer.execute(_CANCEL, {"task_ids": task_ids, "now": now})


def wait_until(
    node: Node, values: Mapping[str, Any], now: datetime, calendar: WorkCalendar, zone: tzinfo
) -> datetime:
    wait = node.wait
    if wait is None or wait.duration is not None:
        return after(wait.duration, now, calendar, zone) if wait and wait.duration else now
    if wait.field is not None:
        return field_moment(values, wait.field, calendar, zone)
    moment = datetime.fromisoformat(str(wait.date))
    if len(str(wait.date)) == 10:
        moment = datetime.combine(moment.date(), calendar.day_start)
    return _utc(moment, zone)
