"""Registering, reading, changing, trashing and restoring documents of a published stream."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from potok.metadata.dictionaries import items
from potok.platform.audit import Actor
from potok.runtime import documents, values
from potok.runtime.permissions import ALL
from potok.runtime.streams import Streams
from tests.builders import Publisher, dictionary, field, stream

ACTOR = Actor(None, "tester")


def contracts_stream() -> dict:
    return stream(
        "contracts",
        field("title", required=True, searchable=True),
        field("kind", "dictionary", dictionary="kinds"),
        field("groups", "dictionary_multi", dictionary="kinds"),
        field("amount", "money", min=0),
        field("vat_rate", "percent", default={"value": 20}),
        field(
            "vat",
            "computed",
            formula="round(amount * vat_rate / (100 + vat_rate), 2)",
            result="money",
        ),
        field("inn", "requisite", requisite="inn", unique=True),
        field("signed_on", "date"),
        field(
            "reason",
            "long_text",
            visible_when={">": [{"var": "amount"}, 1000]},
            required_when={">": [{"var": "amount"}, 1000]},
        ),
        field(
            "stages",
            "table",
            columns=[
                field("stage", required=True),
                field("sum", "money"),
                field("qty", "integer"),
                field("line", "money", formula="sum * qty"),
            ],
        ),
        numbering={"template": "CT-{year}-{counter:3}", "reset": "yearly"},
    )


@pytest.fixture
def runtime(publisher: Publisher, db):
    publisher.publish(dictionary("kinds", "supply", "services", "old"), contracts_stream())
    with db.session(write=True) as session:
        old = next(item for item in items(session, "kinds") if item.code == "old")
        old.active = False
    streams = Streams()
    with db.session() as session:
        return streams.get(session, "contracts")


@pytest.fixture
def kinds(db) -> dict[str, int]:
    with db.session() as session:
        return {item.code: item.id for item in items(session, "kinds")}


def context(clock) -> values.Context:
    return values.Context(user_id=None, department_id=None, now=clock(), today_local=clock().date())


def submit(runtime, raw, clock, existing=None):
    return values.read(runtime, raw, existing=existing, access=ALL, context=context(clock))


def register(db, runtime, raw, clock):
    submission = submit(runtime, raw, clock)
    assert submission.ok, submission.errors
    with db.session(write=True) as session:
        return documents.create(
            session,
            runtime,
            submission.values,
            actor=ACTOR,
            now=clock(),
            link_readable=lambda s, i: True,
        )


def test_registering_applies_defaults_formulas_and_the_number(db, runtime, kinds, clock):
    document = register(
        db,
        runtime,
        {
            "title": " Supply of paper ",
            "kind": str(kinds["supply"]),
            "amount": "1 200,00",
            "reason": "big one",
            "inn": "7707083893",
            "signed_on": "31.03.2026",
            "groups": [str(kinds["supply"]), str(kinds["services"])],
            "stages": [{"stage": "Advance", "sum": "100", "qty": "3"}, {"stage": "", "sum": ""}],
        },
        clock,
    )
    assert document.reg_number == f"CT-{clock().year}-001"
    assert document.values["title"] == "Supply of paper"
    assert document.values["vat_rate"] == Decimal("20.000000")
    assert document.values["vat"] == Decimal("200.00")
    assert document.values["signed_on"] == date(2026, 3, 31)
    assert document.values["groups"] == sorted([kinds["supply"], kinds["services"]])
    [stage] = document.values["stages"]  # the empty row is dropped
    assert stage["line"] == Decimal("300.00")
    with db.session() as session:
        [entry] = documents.history(session, runtime, document.id)
    assert entry.action == "create" and entry.changes["amount"] == "1200.00"


def test_every_rule_is_enforced_on_the_server(runtime, kinds, clock):
    submission = submit(
        runtime,
        {
            "title": "",
            "amount": "-5",
            "inn": "7707083894",
            "signed_on": "someday",
            "stages": [{"stage": "", "sum": "abc"}],
        },
        clock,
    )
    assert set(submission.errors) == {
        "title",
        "amount",
        "inn",
        "signed_on",
        "stages[0].stage",
        "stages[0].sum",
    }
    assert submission.errors["title"].message == "Fill in this field."
    big = submit(runtime, {"title": "Big", "amount": "5000"}, clock)
    assert big.errors["reason"].message == "Fill in this field."  # required when amount > 1000
    small = submit(runtime, {"title": "Small", "amount": "10", "reason": "ignored"}, clock)
    assert small.ok and small.values["reason"] is None  # hidden by its rule: not taken


def test_references_must_exist_and_new_ones_be_active(db, runtime, kinds, clock):
    for value in (str(kinds["old"]), "999999"):
        submission = submit(runtime, {"title": "X", "kind": value}, clock)
        with pytest.raises(documents.InvalidValues) as caught, db.session(write=True) as session:
            documents.create(
                session,
                runtime,
                submission.values,
                actor=ACTOR,
                now=clock(),
                link_readable=lambda s, i: True,
            )
        assert set(caught.value.errors) == {"kind"}


def test_unique_values_are_refused_with_the_other_document(db, runtime, clock):
    first = register(db, runtime, {"title": "A", "inn": "7707083893"}, clock)
    submission = submit(runtime, {"title": "B", "inn": "7707083893"}, clock)
    with pytest.raises(documents.InvalidValues) as caught, db.session(write=True) as session:
        documents.create(
            session,
            runtime,
            submission.values,
            actor=ACTOR,
            now=clock(),
            link_readable=lambda s, i: True,
        )
    assert caught.value.errors["inn"].params == {"number": first.reg_number}


def test_changes_are_recorded_field_by_field_and_row_by_row(db, runtime, kinds, clock):
    document = register(
        db,
        runtime,
        {
            "title": "A",
            "amount": "10",
            "stages": [
                {"stage": "One", "sum": "1", "qty": "1"},
                {"stage": "Two", "sum": "2", "qty": "1"},
            ],
        },
        clock,
    )
    rows = document.values["stages"]
    submission = submit(
        runtime,
        {
            "title": "A2",
            "stages": [
                {"id": rows[1]["id"], "stage": "Two", "sum": "5", "qty": "1"},
                {"stage": "Three", "sum": "3", "qty": "1"},
            ],
        },
        clock,
        existing=document.values,
    )
    assert submission.ok, submission.errors
    with db.session(write=True) as session:
        saved = documents.change(
            session,
            runtime,
            document.id,
            submission.values,
            expected_version=1,
            actor=ACTOR,
            now=clock(),
            link_readable=lambda s, i: True,
        )
    assert saved.version == 2
    assert [row["stage"] for row in saved.values["stages"]] == ["Two", "Three"]
    with db.session() as session:
        latest = documents.history(session, runtime, document.id)[0]
    assert latest.changes["title"] == ["A", "A2"]
    stages = latest.changes["stages"]
    assert stages["rows_changed"] == [
        {"row": 1, "changes": {"sum": ["2.00", "5.00"], "line": ["2.00", "5.00"]}}
    ]
    assert [row["stage"] for row in stages["rows_added"]] == ["Three"]
    assert [row["stage"] for row in stages["rows_removed"]] == ["One"]


def test_a_stale_version_is_a_conflict_and_writes_nothing(db, runtime, clock):
    document = register(db, runtime, {"title": "A"}, clock)
    mine = submit(runtime, {"title": "Mine"}, clock, existing=document.values)
    theirs = submit(runtime, {"title": "Theirs"}, clock, existing=document.values)
    with db.session(write=True) as session:
        documents.change(
            session,
            runtime,
            document.id,
            theirs.values,
            expected_version=1,
            actor=ACTOR,
            now=clock(),
            link_readable=lambda s, i: True,
        )
    with pytest.raises(documents.EditConflict) as caught, db.session(write=True) as session:
        documents.change(
            session,
            runtime,
            document.id,
            mine.values,
            expected_version=1,
            actor=ACTOR,
            now=clock(),
            link_readable=lambda s, i: True,
        )
    assert caught.value.current.values["title"] == "Theirs"
    with db.session() as session:
        assert documents.load(session, runtime, document.id).values["title"] == "Theirs"


def test_trash_and_restore(db, runtime, clock):
    document = register(db, runtime, {"title": "A", "inn": "7707083893"}, clock)
    with db.session(write=True) as session:
        documents.move_to_trash(session, runtime, document.id, actor=ACTOR, now=clock())
    with db.session() as session, pytest.raises(documents.NotFound):
        documents.load(session, runtime, document.id)
    again = register(db, runtime, {"title": "B", "inn": "7707083893"}, clock)  # INN is free
    with pytest.raises(documents.InvalidValues), db.session(write=True) as session:
        documents.restore(session, runtime, document.id, actor=ACTOR, now=clock())
    with db.session(write=True) as session:
        documents.move_to_trash(session, runtime, again.id, actor=ACTOR, now=clock())
        restored = documents.restore(session, runtime, document.id, actor=ACTOR, now=clock())
    assert not restored.deleted
    with db.session() as session:
        actions = [entry.action for entry in documents.history(session, runtime, document.id)]
    assert actions == ["restore", "delete", "create"]


def test_the_runtime_sees_a_newly_published_field(publisher, db, runtime, clock):
    streams = Streams()
    with db.session() as session:
        assert "site" not in streams.get(session, "contracts").compiled.columns
    changed = contracts_stream()
    changed["fields"].append(field("site", "url"))
    publisher.publish(dictionary("kinds", "supply", "services", "old"), changed)
    with db.session() as session:
        assert "site" in streams.get(session, "contracts").compiled.columns
        assert session.scalar(select(1)) == 1
