"""Measuring: repeated timings with median, p95, min and max, and the process's peak memory."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    def summary(self) -> dict[str, Any]:
        return {
            "runs": len(self.samples),
            "median_s": round(self.median, 6),
            "p95_s": round(self.p95, 6),
            "min_s": round(min(self.samples), 6),
            "max_s": round(max(self.samples), 6),
        }


def measure(action: Callable[[int], object], runs: int) -> Timing:
    """Time ``action(run_number)`` ``runs`` times."""
    timing = Timing()
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        timing.samples.append(time.perf_counter() - started)
    return timing


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class Result:
    scenario: str
    size: int
    measured: Timing
    floor: Timing | None
    target: str
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "documents": self.size,
            "potok": self.measured.summary(),
            "target": self.target,
            "peak_rss_mb": peak_rss_mb(),
            "notes": self.notes,
        }
        if self.floor is not None:
            data["floor"] = self.floor.summary()
            data["ratio_median"] = round(self.measured.median / self.floor.median, 2)
        return data
