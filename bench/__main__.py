"""python -m bench run [--only NAME ...] [--size 10k|100k|1m] [--db sqlite|postgresql]

Metadata scenarios: publish_field, validate_compile (the default). Runtime scenarios: card,
card_throughput, list, list_filter, list_page_filter, search — or ``--only runtime`` for all
six, which share one filled database. Route engine scenarios: route_transitions, inbox — or
``--only routes`` for both (the inbox always has 10,000 tasks, whatever ``--size``). Results
go to ``bench/results/<date>-<db>-<size>[-runtime][-routes].json`` and ``.md``.

    python -m bench growth --size 10k,100k,1m [--db ...] [--only NAME ...]
    python -m bench growth --from FILE [FILE ...]

Growth curves (:mod:`bench.growth`): the runtime scenarios at several sizes side by side, or
the same report built from results files written earlier, in
``bench/results/<date>-<db>-growth.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from bench import growth, metadata, routes, runtime
from bench.database import POSTGRES_ADMIN, BenchDatabase
from bench.harness import Result, Throughput, format_seconds, report

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
RESULTS = Path(__file__).parent / "results"
METADATA = ("publish_field", "validate_compile")


def run(args: argparse.Namespace) -> int:
    size = SIZES[args.size]
    chosen = set(args.only or METADATA)
    if "runtime" in chosen:
        chosen |= set(runtime.SCENARIOS)
    if "routes" in chosen:
        chosen |= set(routes.SCENARIOS)
    results: list[Result] = []
    if "validate_compile" in chosen:
        results += metadata.validate_compile()
    if "publish_field" in chosen:
        with BenchDatabase(args.db, args.postgres_url) as database:
            results += metadata.publish_field(database, size)
    if chosen & set(runtime.SCENARIOS):
        bench_database = BenchDatabase(args.db, args.postgres_url)
        with bench_database as database:
            results += runtime.run(
                bench_database.settings,
                database,
                size,
                chosen,
                runs=args.runs,
                seconds=args.seconds,
            )
    if chosen & set(routes.SCENARIOS):
        bench_database = BenchDatabase(args.db, args.postgres_url)
        with bench_database as database:
            results += routes.run(bench_database.settings, database, size, chosen, runs=args.runs)
    args.results.mkdir(parents=True, exist_ok=True)
    suffix = ""
    if not chosen & set(METADATA):
        suffix += "-runtime" if chosen & set(runtime.SCENARIOS) else ""
        suffix += "-routes" if chosen & set(routes.SCENARIOS) else ""
    stem = args.results / f"{date.today().isoformat()}-{args.db}-{args.size}{suffix}"
    written = report(args.db, args.size, results)
    stem.with_suffix(".json").write_text(json.dumps(written, indent=2) + "\n")
    lines = table(results)
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def table(results: list[Result]) -> list[str]:
    """The Markdown table: Potok and its floor side by side, ratio = Potok / floor (for
    throughput, Potok's requests per second / the floor's)."""
    lines = [
        "| scenario | docs | Potok median | Potok p95 | Potok min–max | floor median | floor p95 "
        "| floor min–max | ratio | peak RSS | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        row = result.as_dict()
        cells = [row["scenario"], str(row["documents"])]
        for measured in (result.measured, result.floor):
            if measured is None:
                cells += ["", "", ""]
            elif isinstance(measured, Throughput):
                cells += [
                    f"{measured.per_second:.0f} req/s",
                    f"p50 {format_seconds(measured.latency_p50_s)}, "
                    f"p99 {format_seconds(measured.latency_p99_s)}",
                    f"{measured.requests} requests, {measured.errors} errors",
                ]
            else:
                low, high = min(measured.samples), max(measured.samples)
                cells += [
                    format_seconds(measured.median),
                    format_seconds(measured.p95),
                    f"{format_seconds(low)} – {format_seconds(high)}",
                ]
        ratio = row.get("ratio_throughput", row.get("ratio_median", ""))
        cells += [str(ratio), f"{row['peak_rss_mb']} MB", row["target"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def grow(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Measure the runtime scenarios at ``--size`` sizes, or join ``--from`` files; write and
    print the growth report."""
    if args.files and (args.size or args.only or args.db):
        parser.error("--from builds the report from files: it takes no --size, --only or --db")
    if not args.files and not args.size:
        parser.error("give the sizes to measure (--size 10k,100k,1m) or results files (--from)")
    try:
        if args.files:
            reports = growth.load(args.files)
        else:
            chosen = set(args.only or ["runtime"])
            if "runtime" in chosen:
                chosen |= set(runtime.SCENARIOS)
            kind = args.db or "sqlite"
            reports = growth.run(
                args.size,
                lambda: BenchDatabase(kind, args.postgres_url),
                chosen,
                runs=args.runs,
                seconds=args.seconds,
            )
        built = growth.build(reports)
    except ValueError as error:
        parser.error(str(error))
    growth.write(built, args.results)
    print("\n".join(growth.table(built)))
    return 0


def _sizes(value: str) -> list[str]:
    """``10k,100k,1m`` -> the sizes, each one of SIZES, at least two."""
    sizes = [size.strip().lower() for size in value.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown size {unknown[0]!r} (choose from {', '.join(SIZES)})"
        )
    if len(set(sizes)) < 2:
        raise argparse.ArgumentTypeError("a growth curve needs two sizes or more, e.g. 10k,100k")
    return sizes


def _common(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--postgres-url",
        default=POSTGRES_ADMIN,
        help="an admin connection; a scratch database is created beside it",
    )
    command.add_argument(
        "--runs", type=int, default=200, help="timed requests per runtime scenario"
    )
    command.add_argument(
        "--seconds", type=float, default=10.0, help="load duration of card_throughput per server"
    )
    command.add_argument(
        "--results", type=Path, default=RESULTS, help="where to write (default bench/results)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="run scenarios and write bench/results/")
    runner.add_argument(
        "--only",
        action="append",
        choices=[*METADATA, *runtime.SCENARIOS, "runtime", *routes.SCENARIOS, "routes"],
    )
    runner.add_argument("--size", choices=sorted(SIZES), default="10k")
    runner.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    _common(runner)
    grower = commands.add_parser(
        "growth", help="the runtime scenarios at several sizes side by side (growth curves)"
    )
    grower.add_argument(
        "--size", type=_sizes, help="comma-separated sizes to measure, e.g. 10k,100k,1m"
    )
    grower.add_argument(
        "--from",
        dest="files",
        nargs="+",
        type=Path,
        metavar="FILE",
        help="build the report from results files written earlier instead of measuring",
    )
    grower.add_argument("--only", action="append", choices=[*runtime.SCENARIOS, "runtime"])
    grower.add_argument("--db", choices=["sqlite", "postgresql"], help="default sqlite")
    _common(grower)
    args = parser.parse_args(argv)
    if args.command == "growth":
        return grow(args, grower)
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
