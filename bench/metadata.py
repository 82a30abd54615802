"""Metadata scenarios (issue: metadata core).

- ``publish_field``: publish a new filterable field on the Clients stream of the Sales
  configuration holding N documents — plan, dry run, ALTER TABLE, index, new version — vs
  the same ALTER TABLE + CREATE INDEX written by hand. Target: under 5 s at 1M on SQLite.
- ``validate_compile``: validate the whole Sales configuration and compile its streams to
  tables vs validating the documents against their JSON Schemas alone. Target: under 0.5 s.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench.harness import Result, measure
from potok.metadata import compiler, folders, store
from potok.metadata.dictionaries import items
from potok.metadata.model import read_stream
from potok.metadata.schema import check_document
from potok.metadata.schema_changes import Workspace
from potok.metadata.tables import StreamColumn
from potok.metadata.validate import check_configuration
from potok.platform.db import Database

SALES = Path(__file__).resolve().parents[1] / "potok" / "seed_configs" / "sales"
BATCH = 20_000
NAMES = ("Romashka", "Vasilek", "Lyutik", "Severstal", "Ромашка", "Василёк")


def valid_inn(number: int) -> str:
    """A valid 10-digit company INN made from a running number (check digit computed)."""
    digits = f"{number:09d}"[-9:]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return digits + str(check)


def load_sales(database: Database, now: datetime) -> dict[tuple[str, str], Any]:
    documents = folders.validate_folder(SALES).documents
    with database.session(write=True) as session:
        store.import_documents(session, documents, author="bench", now=now)
    return documents


def fill_clients(database: Database, size: int, now: datetime) -> None:
    rng = random.Random(42)
    with database.session(write=True) as session:
        ids = {
            key: [item.id for item in items(session, key)]
            for key in ("industries", "regions", "client_statuses", "client_categories")
        }
        _, compiled = Workspace(session, now, {}).compile()
        table = compiled["clients"].table
        for start in range(0, size, BATCH):
            rows = []
            for number in range(start, min(size, start + BATCH)):
                rows.append(
                    {
                        "reg_number": f"CL-{number + 1:07d}",
                        "created_at": now - timedelta(minutes=number),
                        "updated_at": now,
                        "name": f"{rng.choice(NAMES)} {number}",
                        "inn": valid_inn(number + 1),
                        "industry": rng.choice(ids["industries"]),
                        "region": rng.choice(ids["regions"]),
                        "status": rng.choice(ids["client_statuses"]),
                        "category": rng.choice(ids["client_categories"]),
                        "phone": f"+7 495 {rng.randrange(10**7):07d}",
                    }
                )
            session.execute(insert(table), rows)


def publish_field(database: Database, size: int, runs: int = 3) -> list[Result]:
    now = datetime(2026, 11, 1)
    documents = load_sales(database, now)
    fill_clients(database, size, now)
    clients = documents[("stream", "clients")]

    def publish(run: int) -> None:
        changed = copy.deepcopy(clients)
        changed["fields"].append(
            {
                "key": f"extra_{run}",
                "type": "text",
                "filterable": True,
                "labels": {"en": "Extra", "ru": "Доп."},
            }
        )
        clients["fields"] = changed["fields"]
        with database.session(write=True) as session:
            plan = store.plan_publish(session, documents={("stream", "clients"): changed})
            store.publish(session, plan, author="bench", now=now)

    def floor(run: int) -> None:
        with database.session(write=True) as session:
            session.execute(text(f"ALTER TABLE s_clients ADD COLUMN raw_{run} TEXT"))
            session.execute(text(f"CREATE INDEX ix_raw_{run} ON s_clients (raw_{run})"))

    measured = measure(publish, runs)
    raw = measure(floor, runs)
    return [
        Result(
            "publish_field",
            size,
            measured,
            raw,
            "< 5 s on SQLite at 1M documents",
            "plan + dry run + ADD COLUMN + index + version, vs ADD COLUMN + index",
        )
    ]


def validate_compile(runs: int = 50) -> list[Result]:
    documents = folders.read_folder(SALES).documents

    def potok(_run: int) -> None:
        problems = check_configuration(documents)
        assert not problems, problems
        metadata = compiler.new_metadata()
        for (kind, key), document in documents.items():
            if kind != "stream":
                continue
            slots = [
                StreamColumn(
                    stream=key, field=f, table_name=t, column_name=c, signature=s, active=True
                )
                for spec in document["fields"]
                for f, t, c, s in compiler.slot_plan(key, spec)
            ]
            compiler.compile_stream(read_stream(document), slots, metadata)

    def floor(_run: int) -> None:
        for document in documents.values():
            assert not check_document(document)

    return [
        Result(
            "validate_compile",
            len(documents),
            measure(potok, runs),
            measure(floor, runs),
            "< 0.5 s for the whole Sales configuration",
            "full validation + compile to tables, vs JSON Schema validation alone",
        )
    ]


__all__ = ["publish_field", "validate_compile"]
