"""Measuring: repeated timings with median, p95, min and max, requests per second under load,
and the process's peak memory."""

from __future__ import annotations

import platform
import resource
import statistics
import sys
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
    """Time ``action(run_number)`` ``runs`` times. An action that returns a number of seconds
    is timed by that figure (e.g. the server-side time of a request) instead of the clock."""
    timing = Timing()
    for run in range(runs):
        started = time.perf_counter()
        reported = action(run)
        elapsed = time.perf_counter() - started
        timing.samples.append(reported if isinstance(reported, float) else elapsed)
    return timing


@dataclass
class Throughput:
    """Requests answered under concurrent load, with the load driver's latency percentiles."""

    requests: int
    seconds: float
    errors: int
    latency_p50_s: float
    latency_p99_s: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "requests_per_s": round(self.per_second, 1),
            "latency_p50_s": round(self.latency_p50_s, 6),
            "latency_p99_s": round(self.latency_p99_s, 6),
        }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@dataclass
class Result:
    scenario: str
    size: int
    measured: Timing | Throughput
    floor: Timing | Throughput | None
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
        if isinstance(self.floor, Timing) and isinstance(self.measured, Timing):
            data["floor"] = self.floor.summary()
            data["ratio_median"] = round(self.measured.median / self.floor.median, 2)
            data["ratio_p95"] = round(self.measured.p95 / self.floor.p95, 2)
        elif isinstance(self.floor, Throughput) and isinstance(self.measured, Throughput):
            data["floor"] = self.floor.summary()
            data["ratio_throughput"] = round(self.measured.per_second / self.floor.per_second, 2)
        return data


def report(database: str, size: str, results: list[Result]) -> dict[str, Any]:
    """One run's results file: the database kind, the size label (``10k``), where it ran."""
    return {
        "database": database,
        "size": size,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": [result.as_dict() for result in results],
    }


def format_seconds(seconds: float) -> str:
    """``6.8 ms`` below a second, ``1.234 s`` from a second up."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"
