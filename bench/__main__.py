"""python -m bench run [--only NAME ...] [--size 10k|100k|1m] [--db sqlite|postgresql]"""

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

from bench import metadata
from bench.harness import Result
from potok.platform import migrate
from potok.platform.db import Database
from potok.settings import Settings

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
RESULTS = Path(__file__).parent / "results"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class BenchDatabase:
    """A fresh, migrated database for one scenario, dropped afterwards."""

    def __init__(self, kind: str, admin_url: str) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.folder = tempfile.TemporaryDirectory(prefix="potok-bench-")
        self.name = f"potok_bench_{Path(self.folder.name).name.replace('-', '_')}"

    def __enter__(self) -> Database:
        if self.kind == "sqlite":
            settings = Settings.defaults(data_dir=Path(self.folder.name))
        else:
            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            url = self.admin_url.rsplit("/", 1)[0] + "/" + self.name
            settings = Settings.defaults(data_dir=Path(self.folder.name), database_url=url)
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
    chosen = set(args.only or ["publish_field", "validate_compile"])
    results: list[Result] = []
    if "validate_compile" in chosen:
        results += metadata.validate_compile()
    if "publish_field" in chosen:
        with BenchDatabase(args.db, args.postgres_url) as database:
            results += metadata.publish_field(database, size)
    rows = [result.as_dict() for result in results]
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{date.today().isoformat()}-{args.db}-{args.size}"
    report = {
        "database": args.db,
        "size": args.size,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "results": rows,
    }
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "| scenario | docs | Potok median | floor median | ratio | p95 | peak RSS | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        floor = row.get("floor", {}).get("median_s", "")
        lines.append(
            f"| {row['scenario']} | {row['documents']} | {row['potok']['median_s']:.4f} s | "
            f"{floor if floor == '' else f'{floor:.4f} s'} | {row.get('ratio_median', '')} | "
            f"{row['potok']['p95_s']:.4f} s | {row['peak_rss_mb']} MB | {row['target']} |"
        )
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="run scenarios and write bench/results/")
    runner.add_argument("--only", action="append", choices=["publish_field", "validate_compile"])
    runner.add_argument("--size", choices=sorted(SIZES), default="10k")
    runner.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    runner.add_argument(
        "--postgres-url",
        default=POSTGRES_ADMIN,
        help="an admin connection; a scratch database is created beside it",
    )
    args = parser.parse_args()
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
