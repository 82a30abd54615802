"""Every schema-evolution rule, with real data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from potok.metadata import schema_changes, store
from potok.metadata.dictionaries import items
from potok.metadata.tables import MetaObject, StreamColumn
from tests.builders import Publisher, dictionary, field, stream


def actions(plan: store.PublishPlan, key: str = "clients") -> list[str]:
    return [step.action for step in plan.streams[key].steps]


def base() -> dict:
    return stream(
        "clients",
        field("name", "text", required=True, searchable=True),
        field("inn", "text", filterable=True),
        field("employees", "integer"),
    )


@pytest.fixture
def clients(publisher: Publisher) -> list[int]:
    plan = publisher.publish(base())
    assert plan.new_streams == ["clients"]
    return publisher.insert(
        "s_clients",
        {"name": "Romashka", "inn": "7707083893", "employees": 12},
        {"name": "Vasilek", "inn": "7707083893", "employees": None},
        {"name": "Lyutik", "inn": "500100732259", "employees": 250},
    )


def test_a_new_stream_is_a_real_table_with_typed_columns(publisher, clients):
    columns = publisher.columns("s_clients")
    for name in (
        "id",
        "reg_number",
        "created_at",
        "version",
        "deleted",
        "name",
        "inn",
        "employees",
        "search_text",
    ):
        assert name in columns
    assert "ix_s_clients__inn" in publisher.indexes("s_clients")
    assert publisher.rows("s_clients", "name", "employees")[0] == ("Romashka", 12)


def test_adding_a_field_adds_a_column_and_keeps_the_data(publisher, clients):
    changed = base()
    changed["fields"].append(field("site", "url"))
    changed["fields"].append(field("since", "date", sortable=True))
    plan = publisher.publish(changed)
    assert actions(plan) == ["add_column", "add_column"]
    assert {"site", "since"} <= set(publisher.columns("s_clients"))
    assert "ix_s_clients__since" in publisher.indexes("s_clients")
    assert publisher.rows("s_clients", "name", "site") == [
        ("Romashka", None),
        ("Vasilek", None),
        ("Lyutik", None),
    ]


def test_a_label_change_needs_no_sql(publisher, clients):
    changed = base()
    changed["fields"][0]["labels"] = {"en": "Company", "ru": "Организация"}
    before = publisher.columns("s_clients")
    plan = publisher.publish(changed)
    assert actions(plan) == ["metadata_only"]
    assert not plan.streams["clients"].changes_schema
    assert publisher.columns("s_clients") == before


def test_a_removed_field_is_hidden_with_its_data_and_comes_back(publisher, clients):
    without = base()
    without["fields"] = [f for f in without["fields"] if f["key"] != "employees"]
    plan = publisher.publish(without)
    assert actions(plan) == ["hide"]
    assert "employees" in publisher.columns("s_clients")  # nothing dropped
    again = publisher.publish(base())
    assert actions(again) == ["restore"]
    assert [row[0] for row in publisher.rows("s_clients", "employees")] == [12, None, 250]


def test_a_type_change_converts_into_a_new_column_after_a_dry_run(publisher, clients, db):
    changed = base()
    changed["fields"][1] = field("inn", "integer", filterable=True)
    publisher.insert("s_clients", {"name": "Bad", "inn": "not a number"})
    plan = publisher.plan(changed)
    [step] = plan.streams["clients"].steps
    assert step.action == "change_type"
    assert step.failures == 1
    assert step.examples[0][1] == "not a number"
    with pytest.raises(store.InvalidConfiguration):
        publisher.publish(changed)  # without the user's choice nothing happens
    with db.session() as session:
        assert store.published(session)[("stream", "clients")]["fields"][1]["type"] == "text"
    publisher.publish(changed, clear=True)
    assert "inn__2" in publisher.columns("s_clients")
    assert publisher.rows("s_clients", "inn", "inn__2") == [
        ("7707083893", 7707083893),
        ("7707083893", 7707083893),
        ("500100732259", 500100732259),
        ("not a number", None),
    ]
    assert "ix_s_clients__inn__2" in publisher.indexes("s_clients")


@pytest.mark.parametrize(
    ("old", "new", "values", "expected", "failures"),
    [
        ("integer", "decimal", [5, None], [Decimal("5.000000"), None], 0),
        ("decimal", "integer", [Decimal("2.5"), Decimal("3")], [None, 3], 1),
        (
            "text",
            "date",
            ["2026-03-31", "31.12.2025", "soon"],
            [date(2026, 3, 31), date(2025, 12, 31), None],
            1,
        ),
        ("integer", "text", [42], ["42"], 0),
        ("text", "boolean", ["yes", "нет", "maybe"], [True, False, None], 1),
        ("money", "integer", [Decimal("10.00"), Decimal("10.50")], [10, None], 1),
    ],
    ids=lambda value: str(value)[:12],
)
def test_type_conversions(publisher, old, new, values, expected, failures):
    publisher.publish(stream("things", field("amount", old)))
    publisher.insert("s_things", *({"amount": value} for value in values))
    plan = publisher.plan(stream("things", field("amount", new)))
    assert plan.streams["things"].steps[0].failures == failures
    publisher.publish(stream("things", field("amount", new)), clear=True)
    assert [row[0] for row in publisher.rows("s_things", "amount__2")] == expected


def test_a_single_dictionary_value_becomes_a_set_and_back(publisher, db):
    groups = dictionary("groups", "vip", "news", "black")
    publisher.publish(groups, stream("people", field("group", "dictionary", dictionary="groups")))
    with db.session() as session:
        ids = {row.code: row.id for row in items(session, "groups")}
    publisher.insert("s_people", {"group": ids["vip"]}, {"group": None})
    multi = stream("people", field("group", "dictionary_multi", dictionary="groups"))
    plan = publisher.publish(groups, multi)
    assert actions(plan, "people") == ["change_type"]
    with db.engine.connect() as connection:
        pairs = connection.execute(text("SELECT doc_id, value_id FROM s_people__group")).all()
    assert [tuple(pair) for pair in pairs] == [(1, ids["vip"])]
    with db.engine.begin() as connection:
        connection.execute(text("INSERT INTO s_people__group VALUES (1, :v)"), {"v": ids["news"]})
    back = publisher.plan(
        groups, stream("people", field("group", "dictionary", dictionary="groups"))
    )
    assert back.streams["people"].steps[0].failures == 1  # two values cannot become one


def test_a_link_that_points_elsewhere_does_not_convert(publisher):
    publisher.publish(
        stream("clients", field("name")),
        stream("vendors", field("name")),
        stream("works", field("client", "link", stream="clients")),
    )
    [client] = publisher.insert("s_clients", {"name": "Romashka"})
    publisher.insert("s_works", {"client": client})
    plan = publisher.plan(stream("works", field("client", "link", stream="vendors")))
    assert plan.streams["works"].steps[0].failures == 1


def test_unique_over_duplicates_is_refused_with_the_duplicates(publisher, clients, db):
    changed = base()
    changed["fields"][1]["unique"] = True
    plan = publisher.plan(changed)
    [step] = plan.blocked
    assert step.duplicates == [("7707083893", 2)]
    with pytest.raises(store.InvalidConfiguration):
        publisher.publish(changed)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE s_clients SET inn = NULL WHERE name = 'Vasilek'"))
    publisher.publish(changed)
    assert "uq_s_clients__inn" in publisher.indexes("s_clients")
    with pytest.raises(Exception, match=r"(?i)unique"):
        publisher.insert("s_clients", {"name": "Copy", "inn": "7707083893"})


def test_unique_ignores_documents_in_the_trash(publisher):
    publisher.publish(stream("clients", field("inn", "text", unique=True)))
    publisher.insert("s_clients", {"inn": "7707083893", "deleted": True})
    publisher.insert("s_clients", {"inn": "7707083893"})  # the same INN registered again
    assert len(publisher.rows("s_clients", "id")) == 2


def test_filterable_adds_and_removes_an_index(publisher, clients):
    changed = base()
    changed["fields"][2]["sortable"] = True
    assert actions(publisher.publish(changed)) == ["add_index"]
    assert "ix_s_clients__employees" in publisher.indexes("s_clients")
    assert actions(publisher.publish(base())) == ["drop_index"]
    assert "ix_s_clients__employees" not in publisher.indexes("s_clients")


def test_table_fields_are_child_tables_that_evolve(publisher):
    stages = field(
        "stages", "table", columns=[field("title"), field("amount", "money")], totals=["amount"]
    )
    publisher.publish(stream("contracts", field("subject"), stages))
    assert {"doc_id", "position", "title", "amount"} <= set(
        publisher.columns("s_contracts__stages")
    )
    stages["columns"].append(field("done", "boolean"))
    plan = publisher.publish(stream("contracts", field("subject"), stages))
    assert actions(plan, "contracts") == ["add_column"]
    assert "done" in publisher.columns("s_contracts__stages")
    stages["columns"] = stages["columns"][1:]
    plan = publisher.publish(stream("contracts", field("subject"), stages))
    assert actions(plan, "contracts") == ["hide"]
    assert "title" in publisher.columns("s_contracts__stages")


def test_searchable_fields_feed_full_text_search(publisher, db):
    publisher.publish(stream("clients", field("name", searchable=True), field("city")))
    with db.session(write=True) as session:
        _, compiled = schema_changes.Workspace(session, None, {}).compile()  # type: ignore[arg-type]
        table = compiled["clients"].table
        for name, city in (("Ромашка", "Москва"), ("Василёк", "Тверь")):
            row_id = session.execute(
                table.insert()
                .values(
                    name=name, city=city, created_at=publisher.clock(), updated_at=publisher.clock()
                )
                .returning(table.c.id)
            ).scalar_one()
            session.execute(
                table.update()
                .where(table.c.id == row_id)
                .values(search_text=compiled["clients"].search_expression())
            )

    def find(word: str) -> list[str]:
        with db.engine.connect() as connection:
            if db.is_sqlite:
                query = (
                    "SELECT s.name FROM s_clients__fts f JOIN s_clients s ON s.id = f.rowid "
                    "WHERE s_clients__fts MATCH :q"
                )
            else:
                query = (
                    "SELECT name FROM s_clients WHERE to_tsvector('simple', "
                    "coalesce(search_text, '')) @@ plainto_tsquery('simple', :q)"
                )
            return [row[0] for row in connection.execute(text(query), {"q": word})]

    assert find("ромашка") == ["Ромашка"]
    assert find("Москва") == []  # city is not searchable
    plan = publisher.publish(
        stream("clients", field("name", searchable=True), field("city", searchable=True))
    )
    assert actions(plan) == ["search"]
    assert find("Москва") == ["Ромашка"]


def test_purge_drops_only_hidden_data(publisher, clients, db):
    without = base()
    without["fields"] = without["fields"][:2]
    publisher.publish(without)
    with db.session(write=True) as session:
        assert schema_changes.purge(session, "clients") == ["s_clients.employees"]
    assert "employees" not in publisher.columns("s_clients")
    assert publisher.rows("s_clients", "name")[0] == ("Romashka",)
    assert actions(publisher.publish(base())) == ["add_column"]  # a new, empty column


def test_an_interrupted_publish_leaves_the_previous_version(publisher, clients, db, monkeypatch):
    changed = base()
    changed["fields"].append(field("site", "url"))
    changed["fields"].append(field("phone", "phone"))
    real = schema_changes.add_column
    calls = []

    def failing(connection, table, column, signature):
        calls.append(column)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        real(connection, table, column, signature)

    monkeypatch.setattr(schema_changes, "add_column", failing)
    with pytest.raises(RuntimeError):
        publisher.publish(changed)
    assert "site" not in publisher.columns("s_clients")
    with db.session() as session:
        published = store.published(session)[("stream", "clients")]
        slots = session.scalars(select(StreamColumn.field).where(StreamColumn.stream == "clients"))
        assert [f["key"] for f in published["fields"]] == ["name", "inn", "employees"]
        assert "site" not in set(slots)
    monkeypatch.setattr(schema_changes, "add_column", real)
    publisher.publish(changed)
    assert {"site", "phone"} <= set(publisher.columns("s_clients"))


def test_versions_history_and_rollback(publisher, clients, db, clock):
    changed = base()
    changed["fields"].append(field("site", "url"))
    publisher.publish(changed)
    with db.session(write=True) as session:
        assert [v.version for v in store.history(session, "stream", "clients")] == [2, 1]
        plan = store.rollback_plan(session, "stream", "clients", 1)
        assert [step.action for step in plan.streams["clients"].steps] == ["hide"]
        store.publish(session, plan, author="tester", now=clock())
    with db.session() as session:
        versions = store.history(session, "stream", "clients")
        assert [v.version for v in versions] == [3, 2, 1]
        assert versions[0].body == versions[2].body
        row = session.scalar(select(MetaObject).where(MetaObject.key == "clients"))
        assert row.published_version == 3
