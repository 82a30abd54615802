"""Demo data for the Sales configuration: clients with contact persons, inquiries, works and
contracts, written straight into the published streams' tables — deterministic and fast.

What one call makes, per client on average (counts are drawn per client, so they vary):

* **Clients** — 1 each: a Faker (``ru_RU`` / ``en_US``) company with a legal form, valid
  10-digit INNs (about 8% sole traders with 12-digit INNs and no KPP/OGRN), KPP, OGRN, bank
  requisites that pass the BIK key check (70%), a legal address, phone, e-mail, web site;
  region, industry, size, category and source from the published dictionaries with a skew
  (the first items far more often, as Moscow outweighs Tver); mailing groups; 1–4 contact
  persons (influence −5…+5). The status follows the client's contracts (a contract in
  approval makes "contract on approval", in signing "awaiting payment", in execution
  "active"), otherwise new / negotiating / passive / lost.
* **Inquiries** — ~1.3: every kind (retail orders with order lines, long sales, questions)
  and every status. About half the clients came from a long-sale inquiry, which is
  "client created" and linked to them; the newest inquiries are new or in work; older ones
  are closed or refused (with a reason).
* **Works** — ~3: letters, calls, meetings, presentations, proposals and contract
  preparations over the last year, each planned 0–20 days after it was registered: the past
  ones mostly done (with a result and done time), a few overdue, the future ones planned —
  the calendar around ``now`` is full. Some are linked to the client's contract.
* **Contracts** — ~0.6: every status (the newest in draft, approval and signing; older ones
  in execution, closed or cancelled), amounts from 15,000 to several millions (about a
  fifth above 1,000,000), VAT computed by the stream's own formula, a calendar plan of 1–5
  stages whose amounts add up to the contract's, past stages done.

Documents are owned, managed and authored by the demo managers (``users`` whose name starts
with ``manager``; all ``users`` when none does), some managers busier than others.

Registration numbers are given the way the runtime gives them — the stream's template, its
yearly or never-resetting periods, no gaps — in order of registration time (each stream's
documents are registered along its own timeline, so generation order is time order), and the
number counters are left at the last number, so the next card registered in the UI gets the
next number. ``search_text`` is filled by the stream's own search expression
(:meth:`~potok.metadata.compiler.CompiledStream.search_expression`), so the full-text index
(FTS5 triggers / GIN) is what the runtime would have written. No route instances, history
entries or attachments are made.

The same ``seed``, size, language, users and ``now`` give the same rows (on a database with
the same clients before: a second run numbers its clients, and so their INNs, on after the
first's). Rows are written through SQLAlchemy Core in one transaction per batch of clients,
so memory stays flat (about 90 MB of Python heap at 300,000 clients) and
``progress(done, total)`` is called after each batch.

Measured on this 2-core machine (SQLite, WAL, other work running beside it): 10,000 clients
(~59,000 documents) in 9–16 s; 300,000 clients — 174,629 contracts, 915,010 works, 389,829
inquiries (1.78M documents) and 1.58M table and mailing-group rows, a 1.3 GB file — in
3 min 45 s (225 s). On PostgreSQL the same 10,000 clients took 55 s with the machine busy.
The cycle collector is off while the batches are made, and on SQLite rows go to
``executemany`` through their column types' bind processors, without SQLAlchemy's per-row
parameter handling (together about a third of the time).
"""

from __future__ import annotations

import bisect
import gc
import itertools
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from faker import Faker
from sqlalchemy import func, select

from potok.metadata import store
from potok.metadata.compiler import CompiledStream
from potok.metadata.dictionaries import items_of
from potok.metadata.model import Field
from potok.metadata.schema_changes import Workspace
from potok.metadata.tables import NumberCounter
from potok.platform.db import Database
from potok.seed_configs import _demo_requisites as requisites
from potok.seed_configs._demo_texts import LEGAL_FORMS, NAME_SUFFIXES, SOLE_TRADER, TEXTS
from potok.seed_configs._demo_writer import STREAMS, Batch, Doc, Writer

LANGUAGES = {"ru": "ru_RU", "en": "en_US"}
BATCH = 1000  # clients per transaction
POOL = 1500  # Faker values drawn per kind; documents combine them
# Documents per client: the distribution of counts (index = count, value = weight).
INQUIRIES = (25, 35, 25, 15)  # mean 1.3
WORKS = (10, 15, 20, 18, 13, 10, 7, 4, 3)  # mean ~3
CONTRACTS = (55, 35, 7, 3)  # mean 0.58
# How far back each stream's registrations go, and where they end (relative to now).
TIMELINES = {
    "clients": (timedelta(days=3 * 365), timedelta(hours=2)),
    "inquiries": (timedelta(days=3 * 365), timedelta(minutes=5)),
    "contracts": (timedelta(days=3 * 365 - 14), timedelta(hours=1)),
    "works": (timedelta(days=365), timedelta(minutes=30)),
}
TAX_REGIONS = {"moscow": "77", "moscow_region": "50", "spb": "78", "vfd": "16", "ufd": "66"}
CENT = Decimal("0.01")
NEWEST = 12  # the newest documents of a stream are still in progress, however few there are

Progress = Callable[[int, int], None]


def generate(
    database: Database,
    *,
    clients: int,
    language: str,
    users: Mapping[str, int],
    now: datetime,
    progress: Progress | None = None,
    seed: int = 1,
) -> dict[str, int]:
    """Fill the published Sales streams with ``clients`` clients and their inquiries, works
    and contracts (see the module's docstring); answers the number of documents per stream."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if not users:
        raise ValueError("demo data needs at least one user to own the documents")
    rng = random.Random(seed)  # noqa: S311 - demo data must repeat, not be secret
    plan = _Plan.draw(rng, clients)
    with database.session(write=True) as session:
        documents = store.published(session)
        streams = {key: body for (kind, key), body in documents.items() if kind == "stream"}
        missing = [key for key in STREAMS if key not in streams]
        if missing:
            raise ValueError(f"the Sales streams are not published: {', '.join(missing)}")
        _, compiled = Workspace(session, now, streams).compile()
        wanted = {
            str(item.spec["dictionary"])
            for key in STREAMS
            for item in _all_fields(compiled[key])
            if "dictionary" in item.spec
        }
        found = items_of(session, wanted)
        dictionaries = {key: _Dictionary.of(rows) for key, rows in found.items()}
        counters = {
            (row.stream, row.period): row.value
            for row in session.scalars(
                select(NumberCounter).where(NumberCounter.stream.in_(STREAMS))
            )
        }
        # INNs are made from the client's number: a second run numbers on after the first.
        earlier = session.scalar(select(func.count()).select_from(compiled["clients"].table))
    writer = Writer(
        compiled={key: compiled[key] for key in STREAMS},
        counters=counters,
        now=now,
    )
    maker = _Maker(
        rng=rng,
        words=_Words.draw(language, seed),
        texts=TEXTS[language],
        language=language,
        managers=_managers(users),
        dictionaries=dictionaries,
        plan=plan,
        now=now,
        seed=seed,
        earlier=earlier or 0,
    )
    # Batches are plain dicts and lists without cycles; Python's cycle collector, run over
    # and over as they are allocated, cost a sixth of the time (measured at 20,000 clients).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for start in range(0, clients, BATCH):
            batch = maker.batch(start, min(clients, start + BATCH))
            with database.session(write=True) as session:
                writer.write(session.connection(), batch)
            if progress is not None:
                progress(min(clients, start + BATCH), clients)
    finally:
        if collecting:
            gc.enable()
    return dict(writer.written)


def _managers(users: Mapping[str, int]) -> list[int]:
    managers = [users[name] for name in sorted(users) if name.startswith("manager")]
    return managers or [users[name] for name in sorted(users)]


def _all_fields(compiled: CompiledStream) -> Iterator[Field]:
    for item in compiled.stream.fields:
        yield item
        yield from item.columns


# What to make ------------------------------------------------------------------------------


@dataclass
class _Plan:
    """How many documents each client gets (drawn first, so each stream's total — and so its
    timeline — is known before anything is written)."""

    counts: dict[str, bytearray]
    totals: dict[str, int]
    before: dict[str, int] = field(default_factory=dict)  # documents of earlier batches

    @classmethod
    def draw(cls, rng: random.Random, clients: int) -> _Plan:
        counts = {"clients": bytearray([1]) * clients}
        for key, weights in (
            ("inquiries", INQUIRIES),
            ("works", WORKS),
            ("contracts", CONTRACTS),
        ):
            counts[key] = bytearray(rng.choices(range(len(weights)), weights, k=clients))
        totals = {key: sum(values) for key, values in counts.items()}
        return cls(counts, totals, dict.fromkeys(counts, 0))

    def moment(self, stream: str, index: int, now: datetime, jitter: float) -> datetime:
        """When document ``index`` of ``stream`` was registered: spread evenly (with a little
        jitter that keeps the order) along the stream's timeline."""
        span, end = TIMELINES[stream]
        total = max(self.totals[stream], 1)
        return (now - end - span + span * ((index + jitter) / total)).replace(microsecond=0)


@dataclass
class _Dictionary:
    ids: list[int]  # active items that have no children, in order
    by_code: dict[str, int]
    codes: dict[int, str]
    cumulative: list[float]  # Zipf-like weights: the n-th item 1/n as often as the first

    @classmethod
    def of(cls, rows: Sequence[Any]) -> _Dictionary:
        parents = {row.parent_id for row in rows}
        ids = [row.id for row in rows if row.id not in parents and row.active]
        weights = itertools.accumulate(1 / (rank + 1) for rank in range(len(ids)))
        return cls(
            ids,
            {row.code: row.id for row in rows if row.active},
            {row.id: row.code for row in rows},
            list(weights),
        )

    def skewed(self, rng: random.Random) -> int | None:
        if not self.ids:
            return None
        return self.ids[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]

    def code(self, code: str, rng: random.Random) -> int | None:
        """The item with ``code``, or a skewed pick when the dictionary has no such code."""
        found = self.by_code.get(code)
        return found if found is not None else self.skewed(rng)


@dataclass
class _Words:
    """Faker's names, companies and addresses, drawn once; documents combine them."""

    companies: list[str]
    people: list[str]
    logins: list[str]
    domains: list[str]
    addresses: list[str]
    banks: list[str]

    @classmethod
    def draw(cls, language: str, seed: int) -> _Words:
        fake = Faker(LANGUAGES[language])
        fake.seed_instance(seed)
        if language == "ru":
            people = [
                f"{fake.last_name_male()} {fake.first_name_male()} {fake.middle_name_male()}"
                if index % 2
                else f"{fake.last_name_female()} {fake.first_name_female()} "
                f"{fake.middle_name_female()}"
                for index in range(POOL)
            ]
        else:
            people = [fake.name() for _ in range(POOL)]
        return cls(
            companies=sorted(
                {bare for _ in range(POOL) if (bare := _bare_company(fake.company()))}
            ),
            people=people,
            logins=[fake.user_name() for _ in range(POOL)],
            domains=sorted({fake.domain_name() for _ in range(POOL)}),
            addresses=[fake.address().replace("\n", ", ") for _ in range(POOL)],
            banks=sorted({fake.bank() for _ in range(40)})[:12],
        )


_QUOTED = re.compile(r"«(.+)»")
_LEGAL_FORM = re.compile(r"\s+(?:LLC|Inc|Ltd|PLC|Group|Лтд|Лимитед|Инк)\.?$")


def _bare_company(name: str) -> str | None:
    """A Faker company name without its legal form ("ОАО «…»", "… LLC"), for the generator
    to add its own; None for names of real companies (Faker's Russian list has some)."""
    quoted = _QUOTED.search(name)
    if quoted:
        return quoted.group(1).replace(",", "")
    if any(char.isdigit() or char in "()" for char in name) or name.upper() == name:
        return None
    return _LEGAL_FORM.sub("", name).replace(",", "")


@dataclass
class _Maker:
    rng: random.Random
    words: _Words
    texts: Mapping[str, Any]
    language: str
    managers: list[int]
    dictionaries: Mapping[str, _Dictionary]
    plan: _Plan
    now: datetime
    seed: int
    earlier: int  # clients in the database before this run

    def pick(self, dictionary: str) -> int | None:
        found = self.dictionaries.get(dictionary)
        return found.skewed(self.rng) if found else None

    def item(self, dictionary: str, code: str) -> int | None:
        found = self.dictionaries.get(dictionary)
        return found.code(code, self.rng) if found else None

    def moment(self, stream: str, recent: timedelta = timedelta(0)) -> tuple[datetime, int]:
        """The next document's registration time, and a rank among the newest: 1 for the
        newest of the stream, 2 for the one before… (0 when older than ``recent`` and not
        among the newest dozen — small data sets still have every status)."""
        index = self.plan.before[stream]
        self.plan.before[stream] += 1
        moment = self.plan.moment(stream, index, self.now, self.rng.random())
        rank = self.plan.totals[stream] - index
        return moment, rank if rank <= NEWEST or self.now - moment < recent else 0

    def batch(self, start: int, stop: int) -> Batch:
        batch: Batch = {key: [] for key in STREAMS}
        for number in range(start, stop):
            self.client(batch, number)
        return batch

    def client(self, batch: Batch, number: int) -> None:
        rng, texts = self.rng, self.texts
        index = len(batch["clients"])
        manager = self.managers[min(int(rng.expovariate(1.2)), len(self.managers) - 1)]
        region = self.pick("regions")
        region_code = (
            self.dictionaries["regions"].codes.get(region or 0, "")
            if ("regions" in self.dictionaries)
            else ""
        )
        created, _ = self.moment("clients")
        company = rng.choice(self.words.companies)
        suffix = rng.choice(NAME_SUFFIXES[self.language])
        brand = f"{company} {suffix}".strip()
        sole_trader = rng.random() < 0.08
        if sole_trader:
            short, long = SOLE_TRADER[self.language]
            person = rng.choice(self.words.people)
            name, full_name = f"{short} {person}".strip(), f"{long} {person}"
        else:
            short, long = rng.choice(LEGAL_FORMS[self.language])
            quoted = f"«{brand}»" if self.language == "ru" else brand
            name = f"{short} {quoted}" if self.language == "ru" else f"{brand} {short}"
            full_name = f"{long} {quoted}"
        inn = requisites.inn(
            self.earlier + number, self.seed, TAX_REGIONS.get(region_code, "77"), sole_trader
        )
        domain = rng.choice(self.words.domains)
        values: dict[str, Any] = {
            "name": name[:300],
            "full_name": full_name[:500],
            "source": self.pick("contact_sources"),
            "industry": self.pick("industries"),
            "size": self.pick("organization_sizes"),
            "region": region,
            "category": self.pick("client_categories"),
            "manager": manager,
            "inn": inn,
            "legal_address": rng.choice(self.words.addresses),
            "phone": requisites.phone(rng, self.language, mobile=False),
            "email": f"info@{domain}",
            "site": f"https://{domain}",
            "mailing_groups": self.mailing_groups(),
            "contacts": [self.contact(domain) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4)))],
            "notes": rng.choice(texts["notes"]) if rng.random() < 0.3 else None,
        }
        if not sole_trader:
            values["kpp"] = inn[:4] + "01001"
            values["ogrn"] = requisites.ogrn(created.year - rng.randrange(1, 15), inn)
        if rng.random() < 0.7:
            values.update(requisites.bank(rng, self.words.banks, number))
        first = len(batch["contracts"])
        statuses = [
            self.contract(batch, index, values, manager)
            for _ in range(self.plan.counts["contracts"][number])
        ]
        values["status"] = self.item("client_statuses", _client_status(rng, statuses))
        batch["clients"].append(Doc(created, manager, values))
        contracts = list(range(first, len(batch["contracts"])))
        for _ in range(self.plan.counts["works"][number]):
            self.work(batch, index, manager, contracts)
        for position in range(self.plan.counts["inquiries"][number]):
            self.inquiry(batch, index, values, manager, origin=position == 0 and rng.random() < 0.6)

    def mailing_groups(self) -> list[int]:
        found = self.dictionaries.get("mailing_groups")
        if found is None:
            return []
        chances = {"vip": 0.1, "newsletter": 0.35, "partners": 0.05, "blacklist": 0.02}
        return sorted(
            id_
            for code, id_ in found.by_code.items()
            if self.rng.random() < chances.get(code, 0.05)
        )

    def contact(self, domain: str) -> dict[str, Any]:
        rng = self.rng
        position = rng.choice(self.texts["positions"])
        top = self.texts["positions"].index(position) < 3
        return {
            "person": rng.choice(self.words.people),
            "job_title": position,
            "phone": requisites.phone(rng, self.language, mobile=True),
            "email": f"{rng.choice(self.words.logins)}@{domain}",
            "influence": rng.randint(2, 5) if top else rng.randint(-5, 4),
        }

    def contract(self, batch: Batch, client: int, owner: Mapping[str, Any], manager: int) -> str:
        rng, texts = self.rng, self.texts
        created, newest = self.moment("contracts", recent=timedelta(days=20))
        if newest:
            status = ("draft", "approval", "signing", "approval")[newest % 4]
        elif self.now - created < timedelta(days=400):
            status = rng.choices(("execution", "closed", "cancelled"), (70, 20, 10))[0]
        else:
            status = rng.choices(("execution", "closed", "cancelled"), (15, 75, 10))[0]
        kind = rng.choices(("supply", "services", "licence", "framework"), (40, 35, 15, 10))[0]
        product, _ = rng.choice(texts["products"])
        amount = Decimal(min(int(rng.lognormvariate(12.8, 1.1)), 40_000_000) // 100 * 100 + 15_000)
        signed = None
        if status in ("execution", "closed"):
            signed = min((created + timedelta(days=rng.randint(3, 20))).date(), self.now.date())
        values: dict[str, Any] = {
            "kind": self.item("contract_kinds", kind),
            "title": texts["contract_titles"][kind].format(product=product),
            "subject": texts["contract_subject"].format(product=product, client=owner["name"]),
            "status": self.item("contract_statuses", status),
            "amount": amount,
            "vat_rate": Decimal(rng.choice((20, 20, 20, 10, 0))),
            "manager": manager,
            "signed_on": signed,
            "valid_from": signed,
            "valid_to": signed + timedelta(days=365) if signed else None,
            "stages": self.stages(amount, signed or created.date(), status),
        }
        batch["contracts"].append(Doc(created, manager, values, {"client": ("clients", client)}))
        return status

    def stages(self, amount: Decimal, start: date, status: str) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.randint(1, len(self.texts["stages"]))
        shares = [rng.randint(1, 4) for _ in range(count)]
        rows, left = [], amount
        for position, share in enumerate(shares):
            part = (
                left
                if position == count - 1
                else (amount * share / sum(shares)).quantize(CENT, ROUND_HALF_UP)
            )
            left -= part
            due = start + timedelta(days=30 * (position + 1))
            rows.append(
                {
                    "title": self.texts["stages"][position],
                    "due": due,
                    "amount": part,
                    "done": status == "closed" or (status == "execution" and due < self.now.date()),
                }
            )
        return rows

    def work(self, batch: Batch, client: int, manager: int, contracts: list[int]) -> None:
        rng = self.rng
        created, _ = self.moment("works")
        kind = rng.choices(
            ("call", "letter", "meeting", "presentation", "proposal", "contract_preparation"),
            (40, 20, 15, 8, 12, 5),
        )[0]
        planned = created + timedelta(days=int(rng.expovariate(0.25)) % 21)
        planned = planned.replace(
            hour=rng.randint(9, 17), minute=rng.choice((0, 15, 30, 45)), second=0
        )
        planned = max(planned, created)
        duration = {"call": 15, "letter": 30, "meeting": 90}.get(kind, 60)
        done = planned < self.now and rng.random() < 0.92
        if rng.random() < 0.1:
            manager = rng.choice(self.managers)
        values: dict[str, Any] = {
            "kind": self.item("work_kinds", kind),
            "subject": rng.choice(self.texts["work_subjects"][kind]),
            "manager": manager,
            "planned_at": planned,
            "duration": duration,
            "remind_before": rng.choice((15, 30, 30, 60)),
            "done": done,
            "done_at": min(planned + timedelta(minutes=duration), self.now) if done else None,
            "result": rng.choice(self.texts["results"]) if done else None,
        }
        links = {"client": ("clients", client)}
        if contracts and rng.random() < 0.5:
            links["contract"] = ("contracts", rng.choice(contracts))
        batch["works"].append(Doc(created, manager, values, links))

    def inquiry(
        self, batch: Batch, client: int, owner: Mapping[str, Any], manager: int, *, origin: bool
    ) -> None:
        rng, texts = self.rng, self.texts
        created, newest = self.moment("inquiries", recent=timedelta(days=3))
        kind = (
            "long_sale"
            if origin
            else rng.choices(("retail_order", "long_sale", "question"), (50, 25, 25))[0]
        )
        if newest:
            status = ("new", "in_work", "new")[newest % 3]
        elif origin:
            status = "converted"
        elif kind == "long_sale":
            status = rng.choice(("refused", "closed"))
        else:
            status = rng.choices(("closed", "refused"), (85, 15))[0]
        product, price = rng.choice(texts["products"])
        contact = owner["contacts"][0]
        values: dict[str, Any] = {
            "kind": self.item("inquiry_kinds", kind),
            "source": self.pick("contact_sources"),
            "subject": rng.choice(texts["inquiry_subjects"][kind]).format(product=product),
            "contact_person": contact["person"],
            "email": contact["email"],
            "phone": contact["phone"],
            "organization": owner["name"],
            "inn": owner["inn"],
            "manager": None if status == "new" else manager,
            "call_by": created + timedelta(minutes=15),
            "status": status,
            "refusal_reason": rng.choice(texts["refusals"]) if status == "refused" else None,
            "order": [],
        }
        if kind == "retail_order":
            values["invoice_requisites"] = texts["requisites"].format(
                inn=owner["inn"], address=owner["legal_address"]
            )
            lines = [rng.choice(texts["products"]) for _ in range(rng.randint(1, 3))]
            values["order"] = [
                {"product": name, "quantity": Decimal(rng.randint(1, 10)), "price": Decimal(cost)}
                for name, cost in [(product, price), *lines[1:]]
            ]
        links = {"client": ("clients", client)} if status == "converted" else {}
        batch["inquiries"].append(Doc(created, manager, values, links))


def _client_status(rng: random.Random, contracts: Sequence[str]) -> str:
    for contract, status in (
        ("approval", "contract_on_approval"),
        ("signing", "awaiting_payment"),
        ("execution", "active"),
    ):
        if contract in contracts:
            return status
    if contracts:
        return rng.choice(("active", "passive"))
    return rng.choices(("new", "negotiating", "passive", "lost"), (30, 40, 20, 10))[0]
