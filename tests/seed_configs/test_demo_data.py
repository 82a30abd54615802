"""Demo data for the Sales configuration: counts, validity by the runtime's own rules, search,
numbering that the runtime continues, and determinism."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potok.errors import NotFound
from potok.metadata import numbering, requisites
from potok.metadata.tables import DictionaryItem, MetaVersion, NumberCounter
from potok.platform import accounts
from potok.platform.audit import Actor
from potok.platform.db import Database
from potok.platform.models import User
from potok.runtime import documents, listing, values
from potok.runtime.permissions import ALL
from potok.runtime.streams import StreamRuntime, Streams
from potok.seed_configs import demo_data
from potok.seed_configs.loader import load_default
from potok.settings import Settings
from tests.conftest import SECRET_KEY, DatabaseFactory

NOW = datetime(2026, 11, 20, 12, 0)
CLIENTS = 200
USERNAMES = ("manager1", "manager2", "manager3", "head_of_sales")
STREAMS = ("clients", "inquiries", "works", "contracts")


def prepare(db: Database) -> dict[str, int]:
    """The Sales configuration published and the demo staff created; answers their ids."""
    with db.session(write=True) as session:
        assert load_default(session, "sales", now=NOW) == "sales"
        users = {}
        for name in USERNAMES:
            values_ = accounts.UserInput(
                username=name,
                full_name=name.replace("_", " ").title(),
                email=f"{name}@example.com",
                password="demo-password-long-enough",
            )
            users[name] = accounts.create_user(session, Actor.system(), values_, now=NOW).id
    return users


@pytest.fixture
def filled(db: Database) -> dict[str, Any]:
    users = prepare(db)
    with db.session() as session:
        versions = session.scalar(select(func.count()).select_from(MetaVersion))
    seen: list[tuple[int, int]] = []
    counts = demo_data.generate(
        db,
        clients=CLIENTS,
        language="ru",
        users=users,
        now=NOW,
        progress=lambda done, total: seen.append((done, total)),
    )
    return {"users": users, "counts": counts, "versions": versions, "progress": seen}


@pytest.fixture
def streams() -> Streams:
    return Streams()


def rows(session: Session, runtime: StreamRuntime) -> list[Any]:
    table = runtime.compiled.table
    return list(session.execute(select(table).order_by(table.c.id)).mappings())


def column(runtime: StreamRuntime, key: str) -> str:
    return runtime.compiled.columns[key].name


def codes(session: Session, dictionary: str) -> dict[int, str]:
    found = select(DictionaryItem.id, DictionaryItem.code).where(
        DictionaryItem.dictionary == dictionary
    )
    return dict(session.execute(found).all())


def test_counts_per_stream_and_nothing_published(db, filled, streams):
    counts = filled["counts"]
    assert counts["clients"] == CLIENTS
    # The ratios of the module's docstring, within what 200 draws allow.
    assert 1.1 * CLIENTS < counts["inquiries"] < 1.5 * CLIENTS
    assert 2.6 * CLIENTS < counts["works"] < 3.4 * CLIENTS
    assert 0.45 * CLIENTS < counts["contracts"] < 0.75 * CLIENTS
    assert filled["progress"] == [(CLIENTS, CLIENTS)]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MetaVersion)) == filled["versions"]
        for key in STREAMS:
            runtime = streams.get(session, key)
            table = runtime.compiled.table
            assert session.scalar(select(func.count()).select_from(table)) == counts[key]


def test_every_status_and_kind_is_there(db, filled, streams):
    with db.session() as session:
        contracts = streams.get(session, "contracts")
        statuses = codes(session, "contract_statuses")
        found = Counter(
            statuses[row[column(contracts, "status")]] for row in rows(session, contracts)
        )
        assert set(found) == set(statuses.values())
        amounts = [row[column(contracts, "amount")] for row in rows(session, contracts)]
        assert any(amount > 1_000_000 for amount in amounts)
        assert all(amount > 0 for amount in amounts)

        inquiries = streams.get(session, "inquiries")
        kinds = codes(session, "inquiry_kinds")
        inquiry_rows = rows(session, inquiries)
        assert {kinds[row[column(inquiries, "kind")]] for row in inquiry_rows} == set(
            kinds.values()
        )
        assert {row[column(inquiries, "status")] for row in inquiry_rows} == {
            "new",
            "in_work",
            "converted",
            "refused",
            "closed",
        }
        linked = [row for row in inquiry_rows if row[column(inquiries, "client")] is not None]
        assert linked and all(row[column(inquiries, "status")] == "converted" for row in linked)

        works = streams.get(session, "works")
        work_kinds = codes(session, "work_kinds")
        work_rows = rows(session, works)
        assert {work_kinds[row[column(works, "kind")]] for row in work_rows} == set(
            work_kinds.values()
        )
        planned, done = column(works, "planned_at"), column(works, "done")
        assert any(row[planned] > NOW and not row[done] for row in work_rows)
        assert any(row[planned] < NOW and row[done] for row in work_rows)
        assert not any(row[planned] > NOW and row[done] for row in work_rows)


def as_raw(value: Any) -> Any:
    """A stored value as the card's form would send it."""
    if isinstance(value, list):
        return [as_raw(item) for item in value]
    if isinstance(value, dict):
        return {key: as_raw(item) for key, item in value.items()}
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def test_documents_pass_the_runtime_validation(db, filled, streams):
    context = values.Context(user_id=None, department_id=None, now=NOW, today_local=NOW.date())
    with db.session() as session:

        def readable(stream: str, doc_id: int) -> bool:
            try:
                documents.load(session, streams.get(session, stream), doc_id)
            except NotFound:
                return False
            return True

        for key in STREAMS:
            runtime = streams.get(session, key)
            table = runtime.compiled.table
            ids = session.scalars(select(table.c.id).order_by(table.c.id)).all()
            for doc_id in ids[::7]:
                document = documents.load(session, runtime, doc_id)
                raw = {name: as_raw(value) for name, value in document.values.items()}
                submission = values.read(
                    runtime, raw, existing=document.values, access=ALL, context=context
                )
                assert submission.errors == {}, (key, doc_id, submission.errors)
                assert submission.values == document.values, (key, doc_id)
                problems = documents.check_references(
                    session, runtime, document.values, {}, readable
                )
                problems.update(documents.check_unique(session, runtime, document.values, doc_id))
                assert problems == {}, (key, doc_id, problems)


def test_requisites_are_valid_and_inns_unique(db, filled, streams):
    with db.session() as session:
        clients = streams.get(session, "clients")
        found = rows(session, clients)
        inns = [row[column(clients, "inn")] for row in found]
        assert len(set(inns)) == len(inns) == CLIENTS
        assert all(requisites.check_inn(inn) is None for inn in inns)
        assert {len(inn) for inn in inns} == {10, 12}
        for row in found:
            for kind in ("kpp", "ogrn", "bik"):
                if row[column(clients, kind)] is not None:
                    assert requisites.validate(kind, row[column(clients, kind)]) is None
            bik = row[column(clients, "bik")]
            for kind in ("account", "corr_account"):
                if row[column(clients, kind)] is not None:
                    assert requisites.validate(kind, row[column(clients, kind)], bik=bik) is None
        with_kpp = [row for row in found if row[column(clients, "kpp")]]
        assert all(len(row[column(clients, "inn")]) == 10 for row in with_kpp)


def test_every_reference_points_at_something_real(db, filled, streams):
    with db.session() as session:
        user_ids = set(session.scalars(select(User.id)))
        assert set(filled["users"].values()) <= user_ids
        for key in STREAMS:
            runtime = streams.get(session, key)
            found = rows(session, runtime)
            assert {row["author_id"] for row in found} <= set(filled["users"].values())
            for item in runtime.stream.fields:
                kind = item.field_type.refers_to
                if kind is None or kind == "attachment" or item.key not in runtime.compiled.columns:
                    continue
                used = {row[column(runtime, item.key)] for row in found} - {None}
                if kind == "dictionary":
                    allowed = set(codes(session, str(item.spec["dictionary"])))
                elif kind == "user":
                    allowed = set(filled["users"].values())
                else:
                    target = streams.get(session, str(item.spec["stream"])).compiled.table
                    allowed = set(session.scalars(select(target.c.id)))
                assert used <= allowed, (key, item.key)
        clients = streams.get(session, "clients")
        groups = clients.compiled.parts["mailing_groups"]
        assert set(session.scalars(select(groups.c.value_id))) <= set(
            codes(session, "mailing_groups")
        )
        contacts = clients.compiled.parts["contacts"]
        influence = clients.compiled.part_columns["contacts"]["influence"]
        scale = set(session.scalars(select(influence.table.c[influence.name])))
        assert scale <= set(range(-5, 6)) and len(scale) > 5
        assert session.scalar(select(func.count()).select_from(contacts)) >= CLIENTS


def test_search_finds_a_client_by_name_and_by_inn(db, filled, streams, admin):
    with db.session() as session:
        clients = streams.get(session, "clients")
        table = clients.compiled.table
        row = rows(session, clients)[CLIENTS // 2]
        name, inn = row[column(clients, "name")], row[column(clients, "inn")]
        word = max(name.replace("«", " ").replace("»", " ").split(), key=len)
        for query in (word, inn):
            found = session.scalars(
                select(table.c.id).where(listing.search_clause(session, clients, query))
            ).all()
            assert row["id"] in found, query
    page = admin.get("/s/clients/", params={"q": inn})
    assert page.status_code == 200
    assert row["reg_number"] in page.text


def test_numbers_are_gap_free_in_time_order_and_the_runtime_continues_them(db, filled, streams):
    with db.session(write=True) as session:
        for key in STREAMS:
            runtime = streams.get(session, key)
            spec = runtime.stream.numbering
            template = str(spec.get("template"))
            by_period: dict[str, list[Any]] = {}
            for row in rows(session, runtime):
                by_period.setdefault(numbering.period_of(spec, row["created_at"]), []).append(row)
            for period, found in by_period.items():
                found.sort(key=lambda row: (row["created_at"], row["id"]))
                expected = [
                    numbering.format_number(template, counter, row["created_at"])
                    for counter, row in enumerate(found, start=1)
                ]
                assert [row["reg_number"] for row in found] == expected, (key, period)
                counter = session.get(NumberCounter, (key, period))
                assert counter is not None and counter.value == len(found)
        # The next registration through the runtime takes the next number.
        works = streams.get(session, "works")
        before = session.get(NumberCounter, ("works", str(NOW.year)))
        expected_next = numbering.format_number("W-{yy}-{counter:5}", before.value + 1, NOW)
        client_id = session.scalar(select(streams.get(session, "clients").compiled.table.c.id))
        kind = next(iter(codes(session, "work_kinds")))
        created = documents.create(
            session,
            works,
            {"kind": kind, "subject": "Call", "client": client_id, "done": False},
            actor=Actor(filled["users"]["manager1"], "manager1"),
            now=NOW,
            link_readable=lambda stream, doc_id: True,
        )
        assert created.reg_number == expected_next
        clients = streams.get(session, "clients")
        client = documents.create(
            session,
            clients,
            {"name": "Новый клиент", "inn": "7707083893"},
            actor=Actor(filled["users"]["manager1"], "manager1"),
            now=NOW,
            link_readable=lambda stream, doc_id: True,
        )
        assert client.reg_number == f"CL-{CLIENTS + 1:05d}"


def second_database(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[Database]:
    url = database_factory.new(tmp_path / "second")
    settings = Settings.defaults(
        data_dir=tmp_path / "second", database_url=url, secret_key=SECRET_KEY, scheduler=False
    )
    database = Database.from_settings(settings)
    try:
        yield database
    finally:
        database.dispose()
        database_factory.drop(url)


def snapshot(db: Database, streams: Streams) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    with db.session() as session:
        for key in STREAMS:
            compiled = streams.get(session, key).compiled
            for table in (compiled.table, *compiled.parts.values()):
                order = [table.c[name] for name in ("id", "doc_id", "value_id") if name in table.c]
                found[table.name] = [
                    tuple(row) for row in session.execute(select(table).order_by(*order[:2]))
                ]
        counters = select(NumberCounter).order_by(NumberCounter.stream, NumberCounter.period)
        found["counters"] = [(c.stream, c.period, c.value) for c in session.scalars(counters)]
    return found


def test_same_inputs_give_the_same_rows(db, database_factory, tmp_path):
    generate: Callable[[Database, int], None] = lambda database, seed: demo_data.generate(  # noqa: E731
        database, clients=60, language="en", users=prepare(database), now=NOW, seed=seed
    )
    generate(db, 7)
    first = snapshot(db, Streams())
    for other in second_database(database_factory, tmp_path):
        generate(other, 7)
        assert snapshot(other, Streams()) == first
    assert sum(len(table) for table in first.values()) > 60 * 5


def test_another_seed_or_language_gives_other_data(db, database_factory, tmp_path):
    users = prepare(db)
    demo_data.generate(db, clients=30, language="ru", users=users, now=NOW, seed=1)
    for other in second_database(database_factory, tmp_path):
        demo_data.generate(other, clients=30, language="ru", users=prepare(other), now=NOW, seed=2)
        assert snapshot(other, Streams())["s_clients"] != snapshot(db, Streams())["s_clients"]
    with db.session() as session:
        names = session.scalars(select(Streams().get(session, "clients").compiled.table.c.name))
        assert all(any("а" <= char <= "я" for char in name.lower()) for name in names)


def test_refuses_an_unknown_language_and_a_database_without_sales(db):
    with pytest.raises(ValueError, match="language"):
        demo_data.generate(db, clients=1, language="de", users={"a": 1}, now=NOW)
    with pytest.raises(ValueError, match="not published"):
        demo_data.generate(db, clients=1, language="en", users={"a": 1}, now=NOW)


def test_timing_of_ten_thousand_clients(db, capsys):
    """Printed, not asserted; the batches' progress and the counters across batches are."""
    users = prepare(db)
    seen: list[tuple[int, int]] = []
    started = time.perf_counter()
    counts = demo_data.generate(
        db,
        clients=10_000,
        language="ru",
        users=users,
        now=NOW,
        progress=lambda done, total: seen.append((done, total)),
    )
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(f"\ndemo data, 10,000 clients on {db.dialect}: {elapsed:.1f} s, {counts}")
    assert seen == [(done, 10_000) for done in range(1_000, 10_001, 1_000)]
    with db.session() as session:
        for key in STREAMS:
            given = select(func.sum(NumberCounter.value)).where(NumberCounter.stream == key)
            assert session.scalar(given) == counts[key]


def test_amounts_are_money(db, filled, streams):
    with db.session() as session:
        contracts = streams.get(session, "contracts")
        stages = contracts.compiled.parts["stages"]
        amount = contracts.compiled.part_columns["stages"]["amount"]
        for row in rows(session, contracts)[:40]:
            total = session.scalar(select(func.sum(amount)).where(stages.c.doc_id == row["id"]))
            assert Decimal(total) == row[column(contracts, "amount")]
            vat = row[column(contracts, "vat")]
            rate = row[column(contracts, "vat_rate")]
            expected = (row[column(contracts, "amount")] * rate / (100 + rate)).quantize(
                Decimal("0.01")
            )
            assert vat == expected


def test_a_second_run_adds_to_the_first(db, filled, streams):
    demo_data.generate(db, clients=50, language="en", users=filled["users"], now=NOW, seed=2)
    with db.session() as session:
        clients = streams.get(session, "clients")
        found = rows(session, clients)
        inns = [row[column(clients, "inn")] for row in found]
        assert len(found) == CLIENTS + 50 and len(set(inns)) == len(inns)
        numbers = [row["reg_number"] for row in found]
        assert numbers == [f"CL-{counter:05d}" for counter in range(1, CLIENTS + 51)]
