"""Time as Potok stores it: naive UTC datetimes on both databases.

Code that needs "now" takes a clock (a zero-argument callable) so tests can move time
forward; ``utcnow`` is the real one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
