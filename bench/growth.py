"""Growth curves: the same scenarios at several sizes side by side, so the cost per document
is visible (issue 5: lists and cards must stay flat from 10k to 1M documents).

    python -m bench growth --size 10k,100k,1m --db sqlite [--only card ...]
    python -m bench growth --from bench/results/2026-12-02-sqlite-1m-runtime.json ...

The first form runs the runtime scenarios (:mod:`bench.runtime`) at each size in turn,
smallest first, each size in a database of its own that is dropped before the next size is
filled, so memory stays that of one size. The second builds the same report from results
files written earlier — single-size files of ``python -m bench run``, growth files, or both —
so a 1M run made on another day can be joined to a fresh 10k and 100k. Both write
``bench/results/<date>-<db>-growth.json`` and ``.md``.

Per scenario, one row per size: Potok's p50 and p95, its floor's, the ratio Potok / floor, and
the growth of each from the smallest size: p50 at this size / p50 at the smallest. For
``card_throughput``, measured in requests per second, the growth is that of the time per
request (requests/s at the smallest size / requests/s at this size), so above 1 means slower
in every row.

Verdicts, comparing the largest size with the smallest:

- ``flat``: Potok's p50 grew at most ``FLAT`` times (2×).
- ``grows with the database``: Potok's p50 grew more than 2×, but at most 2× its floor's
  growth (the ratio to the floor stayed within 2×): the hand-written query slows down about
  as much, so the cost per document is the database's, not Potok's.
- ``grows``: Potok's p50 grew more than 2× and more than 2× its floor's: a cost per document
  of Potok's own.
- ``one size``: the scenario was measured at one size only.

Peak RSS is the process's peak so far: a growth run goes smallest size first, so each size's
figure is at least that size's own peak.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bench import runtime
from bench.database import BenchDatabase
from bench.harness import format_seconds, report

FLAT = 2.0
VERDICTS = ("flat", "grows with the database", "grows", "one size")
_MULTIPLIERS = {"k": 1_000, "m": 1_000_000}
_GROWTH_KEYS = ("size", "potok_growth", "floor_growth")
_ROW_KEYS = {"scenario", "potok", "target", "peak_rss_mb"}


def parse_size(label: str) -> int:
    """The number of documents a size names: ``10k`` -> 10,000, ``1m`` -> 1,000,000,
    ``120`` -> 120."""
    text = label.strip().lower()
    multiplier = _MULTIPLIERS.get(text[-1:], 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit() or int(digits) == 0:
        raise ValueError(f"not a size: {label!r} (sizes look like 10k, 100k, 1m)")
    return int(digits) * multiplier


def size_label(documents: int) -> str:
    """The short name of a size: 10,000 -> ``10k``, 1,000,000 -> ``1m``, 120 -> ``120``."""
    if documents % 1_000_000 == 0:
        return f"{documents // 1_000_000}m"
    if documents % 1_000 == 0:
        return f"{documents // 1_000}k"
    return str(documents)


def verdict(potok_growth: float | None, floor_growth: float | None) -> str:
    """Whether a scenario stays flat, from its growth and its floor's (the module's
    docstring defines each verdict)."""
    if potok_growth is None:
        return "one size"
    if potok_growth <= FLAT:
        return "flat"
    if floor_growth and potok_growth / floor_growth <= FLAT:
        return "grows with the database"
    return "grows"


def _cost(figures: dict[str, Any] | None) -> float | None:
    """Seconds per request: a timing's median, or the inverse of a throughput."""
    if not figures:
        return None
    if "median_s" in figures:
        return float(figures["median_s"]) or None
    per_second = figures.get("requests_per_s")
    return 1 / float(per_second) if per_second else None


def _growth(cost: float | None, base: float | None) -> float | None:
    return round(cost / base, 2) if cost is not None and base is not None else None


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in _GROWTH_KEYS}


def build(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The growth report of single-size reports (as :func:`bench.harness.report` writes them)
    of one database: sizes ascending, a summary and rows per scenario."""
    databases = sorted({str(found["database"]) for found in reports})
    if len(databases) > 1:
        raise ValueError(
            f"results of different databases cannot be compared: {', '.join(databases)}"
        )
    ordered = sorted(reports, key=lambda found: parse_size(found["size"]))
    sizes: dict[int, dict[str, Any]] = {}
    measured: dict[str, dict[int, dict[str, Any]]] = {}
    for found in ordered:
        documents = parse_size(found["size"])
        entry = sizes.setdefault(
            documents,
            {
                "size": size_label(documents),
                "documents": documents,
                "python": found.get("python", ""),
                "machine": found.get("machine", ""),
                "source": "",
            },
        )
        source = found.get("source", "")
        if source and source not in entry["source"].split(", "):
            entry["source"] = ", ".join(filter(None, [entry["source"], source]))
        for row in found["results"]:
            at = measured.setdefault(row["scenario"], {})
            if documents in at:
                raise ValueError(
                    f"{row['scenario']} at {size_label(documents)} is in more than one "
                    "results file; give each size once"
                )
            at[documents] = _plain(row)
    if len(sizes) < 2:
        held = ", ".join(entry["size"] for entry in sizes.values()) or "none"
        raise ValueError(f"a growth curve needs results at two sizes or more; there are: {held}")
    scenarios = []
    for name, at in measured.items():
        first = at[min(at)]
        potok_base, floor_base = _cost(first["potok"]), _cost(first.get("floor"))
        rows = [
            {
                **at[documents],
                "size": size_label(documents),
                "potok_growth": _growth(_cost(at[documents]["potok"]), potok_base),
                "floor_growth": _growth(_cost(at[documents].get("floor")), floor_base),
            }
            for documents in sorted(at)
        ]
        last = rows[-1] if len(rows) > 1 else {}
        potok_growth, floor_growth = last.get("potok_growth"), last.get("floor_growth")
        scenarios.append(
            {
                "scenario": name,
                "target": first["target"],
                "from": rows[0]["size"],
                "to": rows[-1]["size"],
                "potok_growth": potok_growth,
                "floor_growth": floor_growth,
                "verdict": verdict(potok_growth, floor_growth),
                "rows": rows,
            }
        )
    return {
        "database": databases[0],
        "flat_within": FLAT,
        "sizes": [sizes[documents] for documents in sorted(sizes)],
        "scenarios": scenarios,
    }


def reports_in(data: dict[str, Any], source: str) -> list[dict[str, Any]]:
    """The single-size reports a results file holds: itself, or each size of a growth file."""
    if "results" in data and "size" in data:
        rows = data["results"]
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and row.keys() >= _ROW_KEYS for row in rows
        ):
            raise ValueError(f"{source}: its results lack {', '.join(sorted(_ROW_KEYS))}")
        return [{**data, "source": data.get("source") or source}]
    if "scenarios" in data and "sizes" in data:
        by_size = {
            entry["size"]: {
                "database": data["database"],
                "size": entry["size"],
                "python": entry.get("python", ""),
                "machine": entry.get("machine", ""),
                "source": entry.get("source") or source,
                "results": [],
            }
            for entry in data["sizes"]
        }
        for scenario in data["scenarios"]:
            for row in scenario["rows"]:
                by_size[row["size"]]["results"].append(_plain(row))
        return list(by_size.values())
    raise ValueError(f"{source}: not a results file of python -m bench")


def load(paths: list[Path]) -> list[dict[str, Any]]:
    """The single-size reports in results files, each marked with its file's name."""
    reports = []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot be read as a results file ({error})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a results file of python -m bench")
        reports += reports_in(data, path.name)
    return reports


def run(
    sizes: list[str],
    open_database: Callable[[], BenchDatabase],
    chosen: set[str],
    *,
    runs: int = 200,
    seconds: float = 10.0,
) -> list[dict[str, Any]]:
    """The ``chosen`` runtime scenarios at each size, smallest first, as single-size reports.
    Each size fills a database from ``open_database()`` that is dropped before the next."""
    reports = []
    for documents in sorted({parse_size(size) for size in sizes}):
        bench_database = open_database()
        with bench_database as database:
            results = runtime.run(
                bench_database.settings, database, documents, chosen, runs=runs, seconds=seconds
            )
        found = report(bench_database.kind, size_label(documents), results)
        found["source"] = f"run {date.today().isoformat()}"
        reports.append(found)
        del results
        gc.collect()
    return reports


def _times(growth: float | None) -> str:
    if growth is None:
        return ""
    return f"×{growth:.1f}" if growth < 10 else f"×{growth:.0f}"


def _figures(figures: dict[str, Any] | None) -> list[str]:
    if not figures:
        return ["", ""]
    if "median_s" in figures:
        return [format_seconds(figures["median_s"]), format_seconds(figures["p95_s"])]
    return [
        f"{figures['requests_per_s']:.0f} req/s",
        f"p50 {format_seconds(figures['latency_p50_s'])}, "
        f"p99 {format_seconds(figures['latency_p99_s'])}",
    ]


def table(growth: dict[str, Any]) -> list[str]:
    """The Markdown page: what "flat" means, the sizes, a verdict per scenario, then a row per
    scenario and size."""
    labels = [entry["size"] for entry in growth["sizes"]]
    lines = [
        f"# Growth: {growth['database']}, {' → '.join(labels)} documents",
        "",
        f"Flat: Potok's p50 at the largest size within {growth['flat_within']:g}× of the "
        "smallest. Growth is p50 at a size / p50 at the smallest (card_throughput: the time "
        "per request, from requests/s); the floor's growth beside it is the database's own. "
        "'Grows with the database': Potok grew no more than "
        f"{growth['flat_within']:g}× its floor's growth.",
        "",
        "Sizes: "
        + "; ".join(
            f"{entry['size']} ({entry['source'] or 'unknown source'}; Python {entry['python']})"
            for entry in growth["sizes"]
        )
        + ".",
        "",
        "| scenario | target | Potok growth | floor growth | verdict |",
        "|---|---|---|---|---|",
    ]
    for scenario in growth["scenarios"]:
        span = f" from {scenario['from']} to {scenario['to']}" if scenario["potok_growth"] else ""
        lines.append(
            f"| {scenario['scenario']} | {scenario['target']} "
            f"| {_times(scenario['potok_growth'])}{span} | {_times(scenario['floor_growth'])} "
            f"| {scenario['verdict']} |"
        )
    lines += [
        "",
        "| scenario | size | Potok p50 | Potok p95 | floor p50 | floor p95 | ratio "
        "| Potok growth | floor growth | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in growth["scenarios"]:
        for row in scenario["rows"]:
            ratio = row.get("ratio_throughput", row.get("ratio_median", ""))
            cells = [scenario["scenario"], row["size"]]
            cells += _figures(row["potok"]) + _figures(row.get("floor"))
            cells += [str(ratio), _times(row["potok_growth"]), _times(row["floor_growth"])]
            cells.append(f"{row['peak_rss_mb']} MB")
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def write(growth: dict[str, Any], directory: Path) -> Path:
    """Write ``<date>-<db>-growth.json`` and ``.md`` into ``directory``; the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"{date.today().isoformat()}-{growth['database']}-growth"
    stem.with_suffix(".json").write_text(json.dumps(growth, indent=2) + "\n")
    stem.with_suffix(".md").write_text("\n".join(table(growth)) + "\n")
    return stem.with_suffix(".json")


__all__ = [
    "FLAT",
    "VERDICTS",
    "build",
    "load",
    "parse_size",
    "reports_in",
    "run",
    "size_label",
    "table",
    "verdict",
]
