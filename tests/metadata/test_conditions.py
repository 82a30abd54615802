"""The condition language: check() rejects what it must, evaluate() and to_sql() mean the same
thing — operator by operator on fixed documents, then for random documents and random
well-typed conditions (hypothesis) — on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    exists,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement
from sqlalchemy.types import TypeDecorator, TypeEngine

from potok.errors import ValidationFailed
from potok.metadata import conditions
from potok.metadata.conditions import ConditionError, check, evaluate, fields_used, to_sql
from potok.platform.db import Database
from potok.settings import Settings
from tests.conftest import DatabaseFactory

FIELDS = {
    "title": "text",
    "status": "choice",
    "qty": "integer",
    "amount": "decimal",
    "rate": "decimal",
    "signed_on": "date",
    "due_on": "date",
    "created_at": "datetime",
    "closed_at": "datetime",
    "paid": "boolean",
    "customer": "ref",
    "groups": "multi",
    "tags": "multi",
}
MULTI = ("groups", "tags")
NOW = datetime(2026, 3, 1, 10, 0)


class Units(TypeDecorator[Decimal]):
    """Decimals as potok.metadata.types.ExactDecimal stores them: NUMERIC on PostgreSQL, an
    integer count of 10**-scale on SQLite (kept here so these tests do not depend on it)."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(24, self.scale))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        number = Decimal(value).quantize(Decimal(10) ** -self.scale, rounding=ROUND_HALF_UP)
        return int(number.scaleb(self.scale)) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale) if dialect.name == "sqlite" else value


metadata = MetaData()
docs = Table(
    "condition_docs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("title", Text),
    Column("status", String(40)),
    Column("qty", BigInteger),
    Column("amount", Units(2)),
    Column("rate", Units(4)),
    Column("signed_on", Date),
    Column("due_on", Date),
    Column("created_at", DateTime),
    Column("closed_at", DateTime),
    Column("paid", Boolean),
    Column("customer", Integer),
)
links = Table(
    "condition_doc_items",
    metadata,
    Column("doc_id", ForeignKey(docs.c.id), primary_key=True),
    Column("field", String(40), primary_key=True),
    Column("item_id", Integer, primary_key=True),
)
SCALARS = [column.name for column in docs.columns if column.name != "id"]


class Resolver:
    """What the stream compiler provides: columns, and EXISTS over an association table."""

    def column(self, key: str) -> ColumnElement[Any]:
        return docs.c[key]

    def has_any(self, key: str, values: list[int]) -> ColumnElement[bool]:
        return exists().where(
            links.c.doc_id == docs.c.id, links.c.field == key, links.c.item_id.in_(values)
        )

    def is_empty(self, key: str) -> ColumnElement[bool]:
        return ~exists().where(links.c.doc_id == docs.c.id, links.c.field == key)


RESOLVER = Resolver()


@pytest.fixture(scope="module")
def engine(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One database for the whole module: every test loads its documents in a transaction
    that is rolled back."""
    url = database_factory.new_empty()
    data_dir: Path = tmp_path_factory.mktemp("conditions")
    database = Database.from_settings(Settings.defaults(data_dir=data_dir, database_url=url))
    metadata.create_all(database.engine)
    yield database.engine
    database.dispose()
    database_factory.drop(url)


def load(connection: Connection, documents: Mapping[int, Mapping[str, Any]]) -> None:
    connection.execute(
        insert(docs),
        [{"id": id_, **{key: doc.get(key) for key in SCALARS}} for id_, doc in documents.items()],
    )
    rows = [
        {"doc_id": id_, "field": key, "item_id": item}
        for id_, doc in documents.items()
        for key in MULTI
        for item in sorted(set(doc.get(key) or ()))
    ]
    if rows:
        connection.execute(insert(links), rows)


def selected(connection: Connection, condition: Any, now: datetime = NOW) -> set[int]:
    where = to_sql(condition, RESOLVER, FIELDS, now=now)
    return set(connection.scalars(select(docs.c.id).where(where)))


def matching(documents: Mapping[int, Mapping[str, Any]], condition: Any, now: datetime = NOW):
    return {id_ for id_, doc in documents.items() if evaluate(condition, doc, FIELDS, now=now)}


# Operators, one by one, on fixed documents ------------------------------------------------

DOCUMENTS: dict[int, dict[str, Any]] = {
    1: {
        "title": "Договор поставки №5",
        "status": "open",
        "qty": 10,
        "amount": Decimal("1500.00"),
        "rate": Decimal("0.1250"),
        "signed_on": date(2026, 1, 31),
        "due_on": date(2026, 2, 28),
        "created_at": datetime(2026, 2, 28, 9, 30),
        "paid": True,
        "customer": 7,
        "groups": [1, 2],
    },
    2: {
        "title": "SUPPLY contract 100%",
        "status": "closed",
        "qty": -3,
        "amount": Decimal("2.55"),
        "rate": Decimal("2.5500"),
        "signed_on": date(2025, 12, 31),
        "due_on": date(2026, 3, 1),
        "created_at": datetime(2026, 3, 1),
        "closed_at": datetime(2026, 3, 1, 10),
        "paid": False,
        "customer": 8,
        "groups": [3],
        "tags": [9],
    },
    3: {
        "title": "",
        "qty": 0,
        "amount": Decimal(0),
        "signed_on": date(2026, 2, 28),
        "created_at": datetime(2026, 3, 1, 9, 59, 59, 999999),
        "groups": [],
    },
    4: {},
    5: {
        "title": "ЁЛКА_ёлка",
        "status": "open",
        "qty": 2**53,
        "amount": Decimal("-99999999.99"),
        "rate": Decimal(3),
        "signed_on": date(2024, 2, 29),
        "due_on": date(2024, 3, 29),
        "created_at": datetime(2024, 2, 29, 23, 59),
        "closed_at": datetime(2024, 3, 1),
        "paid": True,
        "customer": 7,
        "groups": [2],
    },
    6: {
        "title": "a*b?[c]",
        "status": "new",
        "qty": 1,
        "amount": Decimal(1),
        "rate": Decimal("1.0001"),
        "signed_on": date(9999, 12, 31),
        "due_on": date(1, 1, 1),
        "created_at": datetime.max,
        "closed_at": datetime.min,
        "paid": False,
        "groups": [1],
    },
}
ALL = set(DOCUMENTS)


def var(key: str) -> dict[str, str]:
    return {"var": key}


def shift(operand: Any, amount: int, unit: str) -> dict[str, Any]:
    return {"date_add": [operand, amount, unit]}


TODAY: dict[str, list[Any]] = {"today": []}
NOW_: dict[str, list[Any]] = {"now": []}

CASES: list[tuple[str, Any, set[int]]] = [
    # Logic
    ("and-empty", {"and": []}, ALL),
    ("or-empty", {"or": []}, set()),
    ("and", {"and": [{"==": [var("status"), "open"]}, {">": [var("qty"), 5]}]}, {1, 5}),
    ("or", {"or": [{"==": [var("status"), "new"]}, {"<": [var("qty"), 0]}]}, {2, 6}),
    ("not-of-null-comparison", {"not": {">": [var("qty"), 0]}}, {2, 3, 4}),
    ("not-not", {"not": {"not": {"==": [var("paid"), True]}}}, {1, 5}),
    # Equality is null-safe
    ("eq-text", {"==": [var("status"), "open"]}, {1, 5}),
    ("eq-text-case-sensitive", {"==": [var("status"), "OPEN"]}, set()),
    ("ne-includes-null", {"!=": [var("status"), "closed"]}, {1, 3, 4, 5, 6}),
    ("eq-null", {"==": [var("status"), None]}, {3, 4}),
    ("null-eq-field", {"==": [None, var("status")]}, {3, 4}),
    ("ne-null", {"!=": [var("status"), None]}, {1, 2, 5, 6}),
    ("eq-empty-string", {"==": [var("title"), ""]}, {3}),
    ("eq-bool-true", {"==": [var("paid"), True]}, {1, 5}),
    ("eq-bool-false", {"==": [var("paid"), False]}, {2, 6}),
    ("ne-bool-true", {"!=": [var("paid"), True]}, {2, 3, 4, 6}),
    ("eq-ref", {"==": [var("customer"), 7]}, {1, 5}),
    ("eq-fields-null-safe", {"==": [var("amount"), var("rate")]}, {2, 4}),
    ("ne-fields", {"!=": [var("amount"), var("rate")]}, {1, 3, 5, 6}),
    ("eq-int-and-decimal-fields", {"==": [var("qty"), var("amount")]}, {3, 4, 6}),
    ("eq-bool-fields", {"==": [var("paid"), var("paid")]}, ALL),
    # Order
    ("gt-decimal", {">": [var("amount"), 1000]}, {1}),
    ("lt-off-grid", {"<": [var("amount"), Decimal("2.555")]}, {2, 3, 5, 6}),
    ("le-on-grid", {"<=": [var("amount"), Decimal("2.55")]}, {2, 3, 5, 6}),
    ("lt-on-grid", {"<": [var("amount"), Decimal("2.55")]}, {3, 5, 6}),
    ("eq-off-grid", {"==": [var("amount"), Decimal("2.555")]}, set()),
    ("ne-off-grid", {"!=": [var("amount"), Decimal("2.555")]}, ALL),
    ("float-literal", {">": [var("rate"), 2.55]}, {5}),
    ("ge-integer-half", {">=": [var("qty"), Decimal("0.5")]}, {1, 5, 6}),
    ("lt-integer-half", {"<": [var("qty"), Decimal("0.5")]}, {2, 3}),
    ("beyond-storage", {"<": [var("amount"), 10**17]}, {1, 2, 3, 5, 6}),
    ("constant-on-left", {"<": [1000, var("amount")]}, {1}),
    ("lt-int-decimal-fields", {"<": [var("qty"), var("amount")]}, {1, 2}),
    ("gt-scales", {">": [var("amount"), var("rate")]}, {1}),
    # in
    ("in-text", {"in": [var("status"), ["open", "new"]]}, {1, 5, 6}),
    ("in-numbers", {"in": [var("qty"), [0, 1, Decimal("2.5")]]}, {3, 6}),
    ("in-empty", {"in": [var("status"), []]}, set()),
    ("not-in", {"not": {"in": [var("customer"), [7]]}}, {2, 3, 4, 6}),
    ("in-dates", {"in": [var("signed_on"), ["2026-01-31", "2024-02-29T00:00"]]}, {1, 5}),
    ("in-shifted", {"in": [shift(var("signed_on"), 1, "months"), ["2026-02-28"]]}, {1}),
    # empty
    ("empty-text", {"empty": [var("title")]}, {3, 4}),
    ("empty-number", {"empty": [var("qty")]}, {4}),
    ("not-empty-choice", {"not_empty": [var("status")]}, {1, 2, 5, 6}),
    ("empty-multi", {"empty": [var("groups")]}, {3, 4}),
    ("not-empty-multi", {"not_empty": [var("tags")]}, {2}),
    ("empty-overflowing-shift", {"empty": [shift(var("signed_on"), 1, "days")]}, {4, 6}),
    # Text, case-insensitive, wildcards literal
    ("contains-cyrillic", {"contains_text": [var("title"), "ДОГОВОР"]}, {1}),
    ("contains-yo", {"contains_text": [var("title"), "ёлка_Ё"]}, {5}),
    ("contains-percent", {"contains_text": [var("title"), "0%"]}, {2}),
    ("contains-underscore", {"contains_text": [var("title"), "_"]}, {5}),
    ("contains-star", {"contains_text": [var("title"), "*"]}, {6}),
    ("contains-question", {"contains_text": [var("title"), "?"]}, {6}),
    ("contains-brackets", {"contains_text": [var("title"), "[C]"]}, {6}),
    ("contains-empty", {"contains_text": [var("title"), ""]}, {1, 2, 3, 5, 6}),
    ("starts-with", {"starts_with": [var("title"), "supply"]}, {2}),
    ("starts-with-not-inside", {"starts_with": [var("title"), "contract"]}, set()),
    ("starts-with-choice", {"starts_with": [var("status"), "O"]}, {1, 5}),
    ("contains-regex-chars", {"contains_text": [var("title"), ".*"]}, set()),
    # Multi-valued
    ("has", {"has": [var("groups"), 2]}, {1, 5}),
    ("has-any", {"has_any": [var("groups"), [3, 1]]}, {1, 2, 6}),
    ("has-any-empty", {"has_any": [var("groups"), []]}, set()),
    ("not-has", {"not": {"has": [var("groups"), 1]}}, {2, 3, 4, 5}),
    # Dates
    ("date-lt-literal", {"<": [var("signed_on"), "2026-01-01"]}, {2, 5}),
    ("date-ge-literal", {">=": [var("signed_on"), "2026-02-28"]}, {3, 6}),
    ("date-plus-days-lt-today", {"<": [shift(var("signed_on"), 30, "days"), TODAY]}, {2, 5}),
    ("date-plus-month-clamps", {"==": [shift(var("signed_on"), 1, "months"), "2026-02-28"]}, {1}),
    ("leap-day-plus-year", {"==": [shift(var("signed_on"), 1, "years"), "2025-02-28"]}, {5}),
    (
        "date-plus-year-ge",
        {">=": [shift(var("signed_on"), 1, "years"), "2025-02-28"]},
        {1, 2, 3, 5},
    ),
    ("date-minus-weeks", {">": [shift(var("signed_on"), -2, "weeks"), "2026-02-13"]}, {3, 6}),
    ("datetime-gt-today", {">": [var("created_at"), TODAY]}, {3, 6}),
    ("datetime-ge-today", {">=": [var("created_at"), TODAY]}, {2, 3, 6}),
    ("datetime-eq-date-literal", {"==": [var("created_at"), "2026-03-01"]}, {2}),
    ("date-lt-now", {"<": [var("signed_on"), NOW_]}, {1, 2, 3, 5}),
    ("date-eq-now", {"==": [var("signed_on"), NOW_]}, set()),
    ("date-le-datetime", {"<=": [var("signed_on"), "2026-02-28T00:00"]}, {1, 2, 3, 5}),
    ("datetime-lt-hour-ago", {"<": [var("created_at"), shift(NOW_, -1, "hours")]}, {1, 2, 5}),
    ("datetime-plus-month", {"<": [shift(var("created_at"), 1, "months"), NOW_]}, {5}),
    ("date-plus-days-vs-field", {"<": [shift(var("signed_on"), 30, "days"), var("due_on")]}, {2}),
    (
        "date-plus-days-eq-field-null-safe",
        {"==": [shift(var("signed_on"), 29, "days"), var("due_on")]},
        {4, 5},
    ),
    (
        "datetime-plus-minutes-vs-field",
        {">": [shift(var("created_at"), 90, "minutes"), var("closed_at")]},
        {5},
    ),
    (
        "nested-shifts",
        {"==": [shift(shift(var("created_at"), 1, "days"), -1, "hours"), "2026-03-01T08:30"]},
        {1},
    ),
    ("date-fields", {"<": [var("due_on"), var("signed_on")]}, {6}),
    (
        "datetime-max-plus-minute",
        {"!=": [shift(var("created_at"), 1, "minutes"), None]},
        {1, 2, 3, 5},
    ),
    # Constants only
    ("constants-true", {"==": [1, Decimal("1.0")]}, ALL),
    ("constants-dates", {"<": [TODAY, "2026-03-02"]}, ALL),
    ("constants-null", {"<": [shift("9999-12-31", 1, "days"), TODAY]}, set()),
    ("constants-in", {"in": ["a", ["b"]]}, set()),
    ("constants-text", {"contains_text": ["Ёж", "ё"]}, ALL),
    ("constants-empty", {"empty": [""]}, ALL),
]


@pytest.mark.parametrize(
    ("condition", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_operator_means_the_same_in_python_and_sql(engine: Engine, condition: Any, expected):
    assert check(condition, FIELDS) == []
    assert matching(DOCUMENTS, condition) == expected
    with engine.connect() as connection, connection.begin() as transaction:
        load(connection, DOCUMENTS)
        assert selected(connection, condition) == expected
        transaction.rollback()


def test_statements_of_one_shape_do_not_share_their_values(engine: Engine):
    """SQLAlchemy caches compiled statements by shape: values must still be this call's."""
    with engine.connect() as connection, connection.begin() as transaction:
        load(connection, DOCUMENTS)
        for needle, expected in [("договор", {1}), ("supply", {2}), ("ЁЛКА", {5}), ("zz", set())]:
            assert selected(connection, {"contains_text": [var("title"), needle]}) == expected
        for when, expected in [(NOW, {2, 5}), (datetime(2026, 3, 3), {1, 2, 5})]:
            condition = {"<": [shift(var("signed_on"), 30, "days"), TODAY]}
            assert selected(connection, condition, now=when) == expected
        transaction.rollback()


def test_literals_are_bound_never_written_into_the_sql():
    hostile = "x'); DROP TABLE condition_docs; --"
    condition = {
        "or": [
            {"contains_text": [var("title"), hostile]},
            {"==": [var("status"), hostile]},
            {"in": [var("title"), [hostile]]},
        ]
    }
    statement = select(docs.c.id).where(to_sql(condition, RESOLVER, FIELDS, now=NOW))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        compiled = statement.compile(dialect=dialect)
        assert "DROP" not in str(compiled)
        assert "x'" not in str(compiled)


def test_date_arithmetic_against_a_constant_compares_the_raw_column():
    """``signed_on + 30 days < today`` is ``signed_on < today - 30 days``: an index works."""
    condition = {"<": [shift(var("signed_on"), 30, "days"), TODAY]}
    compiled = select(docs.c.id).where(to_sql(condition, RESOLVER, FIELDS, now=NOW))
    sql = str(compiled.compile(dialect=sqlite.dialect()))
    assert "date(" not in sql
    assert "condition_docs.signed_on < ?" in sql
    assert date(2026, 1, 30) in compiled.compile(dialect=sqlite.dialect()).params.values()


def test_text_matching_folds_case_per_character():
    assert conditions.fold_text("ЁЛКА Straße ǅ K") == "ёлка straße ǆ k"
    assert conditions.fold_text("İ") == "İ"  # its lower case is two characters: left alone
    document = {"title": "Ёжик в тумане"}
    assert evaluate({"contains_text": [var("title"), "ЁЖИК"]}, document, FIELDS, now=NOW)
    assert not evaluate({"contains_text": [var("title"), "ежик"]}, document, FIELDS, now=NOW)


def test_every_case_class_is_safe_inside_glob_and_regex_brackets():
    _, classes = conditions._fold_tables()
    special = set("]^-\\[*?")
    assert classes["к"] == "Кк"
    assert all(not set(members) & special for members in classes.values())


def test_fields_used_and_prepared_conditions():
    condition = {"and": [{">": [var("amount"), 1]}, {"has": [var("groups"), 1]}]}
    assert fields_used(condition) == {"amount", "groups"}
    assert fields_used({"x": [{"var": "a"}, {"var": 5}, "junk"]}) == {"a"}
    prepared = conditions.prepare(condition, FIELDS)
    assert prepared.fields_used == {"amount", "groups"}
    assert prepared.evaluate({"amount": Decimal(2), "groups": [1]}, now=NOW)
    assert conditions.prepare(prepared, FIELDS) is prepared


def test_evaluate_rejects_values_of_the_wrong_type_and_an_aware_now():
    with pytest.raises(TypeError, match="qty"):
        evaluate({"==": [var("qty"), 1]}, {"qty": "1"}, FIELDS, now=NOW)
    with pytest.raises(TypeError, match="naive"):
        evaluate({"and": []}, {}, FIELDS, now=NOW.astimezone())
    with pytest.raises(ValueError, match="kind"):
        check({"and": []}, {"x": "money"})


# check(): malformed and hostile input ----------------------------------------------------


def nested(levels: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"==": [var("qty"), 1]}
    for _ in range(levels):
        condition = {"not": condition}
    return condition


def nested_lists(levels: int) -> list[Any]:
    value: list[Any] = [1]
    for _ in range(levels):
        value = [value]
    return value


def cyclic() -> dict[str, Any]:
    condition: dict[str, Any] = {}
    condition["not"] = condition
    return condition


BAD: list[tuple[str, Any, str, str]] = [
    ("number", 5, "", "expected a condition"),
    ("list", [{"==": [1, 1]}], "", "expected a condition"),
    ("none", None, "", "expected a condition"),
    ("two-operators", {"==": [1, 1], "!=": [1, 2]}, "", "exactly one operator, not 2"),
    ("no-operator", {}, "", "exactly one operator, not 0"),
    ("unknown-operator", {"like": [var("title"), "%a%"]}, "", 'unknown operator "like"'),
    ("non-string-operator", {1: []}, "", 'unknown operator "int"'),
    ("operand-as-condition", var("paid"), "", '"var" is a value, not a condition'),
    ("arity", {"==": [var("qty")]}, "", '"==": arguments expected: 2, given: 1'),
    ("arguments-not-a-list", {"==": var("qty")}, "", "takes a list of arguments (expected: 2)"),
    ("and-not-a-list", {"and": {"==": [1, 1]}}, "", '"and" takes a list of conditions'),
    ("not-a-list", {"not": [{"==": [1, 1]}]}, "", '"not" takes one condition, not a list'),
    (
        "unknown-field-deep",
        {"and": [{"==": [var("qty"), 1]}, {">": [var("amout"), 1]}]},
        "and[1].>[0]",
        'unknown field "amout"',
    ),
    ("var-not-a-key", {"==": [{"var": ["qty"]}, 1]}, "==[0]", '"var" takes a field key'),
    ("operand-two-keys", {"==": [{"var": "qty", "x": 1}, 1]}, "==[0]", "exactly one operator"),
    ("condition-as-operand", {"==": [{"and": []}, True]}, "==[0]", "cannot be used as a value"),
    ("list-as-operand", {"==": [var("qty"), [1]]}, "==[1]", "a list cannot be used as a value"),
    ("today-with-arguments", {"<": [var("signed_on"), {"today": [1]}]}, "<[1]", "empty list"),
    ("deep", nested(10_000), ".".join(["not"] * 32), "nested deeper than 32 levels"),
    ("deep-lists", {"in": [var("qty"), nested_lists(10_000)]}, "in[1][0][0]*", "nested deeper"),
    ("cyclic", cyclic(), ".".join(["not"] * 32), "nested deeper than 32 levels"),
    ("long-list", {"in": [var("qty"), list(range(1001))]}, "in[1]", "longer than 1000 items"),
    (
        "many-items",
        {"or": [{"in": [var("qty"), list(range(1000))]} for _ in range(11)]},
        "",
        "more than 10000 list items",
    ),
    (
        "many-nodes",
        {"and": [{"==": [var("qty"), n]} for n in range(600)]},
        "",
        "more than 1000 operators and operands",
    ),
    ("order-boolean", {"<": [var("paid"), True]}, "", '"<" does not apply to boolean'),
    ("order-text", {">": [var("title"), "a"]}, "", '">" does not apply to text'),
    ("order-ref", {">": [var("customer"), 1]}, "", '">" does not apply to ref'),
    ("order-null", {"<": [var("qty"), None]}, "<[1]", "cannot compare with null"),
    ("multi-compared", {"==": [var("groups"), 1]}, "==[0]", "holds several values"),
    ("multi-in", {"in": [var("groups"), [1]]}, "in[0]", "holds several values"),
    ("text-vs-number-field", {"==": [var("title"), var("qty")]}, "", "cannot compare text"),
    ("ref-vs-integer-field", {"==": [var("customer"), var("qty")]}, "", "cannot compare ref"),
    ("number-for-text", {"==": [var("title"), 5]}, "==[1]", "expected text"),
    ("text-for-number", {"==": [var("qty"), "5"]}, "==[1]", "expected a number"),
    ("bool-for-number", {"==": [var("qty"), True]}, "==[1]", "expected a number"),
    ("decimal-for-id", {"==": [var("customer"), 1.5]}, "==[1]", "expected an id"),
    ("bad-date", {"==": [var("signed_on"), "2026-02-30"]}, "==[1]", 'not a valid date: "2026'),
    ("dotted-date", {"==": [var("signed_on"), "31.12.2026"]}, "==[1]", "not a valid date"),
    ("zoned-datetime", {"<": [var("created_at"), "2026-03-01T10:00+03:00"]}, "<[1]", "valid date"),
    ("unicode-digits", {"==": [var("signed_on"), "２０２６-01-01"]}, "==[1]", "not a valid date"),
    ("set", {"==": [var("qty"), {1, 2}]}, "==[1]", "not a JSON value (set)"),
    ("set-as-list", {"in": [var("qty"), {1, 2}]}, "in[1]", "expected a list of values"),
    ("bytes", {"==": [var("title"), b"x"]}, "==[1]", "not a JSON value (bytes)"),
    ("object", {"==": [var("title"), object()]}, "==[1]", "not a JSON value (object)"),
    ("tuple", {"==": [var("title"), ("a",)]}, "==[1]", "not a JSON value (tuple)"),
    ("nan", {"==": [var("amount"), float("nan")]}, "==[1]", "not finite"),
    ("infinity", {"<": [var("amount"), Decimal("Infinity")]}, "<[1]", "not finite"),
    ("huge-number", {"<": [var("amount"), Decimal("1e30")]}, "<[1]", "too large"),
    ("too-precise", {"<": [var("amount"), Decimal("1e-30")]}, "<[1]", "too precise"),
    ("huge-integer", {"<": [var("qty"), 10**4000]}, "<[1]", "too large"),
    ("long-text", {"==": [var("title"), "x" * 1001]}, "==[1]", "longer than 1000 characters"),
    ("nul", {"contains_text": [var("title"), "a\x00b"]}, "contains_text[1]", "cannot be stored"),
    ("surrogate", {"==": [var("title"), "\ud800"]}, "==[1]", "cannot be stored"),
    ("null-in-list", {"in": [var("qty"), [1, None]]}, "in[1][1]", "cannot hold null"),
    ("wrong-item-in-list", {"in": [var("qty"), [1, "2"]]}, "in[1][1]", "expected a number"),
    ("null-in", {"in": [None, [1]]}, "in[0]", "null is never in a list"),
    ("text-op-on-number", {"contains_text": [var("qty"), "1"]}, "contains_text[0]", "text field"),
    ("text-op-needle", {"starts_with": [var("title"), None]}, "starts_with[1]", "expected text"),
    ("has-on-ref", {"has": [var("customer"), 1]}, "has[0]", "several values"),
    ("has-bool", {"has": [var("groups"), True]}, "has[1]", "expected an id"),
    ("has-any-not-list", {"has_any": [var("groups"), 1]}, "has_any[1]", "expected a list of ids"),
    ("unit", {"<": [shift(var("signed_on"), 1, "fortnights"), TODAY]}, "<[0].date_add[2]", "unit"),
    ("amount", {"<": [shift(var("signed_on"), 1.5, "days"), TODAY]}, "<[0].date_add[1]", "whole"),
    (
        "amount-bool",
        {"<": [shift(var("signed_on"), True, "days"), TODAY]},
        "<[0].date_add[1]",
        "whole",
    ),
    (
        "far",
        {"<": [shift(var("signed_on"), 10**6, "days"), TODAY]},
        "<[0].date_add[1]",
        "1000 years",
    ),
    (
        "hours-on-date",
        {"<": [shift(var("signed_on"), 1, "hours"), TODAY]},
        "<[0]",
        "need a date and time",
    ),
    (
        "shift-text",
        {"<": [shift(var("title"), 1, "days"), TODAY]},
        "<[0].date_add[0]",
        "date_add needs",
    ),
    (
        "shift-bad-literal",
        {"<": [shift("soon", 1, "days"), TODAY]},
        "<[0].date_add[0]",
        "valid date",
    ),
    (
        "months-between-fields",
        {"<": [shift(var("signed_on"), 1, "months"), var("due_on")]},
        "",
        "needs a constant on the other side",
    ),
    (
        "date-vs-datetime-fields",
        {"<": [var("signed_on"), var("created_at")]},
        "",
        "date-time field",
    ),
]


@pytest.mark.parametrize(
    ("condition", "path", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_check_reports_problems_with_a_path_and_never_raises(
    condition: Any, path: str, message: str
):
    problems = check(condition, FIELDS)
    prefix = path.removesuffix("*")
    assert any(
        (p.path == path or (path.endswith("*") and p.path.startswith(prefix))) and message in p.text
        for p in problems
    ), problems
    with pytest.raises(ConditionError) as raised:
        evaluate(condition, {}, FIELDS, now=NOW)
    assert raised.value.problems == problems
    with pytest.raises(ConditionError):
        to_sql(condition, RESOLVER, FIELDS, now=NOW)


def test_problems_read_well_and_the_error_is_a_validation_failure():
    problems = check({"and": [{"==": [var("qty"), 1]}, {">": [var("amout"), 1]}]}, FIELDS)
    assert [str(p) for p in problems] == ['and[1].>[0]: unknown field "amout"']
    assert problems[0].message == 'unknown field "%(key)s"'
    assert dict(problems[0].params) == {"key": "amout"}
    error = ConditionError(problems)
    assert isinstance(error, ValidationFailed)
    assert error.status == 400
    assert 'and[1].>[0]: unknown field "amout"' in str(error)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text(max_size=5)
    | st.sampled_from(["2026-01-31", "2026-01-31T10:00", "days", "months"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(sorted(conditions._CONDITION_OPS | conditions._OPERAND_OPS))
            | st.text(),
            inner,
            min_size=1,
            max_size=2,
        )
        | st.sampled_from(list(FIELDS)).map(var)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(condition=json_like)
def test_check_never_raises_and_what_it_accepts_evaluates(condition: Any):
    problems = check(condition, FIELDS)
    assert all(isinstance(p.path, str) and p.text for p in problems)
    fields_used(condition)
    if not problems:
        for document in DOCUMENTS.values():
            assert evaluate(condition, document, FIELDS, now=NOW) in (True, False)
        to_sql(condition, RESOLVER, FIELDS, now=NOW)


# Random documents and random well-typed conditions: SQL and Python agree ----------------

ALPHABET = "aAzZ жЖёЁяЯ%_*?[]^.\\ßİǅKΣσς0"
DAYS = [
    date(2024, 1, 31),
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 3, 31),
    date(2025, 1, 31),
    date(2025, 2, 28),
    date(2025, 12, 31),
    date(2026, 1, 1),
    date(2026, 1, 30),
    date(2026, 1, 31),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 3, 31),
    date(1, 1, 1),
    date(9999, 12, 31),
]
TIMES = [time(0), time(0, 0, 0, 1), time(9, 59, 59, 999999), time(10), time(23, 59, 59, 999999)]
NOWS = [datetime(2026, 3, 1, 10), datetime(2024, 2, 29, 23, 59, 59, 999999), datetime(2026, 1, 31)]

days = st.sampled_from(DAYS) | st.dates(date(2024, 1, 1), date(2026, 12, 31))
moments = st.builds(datetime.combine, days, st.sampled_from(TIMES))
texts = st.text(alphabet=ALPHABET, max_size=6)
integers = st.integers(-3, 3) | st.sampled_from([2**53, -(2**53), 2**63 - 1, -(2**63)])
money = st.decimals(-1000, 1000, places=2) | st.sampled_from([Decimal("-99999999.99")])
rates = st.decimals(-100, 100, places=4)
numbers = (
    st.integers(-3, 3)
    | st.decimals(-5, 5, places=3)
    | st.sampled_from([Decimal("2.55"), Decimal("0.125"), 10**17, Decimal("-9.2e16"), 2**63 - 1])
)
ids = st.lists(st.integers(1, 4), max_size=3)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


document = st.fixed_dictionaries(
    {
        "title": maybe(texts),
        "status": maybe(st.sampled_from(["open", "Open", "closed", ""])),
        "qty": maybe(integers),
        "amount": maybe(money),
        "rate": maybe(rates),
        "signed_on": maybe(days),
        "due_on": maybe(days),
        "created_at": maybe(moments),
        "closed_at": maybe(moments),
        "paid": maybe(st.booleans()),
        "customer": maybe(st.integers(1, 3)),
        "groups": maybe(ids),
        "tags": maybe(ids),
    }
)


@st.composite
def sides(draw: st.DrawFn, left: Any, right: Any) -> list[Any]:
    return [left, right] if draw(st.booleans()) else [right, left]


@st.composite
def text_atoms(draw: st.DrawFn) -> Any:
    field = var(draw(st.sampled_from(["title", "status"])))
    op = draw(st.sampled_from(["==", "!=", "in", "contains_text", "starts_with", "empty", "f"]))
    if op in ("==", "!="):
        return {op: draw(sides(field, draw(maybe(texts))))}
    if op == "in":
        return {"in": [field, draw(st.lists(texts, max_size=3))]}
    if op in ("contains_text", "starts_with"):
        return {op: [field, draw(texts)]}
    if op == "empty":
        return {draw(st.sampled_from(["empty", "not_empty"])): [field]}
    return {draw(st.sampled_from(["==", "!="])): [var("title"), var("status")]}


@st.composite
def number_atoms(draw: st.DrawFn) -> Any:
    field = var(draw(st.sampled_from(["qty", "amount", "rate"])))
    kind = draw(st.sampled_from(["literal", "field", "in", "empty"]))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if kind == "literal":
        value = draw(maybe(numbers)) if op in ("==", "!=") else draw(numbers)
        return {op: draw(sides(field, value))}
    if kind == "field":
        return {op: [field, var(draw(st.sampled_from(["qty", "amount", "rate"])))]}
    if kind == "in":
        return {"in": [field, draw(st.lists(numbers, max_size=3))]}
    return {"empty": [field]}


UNITS = ["days", "weeks", "months", "years"]


@st.composite
def date_operands(draw: st.DrawFn, kind: str, months: bool) -> Any:
    keys = ["signed_on", "due_on"] if kind == "date" else ["created_at", "closed_at"]
    operand: Any = var(draw(st.sampled_from(keys)))
    units = UNITS if months else ["days", "weeks"]
    if kind == "datetime":
        units = [*units, "hours", "minutes"]
    for _ in range(draw(st.integers(0, 2))):
        amount = draw(st.integers(-2, 2) | st.sampled_from([-31, 29, 30, 365, -400]))
        operand = shift(operand, amount, draw(st.sampled_from(units)))
    return operand


@st.composite
def date_constants(draw: st.DrawFn) -> Any:
    base = draw(
        st.sampled_from([TODAY, NOW_])
        | days.map(date.isoformat)
        | moments.map(lambda moment: moment.isoformat())
    )
    if draw(st.booleans()):
        unit = draw(st.sampled_from([*UNITS, "hours", "minutes"]))
        if unit in ("hours", "minutes") and (
            base == TODAY or (isinstance(base, str) and len(base) == 10)
        ):
            unit = "days"
        base = shift(base, draw(st.integers(-2, 2) | st.sampled_from([-30, 30])), unit)
    return base


@st.composite
def date_atoms(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["date", "datetime"]))
    shape = draw(st.sampled_from(["constant", "constant", "field", "in", "empty"]))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if shape == "constant":
        operand = draw(date_operands(kind, months=True))
        other = draw(date_constants() | (st.just(None) if op in ("==", "!=") else st.nothing()))
        return {op: draw(sides(operand, other))}
    if shape == "field":
        return {op: draw(sides(draw(date_operands(kind, False)), draw(date_operands(kind, False))))}
    if shape == "in":
        values = draw(
            st.lists(days.map(date.isoformat) | moments.map(datetime.isoformat), max_size=3)
        )
        return {"in": [draw(date_operands(kind, months=True)), values]}
    return {draw(st.sampled_from(["empty", "not_empty"])): [draw(date_operands(kind, True))]}


@st.composite
def other_atoms(draw: st.DrawFn) -> Any:
    shape = draw(
        st.sampled_from(["paid", "paid-field", "customer", "in", "has", "has_any", "empty"])
    )
    if shape == "paid":
        op = draw(st.sampled_from(["==", "!="]))
        return {op: draw(sides(var("paid"), draw(maybe(st.booleans()))))}
    if shape == "paid-field":
        return {"==": [var("paid"), var("paid")]}
    if shape == "customer":
        op = draw(st.sampled_from(["==", "!="]))
        return {op: draw(sides(var("customer"), draw(maybe(st.integers(0, 3)))))}
    if shape == "in":
        field = draw(st.sampled_from(["customer", "paid"]))
        values = draw(
            st.lists(st.integers(0, 3) if field == "customer" else st.booleans(), max_size=3)
        )
        return {"in": [var(field), values]}
    field = var(draw(st.sampled_from(["groups", "tags"])))
    if shape == "has":
        return {"has": [field, draw(st.integers(0, 4))]}
    if shape == "has_any":
        return {"has_any": [field, draw(st.lists(st.integers(0, 4), max_size=3))]}
    return {draw(st.sampled_from(["empty", "not_empty"])): [field]}


atoms = text_atoms() | number_atoms() | date_atoms() | other_atoms()
random_conditions = st.recursive(
    atoms,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: {"and": items})
        | st.lists(inner, max_size=3).map(lambda items: {"or": items})
        | inner.map(lambda item: {"not": item})
    ),
    max_leaves=6,
)


def agree(engine: Engine, documents: list[dict[str, Any]], conditions_: list[Any], now: datetime):
    numbered = dict(enumerate(documents, start=1))
    with engine.connect() as connection, connection.begin() as transaction:
        load(connection, numbered)
        for condition in conditions_:
            assert check(condition, FIELDS) == [], condition
            assert selected(connection, condition, now) == matching(numbered, condition, now), (
                condition
            )
        transaction.rollback()


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    documents=st.lists(document, min_size=1, max_size=8),
    conditions_=st.lists(random_conditions, min_size=1, max_size=6),
    now=st.sampled_from(NOWS),
)
def test_sql_and_python_agree_on_random_conditions(engine: Engine, documents, conditions_, now):
    agree(engine, documents, conditions_, now)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    documents=st.lists(document, min_size=1, max_size=8),
    conditions_=st.lists(date_atoms(), min_size=4, max_size=10),
    now=st.sampled_from(NOWS),
)
def test_sql_and_python_agree_on_date_arithmetic(engine: Engine, documents, conditions_, now):
    """Month ends, leap days, the ends of the calendar: the ranges SQL uses must be exact."""
    agree(engine, documents, conditions_, now)
