"""The working calendar: deadlines in working days and working hours.

A :class:`WorkCalendar` knows the weekend days (Saturday and Sunday by default), holidays,
extra working days (a Saturday worked in exchange for a bridge day, as Russian calendars
have) and the working hours (09:00–18:00 by default). Its functions are pure and work on
naive local datetimes; :func:`load` reads holidays and extra working days from the
``work_calendar_days`` table.

Rules, so every deadline is predictable: a moment outside working time first moves forward
to the next working moment (before hours: that day's start; after hours, a weekend or a
holiday: the next working day's start). Adding N working days then keeps the time of day
on the N-th following working day (Friday 17:00 + 1 = Monday 17:00); adding N working hours
spends them inside working hours only, and a result that lands exactly on the end of a day
stays there (16:00 + 2 hours = 18:00 the same day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.platform.models import WorkCalendarDay

MAX_DAYS_SCANNED = 3700  # ten years: a calendar with no working day at all stops here


class CalendarError(ValueError):
    """The calendar has no working time where it is needed."""


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()  # weekend days worked
    weekend: frozenset[int] = frozenset({5, 6})  # Monday is 0
    day_start: time = time(9)
    day_end: time = time(18)

    def __post_init__(self) -> None:
        if self.day_start >= self.day_end:
            raise CalendarError("the working day must end after it starts")

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day not in self.holidays and day.weekday() not in self.weekend

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first one after it."""
        for _ in range(MAX_DAYS_SCANNED):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise CalendarError("no working day in ten years")

    def working_moment(self, moment: datetime) -> datetime:
        """``moment`` when it is in working time, else the next moment that is."""
        day = moment.date()
        if self.is_working_day(day):
            if moment.time() < self.day_start:
                return datetime.combine(day, self.day_start)
            if moment.time() < self.day_end:
                return moment
        following = self.next_working_day(day + timedelta(days=1))
        return datetime.combine(following, self.day_start)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        if days < 0:
            raise ValueError("days must not be negative")
        moment = self.working_moment(start)
        day = moment.date()
        for _ in range(days):
            day = self.next_working_day(day + timedelta(days=1))
        return datetime.combine(day, moment.time())

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        if hours < 0:
            raise ValueError("hours must not be negative")
        left = timedelta(hours=hours)
        moment = self.working_moment(start)
        while True:
            end_of_day = datetime.combine(moment.date(), self.day_end)
            if moment + left <= end_of_day:
                return moment + left
            left -= end_of_day - moment
            following = self.next_working_day(moment.date() + timedelta(days=1))
            moment = datetime.combine(following, self.day_start)

    def subtract_working_hours(self, end: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours before ``end`` (for reminders)."""
        if hours < 0:
            raise ValueError("hours must not be negative")
        left = timedelta(hours=hours)
        moment = self._previous_working_moment(end)
        while True:
            start_of_day = datetime.combine(moment.date(), self.day_start)
            if moment - left >= start_of_day:
                return moment - left
            left -= moment - start_of_day
            moment = datetime.combine(self._previous_working_day(moment.date()), self.day_end)

    def subtract_working_days(self, end: datetime, days: int) -> datetime:
        if days < 0:
            raise ValueError("days must not be negative")
        moment = self._previous_working_moment(end)
        day = moment.date()
        for _ in range(days):
            day = self._previous_working_day(day)
        return datetime.combine(day, moment.time())

    def _previous_working_day(self, day: date) -> date:
        for _ in range(MAX_DAYS_SCANNED):
            day -= timedelta(days=1)
            if self.is_working_day(day):
                return day
        raise CalendarError("no working day in ten years")

    def _previous_working_moment(self, moment: datetime) -> datetime:
        day = moment.date()
        if self.is_working_day(day):
            if moment.time() > self.day_end:
                return datetime.combine(day, self.day_end)
            if moment.time() > self.day_start:
                return moment
        return datetime.combine(self._previous_working_day(day), self.day_end)


@dataclass(frozen=True)
class CalendarDays:
    """Holidays and extra working days as stored (for :func:`load`)."""

    holidays: set[date] = field(default_factory=set)
    working_days: set[date] = field(default_factory=set)


_DAYS = select(WorkCalendarDay.__table__.c.day, WorkCalendarDay.__table__.c.working)


def load(session: Session, *, day_start: time = time(9), day_end: time = time(18)) -> WorkCalendar:
    """The calendar with the holidays and extra working days kept in the database."""
    days = CalendarDays()
    for day, working in session.execute(_DAYS):
        (days.working_days if working else days.holidays).add(day)
    return WorkCalendar(
        holidays=frozenset(days.holidays),
        working_days=frozenset(days.working_days),
        day_start=day_start,
        day_end=day_end,
    )


def set_day(session: Session, day: date, *, working: bool, note: str = "") -> None:
    """Mark ``day`` as a holiday (``working=False``) or an extra working day."""
    row = session.get(WorkCalendarDay, day)
    if row is None:
        session.add(WorkCalendarDay(day=day, working=working, note=note[:200]))
    else:
        row.working, row.note = working, note[:200]
