"""The working calendar: working days and hours over weekends, Russian holidays, after hours."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from potok.platform.db import Database
from potok.runtime.routing import calendar
from potok.runtime.routing.calendar import CalendarError, WorkCalendar

NEW_YEAR_2027 = frozenset(date(2027, 1, day) for day in range(1, 9))  # Fri 1 … Fri 8
RUSSIA = WorkCalendar(holidays=NEW_YEAR_2027 | {date(2027, 2, 23), date(2027, 3, 8)})


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        pytest.param("2026-12-02T10:30", 1, "2026-12-03T10:30", id="wednesday-plus-one"),
        pytest.param("2026-12-04T17:00", 1, "2026-12-07T17:00", id="friday-to-monday"),
        pytest.param("2026-12-05T10:00", 1, "2026-12-08T09:00", id="saturday-starts-monday"),
        pytest.param("2026-12-02T19:30", 1, "2026-12-04T09:00", id="after-hours"),
        pytest.param("2026-12-02T07:00", 0, "2026-12-02T09:00", id="before-hours-zero"),
        pytest.param("2026-12-31T12:00", 1, "2027-01-11T12:00", id="over-new-year-holidays"),
        pytest.param("2027-01-03T12:00", 0, "2027-01-11T09:00", id="inside-holidays"),
        pytest.param("2027-02-20T12:00", 2, "2027-02-25T09:00", id="defender-day"),
        pytest.param("2026-12-30T15:00", 5, "2027-01-14T15:00", id="five-days-over-holidays"),
    ],
)
def test_working_days(start: str, days: int, expected: str) -> None:
    assert RUSSIA.add_working_days(at(start), days) == at(expected)


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        pytest.param("2026-12-02T10:00", 2, "2026-12-02T12:00", id="same-day"),
        pytest.param("2026-12-02T16:00", 2, "2026-12-02T18:00", id="exactly-end-of-day"),
        pytest.param("2026-12-02T17:00", 2, "2026-12-03T10:00", id="over-night"),
        pytest.param("2026-12-04T17:30", 1, "2026-12-07T09:30", id="over-weekend"),
        pytest.param("2026-12-06T23:00", 9, "2026-12-07T18:00", id="sunday-night-full-day"),
        pytest.param("2026-12-31T17:00", 3, "2027-01-11T11:00", id="over-new-year"),
        pytest.param("2026-12-02T10:00", 20, "2026-12-04T12:00", id="several-days"),
    ],
)
def test_working_hours(start: str, hours: int, expected: str) -> None:
    assert RUSSIA.add_working_hours(at(start), hours) == at(expected)


def test_a_worked_saturday_counts_and_custom_hours_apply() -> None:
    worked = date(2026, 12, 5)  # a Saturday
    custom = WorkCalendar(working_days=frozenset({worked}), day_start=time(8), day_end=time(17))
    assert custom.is_working_day(worked)
    assert custom.add_working_days(at("2026-12-04T12:00"), 1) == at("2026-12-05T12:00")
    assert custom.add_working_hours(at("2026-12-04T16:00"), 2) == at("2026-12-05T09:00")


def test_reminders_count_back_in_working_time() -> None:
    assert RUSSIA.subtract_working_hours(at("2026-12-07T10:00"), 2) == at("2026-12-04T17:00")
    assert RUSSIA.subtract_working_hours(at("2027-01-11T09:30"), 1) == at("2026-12-31T17:30")
    assert RUSSIA.subtract_working_days(at("2027-01-11T12:00"), 1) == at("2026-12-31T12:00")
    assert RUSSIA.subtract_working_hours(at("2026-12-02T20:00"), 1) == at("2026-12-02T17:00")


def test_impossible_calendars_and_negative_amounts_are_refused() -> None:
    with pytest.raises(CalendarError):
        WorkCalendar(day_start=time(18), day_end=time(9))
    nothing = WorkCalendar(weekend=frozenset(range(7)))
    with pytest.raises(CalendarError):
        nothing.add_working_days(at("2026-12-02T10:00"), 1)
    with pytest.raises(ValueError, match="negative"):
        RUSSIA.add_working_hours(at("2026-12-02T10:00"), -1)
    with pytest.raises(ValueError, match="negative"):
        RUSSIA.add_working_days(at("2026-12-02T10:00"), -1)


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1)),
    hours=st.integers(min_value=0, max_value=200),
)
def test_working_hours_land_in_working_time_and_add_up(start: datetime, hours: int) -> None:
    end = RUSSIA.add_working_hours(start, hours)
    assert end >= start
    assert RUSSIA.is_working_day(end.date())
    assert time(9) <= end.time() <= time(18)
    if hours >= 2:
        middle = RUSSIA.add_working_hours(start, 1)
        assert RUSSIA.add_working_hours(middle, hours - 1) == end


@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1)),
    days=st.integers(min_value=1, max_value=40),
)
def test_working_days_skip_exactly_the_days_off(start: datetime, days: int) -> None:
    end = RUSSIA.add_working_days(start, days)
    first = RUSSIA.working_moment(start)
    between = [
        first.date() + timedelta(days=offset)
        for offset in range(1, (end.date() - first.date()).days + 1)
    ]
    assert sum(RUSSIA.is_working_day(day) for day in between) == days
    assert end.time() == first.time()


def test_holidays_and_worked_days_are_kept_in_the_database(db: Database) -> None:
    with db.session(write=True) as session:
        for day in NEW_YEAR_2027:
            calendar.set_day(session, day, working=False, note="New Year")
        calendar.set_day(session, date(2027, 1, 9), working=True, note="worked Saturday")
        calendar.set_day(session, date(2027, 1, 9), working=True, note="moved")
    with db.session() as session:
        loaded = calendar.load(session)
    assert loaded.holidays == NEW_YEAR_2027
    assert loaded.working_days == {date(2027, 1, 9)}
    assert loaded.add_working_days(at("2026-12-31T12:00"), 1) == at("2027-01-09T12:00")
