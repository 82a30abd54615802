"""python -m bench run [--only NAME ...] [--size 10k|100k|1m] [--db sqlite|postgresql]

Metadata scenarios: publish_field, validate_compile (the default). Runtime scenarios: card,
card_throughput, list, list_filter, list_page_filter, search — or ``--only runtime`` for all
six, which share one filled database. Route engine scenarios: route_transitions, inbox — or
``--only routes`` for both (the inbox always has 10,000 tasks, whatever ``--size``). Results
go to ``bench/results/<date>-<db>-<size>[-runtime][-routes].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from bench import metadata, routes, runtime
from bench.harness import Result, Throughput
from potok.platform import migrate
from potok.platform.db import Database
from potok.settings import Settings

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
RESULTS = Path(__file__).parent / "results"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
METADATA = ("publish_field", "validate_compile")
SECRET_KEY = runtime.SECRET_KEY


class BenchDatabase:
    """A fresh, migrated database for one scenario, dropped afterwards."""

    def __init__(self, kind: str, admin_url: str) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.folder = tempfile.TemporaryDirectory(prefix="potok-bench-")
        self.name = f"potok_bench_{Path(self.folder.name).name.replace('-', '_')}"

    def __enter__(self) -> Database:
        if self.kind == "sqlite":
            settings = Settings.defaults(data_dir=Path(self.folder.name), secret_key=SECRET_KEY)
        else:
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            url = self.admin_url.rsplit("/", 1)[0] + "/" + self.name
            settings = Settings.defaults(
                data_dir=Path(self.folder.name), database_url=url, secret_key=SECRET_KEY
            )
        self.settings = settings.replace(scheduler=False)
        self.database = Database.from_settings(settings)
        migrate.upgrade(self.database.engine)
        return self.database

    def __exit__(self, *_: object) -> None:
        self.database.dispose()
        if self.kind != "sqlite":
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()
        self.folder.cleanup()


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
    rows = [result.as_dict() for result in results]
    RESULTS.mkdir(exist_ok=True)
    suffix = ""
    if not chosen & set(METADATA):
        suffix += "-runtime" if chosen & set(runtime.SCENARIOS) else ""
        suffix += "-routes" if chosen & set(routes.SCENARIOS) else ""
    stem = RESULTS / f"{date.today().isoformat()}-{args.db}-{args.size}{suffix}"
    report = {
        "database": args.db,
        "size": args.size,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": rows,
    }
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = table(results)
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


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
                    f"p50 {_ms(measured.latency_p50_s)}, p99 {_ms(measured.latency_p99_s)}",
                    f"{measured.requests} requests, {measured.errors} errors",
                ]
            else:
                low, high = min(measured.samples), max(measured.samples)
                cells += [_ms(measured.median), _ms(measured.p95), f"{_ms(low)} – {_ms(high)}"]
        ratio = row.get("ratio_throughput", row.get("ratio_median", ""))
        cells += [str(ratio), f"{row['peak_rss_mb']} MB", row["target"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> int:
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
    runner.add_argument(
        "--postgres-url",
        default=POSTGRES_ADMIN,
        help="an admin connection; a scratch database is created beside it",
    )
    runner.add_argument("--runs", type=int, default=200, help="timed requests per runtime scenario")
    runner.add_argument(
        "--seconds", type=float, default=10.0, help="load duration of card_throughput per server"
    )
    args = parser.parse_args()
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
