"""Writing demo documents into the published streams' tables in bulk: registration numbers
by the streams' templates, ids, links within a batch, formulas, table rows, search text, and
the number counters left at the last number given."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from potok.metadata import numbering
from potok.metadata.compiler import CompiledStream
from potok.metadata.formulas import Formula, compile_formula, evaluation_order
from potok.metadata.model import Field
from potok.metadata.tables import NumberCounter

STREAMS = ("clients", "contracts", "works", "inquiries")  # in the order links need them


@dataclass
class Doc:
    """One document to write: its values by field key; ``links`` name documents of this batch
    (field -> (stream, index in the batch)) whose ids are known only after they are written."""

    moment: datetime
    author: int
    values: dict[str, Any]
    links: dict[str, tuple[str, int]] = field(default_factory=dict)


Batch = dict[str, list[Doc]]


@dataclass
class Writer:
    """Writes batches into the stream tables: numbers, ids, links, table rows, search text."""

    compiled: Mapping[str, CompiledStream]
    counters: dict[tuple[str, str], int]
    now: datetime
    written: dict[str, int] = field(default_factory=dict)
    # Per stream: (table field, column) -> formula; computed field -> formula, in order.
    row_formulas: dict[str, list[tuple[Field, Field, Formula]]] = field(default_factory=dict)
    formulas: dict[str, dict[str, Formula]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.written = dict.fromkeys(STREAMS, 0)
        for key, compiled in self.compiled.items():
            self.row_formulas[key] = [
                (item, column, compile_formula(str(column.spec["formula"])))
                for item in compiled.stream.fields
                for column in item.columns
                if "formula" in column.spec
            ]
            computed = {
                item.key: compile_formula(str(item.spec["formula"]))
                for item in compiled.stream.fields
                if item.type == "computed"
            }
            self.formulas[key] = {name: computed[name] for name in evaluation_order(computed)}

    def write(self, connection: Connection, batch: Batch) -> None:
        ids: dict[str, list[int]] = {}
        for key in STREAMS:
            ids[key] = self.insert(connection, key, batch[key], ids)
        self.save_counters(connection)

    def insert(
        self, connection: Connection, key: str, docs: list[Doc], ids: Mapping[str, list[int]]
    ) -> list[int]:
        if not docs:
            return []
        compiled = self.compiled[key]
        spec = compiled.stream.numbering
        template = str(spec.get("template") or "{counter}")
        rows = []
        for doc in docs:
            for name, (stream, index) in doc.links.items():
                doc.values[name] = ids[stream][index]
            self.compute(key, doc.values)
            period = numbering.period_of(spec, doc.moment)
            counter = self.counters[(key, period)] = self.counters.get((key, period), 0) + 1
            row = {
                "reg_number": numbering.format_number(template, counter, doc.moment),
                "reg_year": doc.moment.year,
                "author_id": doc.author,
                "created_at": doc.moment,
                "updated_at": doc.moment,
                "version": 1,
                "deleted": False,
            }
            for name, column in compiled.columns.items():
                row[column.name] = doc.values.get(name)
            rows.append(row)
        new_ids = self.insert_rows(connection, compiled.table, rows)
        self.insert_parts(connection, compiled, docs, new_ids)
        if compiled.search_fields:
            table = compiled.table
            connection.execute(
                update(table)
                .where(table.c.id >= new_ids[0], table.c.id <= new_ids[-1])
                .values(search_text=compiled.search_expression())
            )
        self.written[key] += len(docs)
        return new_ids

    @staticmethod
    def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows``; answers their ids in order. SQLite gives one row per statement when
        asked to return ids in order, so there the rows go in as one ``executemany`` (the write
        transaction is exclusive: they take the ids after the largest) and their ids are read
        back; PostgreSQL returns them from multi-row INSERTs."""
        if connection.dialect.name != "sqlite":
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            return list(connection.execute(statement, rows).scalars())
        last = connection.scalar(select(func.max(table.c.id))) or 0
        execute_many(connection, table, rows)
        return list(
            connection.scalars(select(table.c.id).where(table.c.id > last).order_by(table.c.id))
        )

    def insert_parts(
        self, connection: Connection, compiled: CompiledStream, docs: list[Doc], ids: list[int]
    ) -> None:
        for name, part in compiled.parts.items():
            item = compiled.stream.field(name)
            if item.type == "files":
                continue
            rows: list[dict[str, Any]] = []
            columns = compiled.part_columns.get(name, {})
            for doc, doc_id in zip(docs, ids, strict=True):
                value = doc.values.get(name) or []
                if item.storage == "multi":
                    rows.extend({"doc_id": doc_id, "value_id": v} for v in value)
                    continue
                for position, line in enumerate(value):
                    row = {"doc_id": doc_id, "position": position}
                    row.update({c.name: line.get(k) for k, c in columns.items()})
                    rows.append(row)
            if rows:
                execute_many(connection, part, rows)

    def compute(self, key: str, values: dict[str, Any]) -> None:
        """Fill formula columns of table rows, then computed fields, as the card would."""
        stream = self.compiled[key].stream
        today = self.now.date()
        for item, column, formula in self.row_formulas[key]:
            for line in values.get(item.key) or []:
                result = formula.evaluate(line, today=today, now=self.now)
                line[column.key] = column.field_type.parse(column.spec, result)
        for name, formula in self.formulas[key].items():
            result = formula.evaluate(values, today=today, now=self.now)
            values[name] = stream.field(name).field_type.parse(stream.field(name).spec, result)

    def save_counters(self, connection: Connection) -> None:
        insert_ = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        for (stream, period), value in sorted(self.counters.items()):
            statement = insert_(NumberCounter).values(stream=stream, period=period, value=value)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[NumberCounter.stream, NumberCounter.period],
                    set_={"value": value},
                )
            )


def execute_many(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """``INSERT`` ``rows`` (dicts with the same keys) in one ``executemany``. Each value goes
    through its column type's bind processor, as SQLAlchemy would send it; on SQLite the rows
    skip SQLAlchemy's per-row parameter handling, a quarter of the generator's time there."""
    if connection.dialect.name != "sqlite":
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=names)
    order = list(compiled.positiontup or ())
    processors = [
        (position, process)
        for position, name in enumerate(order)
        if (process := table.c[name].type.bind_processor(connection.dialect)) is not None
    ]
    values_of = operator.itemgetter(*order)
    converted = []
    for row in rows:
        values = list(values_of(row)) if len(order) > 1 else [row[order[0]]]
        for position, process in processors:
            if values[position] is not None:
                values[position] = process(values[position])
        converted.append(tuple(values))
    connection.exec_driver_sql(str(compiled), converted)
