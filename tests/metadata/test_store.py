"""Drafts, publishing, validation of references, numbering, configuration folders."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from potok.metadata import folders, numbering, store
from potok.metadata.diff import describe
from potok.metadata.schema import check_document
from potok.metadata.validate import check_configuration
from tests.builders import Publisher, dictionary, field, labels, stream


def problems_of(*documents: dict) -> list[str]:
    return [
        str(item) for item in check_configuration({(d["kind"], d["key"]): d for d in documents})
    ]


def layout(stream_key: str, *keys: str) -> dict:
    return {
        "kind": "layout",
        "key": stream_key,
        "labels": labels("Card"),
        "stream": stream_key,
        "tabs": [
            {
                "key": "main",
                "labels": labels("Main"),
                "sections": [{"key": "general", "columns": [list(keys)]}],
            }
        ],
    }


# Validation of references ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        (
            (stream("clients", field("name")), layout("clients", "name", "inn")),
            "layout clients › tabs[0].sections[0].columns[0][1]: Stream clients has no field inn.",
        ),
        (
            (stream("works", field("client", "link", stream="clients")),),
            "stream works › fields[0].stream: There is no stream clients.",
        ),
        (
            (stream("works", field("kind", "dictionary")),),
            "stream works › fields[0]: dictionary is required.",
        ),
        (
            (stream("works", field("kind", "dictionary", dictionary="kinds")),),
            "stream works › fields[0].dictionary: There is no dictionary kinds.",
        ),
        (
            (stream("works", field("name"), field("name", "integer")),),
            "stream works › fields[1].key: Two fields have the key name.",
        ),
        (
            (stream("works", field("created_at", "date")),),
            "stream works › fields[0].key: created_at is reserved for Potok's own use.",
        ),
        (
            (
                stream(
                    "works",
                    field("amount", "integer"),
                    field("note", visible_when={">": [{"var": "amout"}, 5]}),
                ),
            ),
            "stream works › fields[1].visible_when",
        ),
        (
            (
                stream(
                    "works",
                    field("aa", "computed", formula="bb + 1", result="integer"),
                    field("bb", "computed", formula="aa + 1", result="integer"),
                ),
            ),
            "Computed fields refer to each other in a circle",
        ),
        (
            (
                stream(
                    "works",
                    field("name", "text", unique=True, searchable=True),
                    field("notes", "long_text", filterable=True),
                ),
            ),
            "stream works › fields[1].filterable: A field of type long_text cannot be filterable.",
        ),
        (
            (stream("works", field("code", pattern={"regex": "(a+)+$"})),),
            "stream works › fields[0].pattern.regex: The pattern repeats a repetition",
        ),
        (
            (
                stream(
                    "works", field("name"), numbering={"template": "W-{counter}", "reset": "yearly"}
                ),
            ),
            "stream works › numbering.template: A counter that restarts every year needs",
        ),
        (
            (
                dictionary("regions", "msk")
                | {
                    "items": [
                        {
                            "code": "msk",
                            "labels": labels("M"),
                            "items": [{"code": "x", "labels": labels("X")}],
                        }
                    ]
                },
            ),
            "dictionary regions › items[0].items: Only a tree-shaped dictionary has nested items.",
        ),
    ],
    ids=[
        "layout names an unknown field",
        "link to unknown stream",
        "dictionary missing",
        "unknown dictionary",
        "duplicate keys",
        "reserved key",
        "condition on unknown field",
        "circular formulas",
        "flag does not fit type",
        "slow regex",
        "yearly numbering",
        "nested items in a flat dictionary",
    ],
)
def test_reference_problems_have_an_object_and_a_path(documents, expected):
    found = problems_of(*documents)
    assert any(item.startswith(expected) or expected in item for item in found), found


def test_a_valid_configuration_has_no_problems():
    assert (
        problems_of(
            dictionary("kinds", "call", "meeting"),
            stream(
                "clients",
                field("name", searchable=True),
                field("inn", "requisite", requisite="inn", unique=True),
            ),
            stream(
                "works",
                field("client", "link", stream="clients"),
                field("kind", "dictionary", dictionary="kinds"),
                field("hours", "decimal"),
                field("cost", "computed", formula="hours * 1500", result="money"),
                field("note", visible_when={">": [{"var": "hours"}, 2]}),
            ),
            layout("works", "client", "kind", "hours", "cost", "note"),
        )
        == []
    )


HOSTILE = [
    None,
    [],
    "stream",
    42,
    {"kind": "stream"},
    {"kind": "unknown", "key": "x"},
    {"kind": "stream", "key": "x" * 10_000, "labels": {}, "fields": []},
    {"kind": "stream", "key": "ok", "labels": labels("Ok"), "fields": [{"key": "a"}] * 5000},
    {
        "kind": "stream",
        "key": "ok",
        "labels": labels("Ok"),
        "fields": [],
        "list": {"columns": ["x"] * 100},
    },
    {"kind": "stream", "key": "ok", "labels": labels("Ok"), "fields": [float("nan")]},
    {"kind": "stream", "key": "ok", "labels": {"en": "a" * 10_000, "ru": "b"}, "fields": []},
    {"kind": "layout", "key": "ok", "labels": labels("Ok"), "stream": "ok", "tabs": [{}]},
    {"kind": "stream", "key": "ok", "labels": labels("Ok"), "fields": [{1: 2}]},
    {
        "kind": "stream",
        "key": "ok",
        "labels": labels("Ok"),
        "fields": [
            {
                "key": "a",
                "type": "text",
                "labels": labels("A"),
                "visible_when": {"and": [{"not": {"or": []}}] * 600},
            }
        ],
    },
]


@pytest.mark.parametrize("document", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_documents_get_problems_never_a_crash(document):
    found = check_document(document)
    assert found, document
    assert all(item.message for item in found)


def test_deeply_nested_and_huge_documents_are_refused_cheaply():
    deep: dict = {"kind": "stream"}
    cursor = deep
    for _ in range(50_000):
        cursor["x"] = {}
        cursor = cursor["x"]
    assert "nested too deeply" in str(check_document(deep)[0])
    huge = {
        "kind": "stream",
        "key": "ok",
        "labels": labels("Ok"),
        "fields": [field(f"f{i}") for i in range(100)],
        "description": {"en": "x" * 3_000_000},
    }
    assert "too large" in str(check_document(huge)[0])


def test_save_draft_refuses_a_malformed_document(db, clock):
    with db.session(write=True) as session, pytest.raises(store.InvalidConfiguration) as caught:
        store.save_draft(session, {"kind": "stream", "key": "Bad"}, author="t", now=clock())
    assert caught.value.problems


def test_drafts_are_published_together_and_nothing_on_a_problem(db, clock, publisher: Publisher):
    with db.session(write=True) as session:
        store.save_draft(session, stream("clients", field("name")), author="t", now=clock())
        store.save_draft(session, layout("clients", "name", "ghost"), author="t", now=clock())
        plan = store.plan_publish(session)
        assert not plan.can_publish
        with pytest.raises(store.InvalidConfiguration):
            store.publish(session, plan, author="t", now=clock())
    with db.session(write=True) as session:
        assert store.published(session) == {}
        store.save_draft(session, layout("clients", "name"), author="t", now=clock())
        plan = store.plan_publish(session)
        store.publish(session, plan, author="t", now=clock())
    with db.session() as session:
        assert set(store.published(session)) == {("stream", "clients"), ("layout", "clients")}
        assert store.drafts(session) == {}


def test_the_diff_between_versions_reads_like_a_sentence():
    old = stream("contracts", field("amount", "integer"))
    new = stream("contracts", field("amount", "money"), field("signed_on", "date"))
    assert describe(old, new) == [
        'field amount: type: "integer" → "money"',
        "field signed_on added",
    ]


# Registration numbers ---------------------------------------------------------------------


def test_numbers_follow_the_template():
    moment = datetime(2026, 3, 5)
    assert numbering.format_number("CT-{year}-{counter:5}", 42, moment) == "CT-2026-00042"
    assert numbering.format_number("{yy}/{month}-{counter}", 7, moment) == "26/03-7"


def test_yearly_numbering_starts_again(db, clock):
    rule = {"template": "CT-{year}-{counter:3}", "reset": "yearly"}
    with db.session(write=True) as session:
        first = numbering.next_number(session, "contracts", rule, datetime(2025, 12, 31))
        second = numbering.next_number(session, "contracts", rule, datetime(2025, 12, 31))
        third = numbering.next_number(session, "contracts", rule, datetime(2026, 1, 1))
    assert [first[0], second[0], third[0]] == ["CT-2025-001", "CT-2025-002", "CT-2026-001"]


def test_a_rolled_back_registration_gives_its_number_back(db):
    rule = {"template": "{counter}"}
    with pytest.raises(RuntimeError), db.session(write=True) as session:
        numbering.next_number(session, "works", rule, datetime(2026, 1, 1))
        raise RuntimeError("the document failed validation")
    with db.session(write=True) as session:
        assert numbering.next_number(session, "works", rule, datetime(2026, 1, 1))[0] == "1"


def test_concurrent_registration_is_gap_free_and_unique(db):
    rule = {"template": "N-{counter}"}
    taken: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def register() -> None:
        try:
            for _ in range(25):
                with db.session(write=True) as session:
                    number, _ = numbering.next_number(session, "inquiries", rule, datetime.now())
                with lock:
                    taken.append(number)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(taken, key=lambda n: int(n[2:])) == [f"N-{n}" for n in range(1, 201)]


# Configuration folders ------------------------------------------------------------------------


def sample_configuration() -> list[dict]:
    regions = dictionary("regions", tree=True)
    regions["items"] = [
        {
            "code": "cfd",
            "labels": labels("Central", "Центральный"),
            "items": [{"code": "msk", "labels": labels("Moscow", "Москва")}],
        },
        {"code": "nwfd", "labels": labels("North-West", "Северо-Западный")},
    ]
    return [
        regions,
        stream(
            "clients",
            field("name", searchable=True),
            field("region", "dictionary", dictionary="regions"),
        ),
        stream("works", field("client", "link", stream="clients"), field("done", "boolean")),
        layout("clients", "name", "region"),
    ]


def test_export_import_export_gives_identical_files(tmp_path: Path, db, clock, settings):
    source = tmp_path / "source"
    folders.write_folder(source, {(d["kind"], d["key"]): d for d in sample_configuration()})
    found = folders.validate_folder(source)
    assert found.problems == []
    with db.session(write=True) as session:
        store.import_documents(session, found.documents, author="t", now=clock())
    first = tmp_path / "first"
    with db.session() as session:
        folders.write_folder(first, store.export_documents(session))
    files = sorted(path.relative_to(first).as_posix() for path in first.rglob("*.json"))
    assert files == [
        "dictionary/regions.json",
        "layout/clients.json",
        "stream/clients.json",
        "stream/works.json",
    ]
    for name in files:
        assert (first / name).read_text() == (source / name).read_text(), name
    regions = json.loads((first / "dictionary/regions.json").read_text())
    assert regions["items"][0]["items"][0]["code"] == "msk"


def test_a_folder_with_problems_lists_them_all_and_imports_nothing(tmp_path: Path, db, clock):
    folder = tmp_path / "bad"
    folders.write_folder(folder, {(d["kind"], d["key"]): d for d in sample_configuration()})
    (folder / "stream" / "works.json").write_text('{"kind": "stream", "key": "works", ')
    (folder / "layout" / "clients.json").write_text(json.dumps(layout("clients", "ghost")))
    (folder / "notes.txt").write_text("hello")
    found = folders.validate_folder(folder)
    text = "\n".join(str(item) for item in found.problems)
    assert "stream/works.json: The file is not valid JSON" in text
    assert "Stream clients has no field ghost" in text
    assert "notes.txt: Expected <kind>/<key>.json" in text
    with db.session() as session:
        assert store.published(session) == {}


SALES = Path(__file__).resolve().parents[2] / "potok" / "seed_configs" / "sales"


def test_the_sales_configuration_round_trips(tmp_path: Path, db, clock):
    found = folders.validate_folder(SALES)
    assert found.problems == []
    with db.session(write=True) as session:
        plan = store.import_documents(session, found.documents, author="t", now=clock())
    assert sorted(plan.new_streams) == ["clients", "contracts", "inquiries", "works"]
    exported = tmp_path / "exported"
    with db.session() as session:
        folders.write_folder(exported, store.export_documents(session))
    for path in sorted(SALES.rglob("*.json")):
        relative = path.relative_to(SALES)
        assert (exported / relative).read_text() == path.read_text(), relative
    with db.session(write=True) as session:
        again = store.plan_publish(session, documents=found.documents)
    assert again.changed == [key for key in again.changed if key[0] == "dictionary"]
    assert again.streams == {}
