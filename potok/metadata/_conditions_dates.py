"""Dates in conditions: ``date_add`` arithmetic (months clamp to the month's end, None outside
the years 1-9999), and the ranges of a field's values that satisfy a comparison through
``date_add``, so that SQL compares the raw column (see :mod:`potok.metadata.conditions`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from potok.metadata._conditions_tree import _DateAdd

_OFFSET_UNITS = {
    "minutes": timedelta(minutes=1),
    "hours": timedelta(hours=1),
    "days": timedelta(days=1),
    "weeks": timedelta(weeks=1),
}
_MONTH_UNITS = {"months": 1, "years": 12}
_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
_MIDNIGHT = time()


def _add_months(value: date, months: int) -> date | None:
    """``value`` (a date or a date-time) plus whole months, the day clamped to the month's
    end; None outside the years 1-9999."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        return None
    return value.replace(
        year=year, month=month + 1, day=min(value.day, calendar.monthrange(year, month + 1)[1])
    )


def _shift(value: date | None, amount: int, unit: str) -> date | None:
    if value is None:
        return None
    if unit in _MONTH_UNITS:
        return _add_months(value, amount * _MONTH_UNITS[unit])
    try:
        return value + amount * _OFFSET_UNITS[unit]
    except OverflowError:
        return None


def _midnight(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, _MIDNIGHT)


def _next(point: date) -> date | None:
    """The next representable date or date-time (None past the end)."""
    try:
        return point + (_MICROSECOND if isinstance(point, datetime) else _DAY)
    except OverflowError:
        return None


# A set of points is a sorted list of disjoint half-open intervals [low, high), where None
# stands for "unbounded" on that side.
_Interval = tuple[date | None, date | None]


def _normalize(intervals: list[_Interval]) -> list[_Interval]:
    kept = [(lo, hi) for lo, hi in intervals if lo is None or hi is None or lo < hi]
    kept.sort(key=lambda item: (item[0] is not None, item[0] or date.min))
    merged: list[_Interval] = []
    for lo, hi in kept:
        if merged:
            last_lo, last_hi = merged[-1]
            if last_hi is None:
                break
            if lo is None or lo <= last_hi:
                merged[-1] = (last_lo, None if hi is None else max(hi, last_hi))
                continue
        merged.append((lo, hi))
    return merged


def _intersect(first: list[_Interval], second: list[_Interval]) -> list[_Interval]:
    result = []
    for a_lo, a_hi in first:
        for b_lo, b_hi in second:
            lo = b_lo if a_lo is None else a_lo if b_lo is None else max(a_lo, b_lo)
            hi = b_hi if a_hi is None else a_hi if b_hi is None else min(a_hi, b_hi)
            result.append((lo, hi))
    return _normalize(result)


def _complement(intervals: list[_Interval]) -> list[_Interval]:
    result: list[_Interval] = []
    cursor: date | None = None
    for lo, hi in _normalize(intervals):
        if lo is not None:
            result.append((cursor, lo))
        if hi is None:
            return _normalize(result)
        cursor = hi
    result.append((cursor, None))
    return _normalize(result)


class _Step:
    """One ``date_add`` (or a date read as midnight) applied to a field's value. ``below(c)``
    is the set of values v with ``apply(v)`` defined and less than c."""

    def apply(self, value: date) -> date | None:
        raise NotImplementedError

    def domain(self) -> list[_Interval]:
        raise NotImplementedError

    def below(self, bound: date) -> list[_Interval]:
        raise NotImplementedError

    def preimage(self, intervals: list[_Interval]) -> list[_Interval]:
        result: list[_Interval] = []
        for lo, hi in intervals:
            upper = self.domain() if hi is None else self.below(hi)
            result += upper if lo is None else _intersect(upper, _complement(self.below(lo)))
        return _normalize(result)


@dataclass(frozen=True)
class _Offset(_Step):
    delta: timedelta
    on_datetime: bool

    def _limits(self) -> tuple[date, date]:
        if self.on_datetime:
            return datetime.min, datetime.max
        return date.min, date.max

    def apply(self, value: date) -> date | None:
        try:
            return value + self.delta
        except OverflowError:
            return None

    def domain(self) -> list[_Interval]:
        low, high = self._limits()
        try:
            if self.delta >= timedelta(0):
                return [(None, _next(high - self.delta))]
            return [(low - self.delta, None)]
        except OverflowError:
            return []

    def below(self, bound: date) -> list[_Interval]:
        try:
            limit = bound - self.delta
        except OverflowError:
            return [] if self.delta > timedelta(0) else self.domain()
        return _intersect(self.domain(), [(None, limit)])


@dataclass(frozen=True)
class _Months(_Step):
    months: int
    on_datetime: bool

    def apply(self, value: date) -> date | None:
        return _add_months(value, self.months)

    def _days(self) -> tuple[date, date] | None:
        """The first and last day whose month shift stays within the years 1-9999."""
        top = 9999 * 12 + 11
        low, high = max(12, 12 - self.months), min(top, top - self.months)
        if low > high:
            return None
        last_year, last_month = divmod(high, 12)
        return date(low // 12, low % 12 + 1, 1), date(
            last_year, last_month + 1, calendar.monthrange(last_year, last_month + 1)[1]
        )

    def domain(self) -> list[_Interval]:
        days = self._days()
        if days is None:
            return []
        first, last = days
        after = _next(last)
        if self.on_datetime:
            return [(_midnight(first), None if after is None else _midnight(after))]
        return [(first, after)]

    def _first_day_at_least(self, bound: date) -> date | None:
        """The first day of the domain whose shift is on or after ``bound`` (a date)."""
        days = self._days()
        if days is None:
            return None
        low, high = days[0].toordinal(), days[1].toordinal()
        shifted = _add_months(days[1], self.months)
        if shifted is None or shifted < bound:
            return None
        while low < high:
            middle = (low + high) // 2
            moved = _add_months(date.fromordinal(middle), self.months)
            if moved is not None and moved >= bound:
                high = middle
            else:
                low = middle + 1
        return date.fromordinal(low)

    def below(self, bound: date) -> list[_Interval]:
        if not isinstance(bound, datetime):
            first = self._first_day_at_least(bound)
            return self.domain() if first is None else _intersect(self.domain(), [(None, first)])
        # Whole days that land before the bound's day, then on the bound's day the times
        # before the bound's time (several days can land on one: Jan 28-31 + 1 month).
        day, clock = bound.date(), bound.time()
        first = self._first_day_at_least(day)
        if first is None:
            return self.domain()
        following = _next(day)
        beyond = None if following is None else self._first_day_at_least(following)
        parts: list[_Interval] = [(None, _midnight(first))]
        current: date | None = first
        while current is not None and (beyond is None or current < beyond):
            if _add_months(current, self.months) != day:
                break
            parts.append((_midnight(current), datetime.combine(current, clock)))
            current = _next(current)
        return _intersect(self.domain(), _normalize(parts))


@dataclass(frozen=True)
class _Promote(_Step):
    """A date read as that day's midnight, to compare with a date-time."""

    def apply(self, value: date) -> date | None:
        return _midnight(value)

    def domain(self) -> list[_Interval]:
        return [(None, None)]

    def below(self, bound: date) -> list[_Interval]:
        day = bound.date() if isinstance(bound, datetime) else bound
        ceiling = day if _midnight(bound).time() == _MIDNIGHT else _next(day)
        return [(None, ceiling)]


def _steps(adds: list[_DateAdd]) -> list[_Step]:
    steps: list[_Step] = []
    for add in adds:
        on_datetime = add.operand.type == "datetime"
        if add.unit in _MONTH_UNITS:
            steps.append(_Months(add.amount * _MONTH_UNITS[add.unit], on_datetime))
        else:
            steps.append(_Offset(add.amount * _OFFSET_UNITS[add.unit], on_datetime))
    return steps


def _values_where(op: str, bound: date) -> list[_Interval]:
    """The points v with ``v op bound`` (op one of ==, <, <=, >, >=)."""
    after = _next(bound)
    if op == "<":
        return [(None, bound)]
    if op == "<=":
        return [(None, after)]
    if op == ">":
        return [] if after is None else [(after, None)]
    if op == ">=":
        return [(bound, None)]
    return [(bound, after)]


def _preimage(steps: list[_Step], intervals: list[_Interval]) -> list[_Interval]:
    for step in reversed(steps):
        intervals = step.preimage(intervals)
    return intervals
