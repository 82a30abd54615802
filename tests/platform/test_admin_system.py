"""Who may open which administration URL, the overview, the audit log and the system page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Route

from potok.app import create_app, services_of
from potok.platform import accounts, audit
from potok.platform.audit import Actor
from potok.platform.capabilities import AUDIT, SYSTEM, USERS
from potok.platform.db import Database
from potok.platform.models import AuditEntry, Base, Department, Deputy, OutgoingMail, Role, User
from potok.platform.web.routes import admin_routes
from potok.settings import Settings
from tests.conftest import PASSWORD, SECRET_KEY, Client, FakeClock, UserMaker

CAPABILITIES = (USERS, AUDIT, SYSTEM)
ANY = "any administrative capability"

# What each administration URL needs. A new admin route fails
# test_every_admin_route_is_in_the_matrix until it is listed here.
REQUIRED: dict[str, str] = {
    "index": ANY,
    "users": USERS,
    "user_new": USERS,
    "user": USERS,
    "user_end_sessions": USERS,
    "roles": USERS,
    "role_new": USERS,
    "role": USERS,
    "role_delete": USERS,
    "departments": USERS,
    "department_new": USERS,
    "department": USERS,
    "department_delete": USERS,
    "deputies": USERS,
    "deputy_delete": USERS,
    "audit": AUDIT,
    "system": SYSTEM,
    "test_mail": SYSTEM,
}


def _admin_requests() -> list[tuple[str, str]]:
    found = []
    for route in admin_routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((route.name, method))
    return found


ADMIN_REQUESTS = _admin_requests()
REQUEST_IDS = [f"{name}-{method}" for name, method in ADMIN_REQUESTS]


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every system table, to prove a refused request changed nothing."""
    with db.engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
def world(db: Database, create_user: Callable[..., int], make_client: Callable[[], Client], clock):
    """Something for every URL to act on: a logged-in user, a role, a department, a deputy."""
    ann = create_user("ann")
    bob = create_user("bob")
    ann_client = make_client()
    assert ann_client.login("ann").status_code == 303
    today = clock().date()
    with db.session(write=True) as session:
        role = Role(
            key="clerk",
            labels={"en": "Clerk", "ru": "Клерк"},
            description="",
            capabilities=[],
            created_at=clock(),
            updated_at=clock(),
        )
        department = Department(name="Sales", position=0, created_at=clock(), updated_at=clock())
        deputy = Deputy(
            principal_id=ann,
            deputy_id=bob,
            starts_on=today,
            ends_on=today + timedelta(days=3),
            reason="",
            created_at=clock(),
        )
        session.add_all([role, department, deputy])
        session.flush()
        ids = {"user_id": ann, "role_id": role.id, "department_id": department.id}
        ids["deputy_id"] = deputy.id
    later = (today + timedelta(days=10)).isoformat()
    payloads: dict[str, dict[str, object]] = {
        "user_new": {"username": "newbie", "password": PASSWORD, "is_active": "on"},
        "user": {"full_name": "Ann Changed", "is_active": "on"},
        "user_end_sessions": {},
        "role_new": {"key": "auditor", "label_en": "Auditor"},
        "role": {"label_en": "Clerk changed"},
        "role_delete": {},
        "department_new": {"name": "Legal"},
        "department": {"name": "Sales changed"},
        "department_delete": {},
        "deputies": {
            "principal_id": str(bob),
            "deputy_id": str(ann),
            "starts_on": later,
            "ends_on": later,
        },
        "deputy_delete": {},
        "test_mail": {"to": "ops@example.com"},
    }
    return {"ids": ids, "payloads": payloads}


def url_of(app: Starlette, name: str, ids: dict[str, int]) -> str:
    route = next(r for r in admin_routes if isinstance(r, Route) and r.name == name)
    params = {key: ids[key] for key in route.param_convertors}
    return str(app.url_path_for(f"admin:{name}", **params))


def send(client: Client, method: str, url: str, data: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(url)
    return client.submit(url, data or {})


def test_every_admin_route_is_in_the_matrix():
    assert {name for name, _ in ADMIN_REQUESTS} == set(REQUIRED)


@pytest.mark.parametrize(("name", "method"), ADMIN_REQUESTS, ids=REQUEST_IDS)
def test_admin_urls_refuse_who_may_not_use_them(
    app: Starlette,
    db: Database,
    world: dict[str, Any],
    make_client: Callable[[], Client],
    as_user: UserMaker,
    name: str,
    method: str,
):
    url = url_of(app, name, world["ids"])
    data = world["payloads"].get(name)
    required = REQUIRED[name]
    outsiders = {"nobody": as_user("nobody")}
    for capability in CAPABILITIES:
        if required not in (ANY, capability):
            outsiders[capability] = as_user(f"only_{capability}", capabilities=(capability,))
    before = snapshot(db)

    anonymous = make_client()
    response = send(anonymous, method, url, data)
    if method == "GET":
        assert response.status_code == 303
        assert response.headers["location"] == "/login?" + urlencode({"next": url})
    else:
        assert response.status_code == 401
    for who, client in outsiders.items():
        response = send(client, method, url, data)
        assert response.status_code == 403, who
        assert "You do not have permission to do this." in response.text, who
    assert snapshot(db) == before


@pytest.mark.parametrize(("name", "method"), ADMIN_REQUESTS, ids=REQUEST_IDS)
def test_admin_urls_serve_who_has_the_capability(
    app: Starlette,
    db: Database,
    world: dict[str, Any],
    as_user: UserMaker,
    name: str,
    method: str,
):
    url = url_of(app, name, world["ids"])
    required = REQUIRED[name]
    for capability in CAPABILITIES if required == ANY else (required,):
        client = as_user(f"with_{capability}", capabilities=(capability,))
        before = snapshot(db)
        response = send(client, method, url, world["payloads"].get(name))
        if method == "GET":
            assert response.status_code == 200, response.text
            assert snapshot(db) == before
        else:
            # The same request that changed nothing for outsiders is carried out.
            assert response.status_code == 303, response.text
            assert snapshot(db) != before


# The overview ---------------------------------------------------------------------------------

SECTIONS = {
    USERS: ["/admin/users", "/admin/roles", "/admin/departments", "/admin/deputies"],
    AUDIT: ["/admin/audit"],
    SYSTEM: ["/admin/system"],
}


@pytest.mark.parametrize("capabilities", [(USERS,), (AUDIT,), (SYSTEM,), (AUDIT, SYSTEM)], ids=str)
def test_the_overview_shows_only_permitted_sections(
    as_user: UserMaker, capabilities: tuple[str, ...]
):
    client = as_user("helper", capabilities=capabilities)
    page = client.get("/admin/")
    assert page.status_code == 200
    for capability, links in SECTIONS.items():
        for link in links:
            assert (f'href="{link}"' in page.text) == (capability in capabilities), link
    # The main navigation leads here.
    assert 'href="/admin/"' in client.get("/").text


def test_the_overview_counts(admin: Client, create_user: Callable[..., int], db: Database, clock):
    create_user("ann")
    create_user("gone")
    with db.session(write=True) as session:
        session.get(User, create_user("old")).is_active = False  # type: ignore[union-attr]
        session.add(
            OutgoingMail(
                created_at=clock(),
                recipients=["x@example.com"],
                subject="s",
                body_text="b",
                status="failed",
                attempts=5,
                next_attempt_at=clock(),
            )
        )
    page = admin.get("/admin/").text
    # boss, admin (from ensure_admin), ann and gone; "old" is disabled.
    assert "Active users: 4" in page
    assert "Roles: 1" in page
    assert "Undelivered messages: 1" in page


def test_a_user_without_capabilities_has_no_administration(as_user: UserMaker):
    client = as_user("plain")
    assert 'href="/admin/"' not in client.get("/").text
    assert client.get("/admin/").status_code == 403


# The audit log --------------------------------------------------------------------------------


def add_entry(
    db: Database, action: str, *, at: datetime, actor: str = "system", **details: Any
) -> int:
    with db.session(write=True) as session:
        entry = audit.record(session, Actor(None, actor), action, at=at, details=details or None)
        session.flush()
        return entry.id


def shown_actions(html: str) -> list[str]:
    return re.findall(r'data-action="([a-z0-9_.]+)"', html)


@pytest.fixture
def auditor(as_user: UserMaker) -> Client:
    return as_user("auditor", capabilities=(AUDIT,))


def test_audit_log_shows_changes_old_to_new(
    admin: Client, auditor: Client, create_user: Callable[..., int]
):
    ann = create_user("ann", full_name="Ann")
    response = admin.submit(
        f"/admin/users/{ann}",
        {"full_name": "Ann Lee", "email": "", "is_active": "on"},
    )
    assert response.status_code == 303
    page = auditor.get("/admin/audit?action=user.update").text
    assert shown_actions(page) == ["user.update"]
    assert "Full name: Ann → Ann Lee" in page
    assert "E-mail: ann@example.com → —" in page
    assert "Changed a user" in page
    assert "boss" in page  # who did it


def test_audit_log_shows_values_as_people_read_them(
    auditor: Client, db: Database, clock: FakeClock
):
    add_entry(
        db,
        "role.update",
        at=clock(),
        changes={
            "capabilities": [[], ["audit", "users"]],
            "labels": [{"en": "Clerk"}, {"en": "<b>Chief</b>"}],
            "description": ["", None],
        },
    )
    add_entry(db, "mail.test", at=clock(), recipient=["a@example.com", "b@example.com"])
    page = auditor.get("/admin/audit").text
    assert "Capabilities: — → audit, users" in page
    assert "Names: en: Clerk → en: &lt;b&gt;Chief&lt;/b&gt;" in page
    assert "<b>Chief" not in page
    assert "Description:  → —" in page
    assert "Recipient: a@example.com, b@example.com" in page
    assert "[" not in re.sub(r"<[^>]*>", "", page.split('id="audit-rows"')[1])


def test_audit_log_filters_by_action_and_user(auditor: Client, db: Database, clock: FakeClock):
    add_entry(db, "user.create", at=clock(), actor="ann")
    add_entry(db, "user.update", at=clock(), actor="ann")
    add_entry(db, "user.update", at=clock(), actor="bob")
    page = auditor.get("/admin/audit?action=user.update").text
    assert shown_actions(page) == ["user.update", "user.update"]
    assert '<option value="user.update" selected>Changed a user</option>' in page
    page = auditor.get("/admin/audit?actor=ANN").text
    assert shown_actions(page) == ["user.update", "user.create"]
    page = auditor.get("/admin/audit?action=user.update&actor=bob").text
    assert shown_actions(page) == ["user.update"]
    page = auditor.get("/admin/audit?action=user.delete").text
    assert shown_actions(page) == []
    assert "Nothing recorded for these filters." in page


def test_audit_log_filters_by_day(auditor: Client, db: Database):
    add_entry(db, "a.before", at=datetime(2024, 1, 9, 23, 30))
    add_entry(db, "a.during", at=datetime(2024, 1, 10, 12, 0))
    add_entry(db, "a.after", at=datetime(2024, 1, 11, 0, 30))
    page = auditor.get("/admin/audit?since=2024-01-10&until=2024-01-10").text
    assert shown_actions(page) == ["a.during"]
    assert shown_actions(auditor.get("/admin/audit?since=2024-01-10&action=").text)[:2] == [
        "a.after",
        "a.during",
    ]
    assert "a.before" not in shown_actions(auditor.get("/admin/audit?since=2024-01-10").text)
    assert shown_actions(auditor.get("/admin/audit?until=2024-01-09").text) == ["a.before"]


@pytest.mark.parametrize(
    "query",
    [
        "since=not-a-day",
        "until=2024-02-30",
        "until=9999-12-31",
        "since=0001-01-01",
        "before=abc",
        "before=%C2%B2",
        "before=99999999999999999999999",
        "before=-5",
    ],
)
def test_audit_log_ignores_filters_it_cannot_use(auditor: Client, db: Database, query: str):
    add_entry(db, "a.entry", at=datetime(2024, 1, 10, 12, 0))
    page = auditor.get(f"/admin/audit?{query}")
    assert page.status_code == 200
    assert "a.entry" in shown_actions(page.text)


def test_audit_log_days_are_in_the_configured_time_zone(
    settings: Settings, clock: FakeClock, db: Database
):
    add_entry(db, "a.before", at=datetime(2024, 1, 9, 20, 30))  # 23:30 in Moscow
    add_entry(db, "a.late", at=datetime(2024, 1, 9, 23, 30))  # 02:30 on the 10th in Moscow
    add_entry(db, "a.during", at=datetime(2024, 1, 10, 12, 0))
    add_entry(db, "a.after", at=datetime(2024, 1, 10, 21, 30))  # 00:30 on the 11th in Moscow
    with custom_app(settings.replace(timezone="Europe/Moscow"), clock) as client:
        page = client.get("/admin/audit?since=2024-01-10&until=2024-01-10").text
        assert shown_actions(page) == ["a.during", "a.late"]
        page = client.get("/admin/audit?since=0001-01-01&until=2024-01-09").text
        assert shown_actions(page) == ["a.before"]


def test_audit_log_pages_with_before(auditor: Client, db: Database, clock: FakeClock):
    ids = [
        add_entry(db, f"n.e{number:03d}", at=clock() - timedelta(minutes=200 - number))
        for number in range(120)
    ]
    seen: list[str] = []
    url = "/admin/audit?action=&actor=&since=&until="
    pages = 0
    while url:
        page = auditor.get(url).text
        pages += 1
        seen += [a for a in shown_actions(page) if a.startswith("n.")]
        more = re.search(r'href="(/admin/audit\?[^"]*before=(\d+))"', page)
        url = more.group(1).replace("&amp;", "&") if more else ""
    # Newest first, nothing twice, nothing left out; the auditor's own login is on page 1.
    assert pages == 3
    assert seen == [f"n.e{number:03d}" for number in reversed(range(120))]
    assert len(ids) == 120


def test_audit_log_paging_keeps_the_filters(auditor: Client, db: Database, clock: FakeClock):
    for number in range(60):
        add_entry(db, "x.kept" if number % 2 else "x.other", at=clock())
    add_entry(db, "x.kept", at=clock())
    page = auditor.get("/admin/audit?action=x.kept").text
    assert shown_actions(page).count("x.kept") == 31
    assert "Show older" not in page
    for _ in range(40):
        add_entry(db, "x.kept", at=clock())
    page = auditor.get("/admin/audit?action=x.kept").text
    more = re.search(r'href="(/admin/audit\?[^"]*)"[^>]*>\s*Show older', page)
    assert more is not None
    link = more.group(1).replace("&amp;", "&")
    assert "action=x.kept" in link
    # "Show older" is an htmx request for just the next rows.
    rows = auditor.get(link, headers={"HX-Request": "true"})
    assert rows.status_code == 200
    assert "<html" not in rows.text and "<table" not in rows.text
    assert shown_actions(rows.text) == ["x.kept"] * 21


# The system page -----------------------------------------------------------------------------


class custom_app:
    """An app with its own settings on the test's database, and a client logged in as admin."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.app = create_app(settings, clock=clock)
        self.clock = clock

    def __enter__(self) -> Client:
        services = services_of(self.app)
        with services.db.session(write=True) as session:
            accounts.ensure_admin(session, password=PASSWORD, now=self.clock())
        self.client = Client(self.app, follow_redirects=False)
        self.client.__enter__()
        assert self.client.login("admin").status_code == 303
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.__exit__(None, None, None)
        services_of(self.app).db.dispose()


@pytest.fixture
def operator(as_user: UserMaker) -> Client:
    return as_user("operator", capabilities=(SYSTEM,), email="operator@example.com")


def test_system_page_never_shows_secrets(settings: Settings, clock: FakeClock):
    secret_settings = settings.replace(
        smtp_url="smtp://mailer:hunter2-mail@mail.example.com:25",
        admin_password="hunter2-admin",
    )
    with custom_app(secret_settings, clock) as client:
        page = client.get("/admin/system")
    assert page.status_code == 200
    for secret in ("hunter2-mail", "hunter2-admin", "mailer", SECRET_KEY):
        assert secret not in page.text
    if settings.database_url:
        assert settings.database_url not in page.text
    assert re.search(r"<code>POTOK_SMTP_URL</code></dt>\s*<dd>\(set\)", page.text)
    assert re.search(r"<code>POTOK_SECRET_KEY</code></dt>\s*<dd>\(set\)", page.text)
    assert re.search(r"<code>POTOK_TIMEZONE</code></dt>\s*<dd>UTC", page.text)
    assert "No mail server is configured" not in page.text


def test_system_page_without_a_mail_server(operator: Client):
    page = operator.get("/admin/system").text
    assert "No mail server is configured" in page
    assert "The scheduler is off in this process" in page
    assert 'value="operator@example.com"' in page  # the test address defaults to mine


def test_test_mail_is_queued(operator: Client, db: Database, clock: FakeClock):
    response = operator.submit("/admin/system/test-mail", {"to": " ops@example.com "})
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/system"
    with db.session() as session:
        mail = session.scalars(select(OutgoingMail)).one()
        assert mail.recipients == ["ops@example.com"]
        assert mail.subject == "Potok test message"
        assert mail.status == "queued" and mail.next_attempt_at == clock()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.test")).one()
        assert entry.details == {"recipient": "ops@example.com"} and entry.actor_name == "operator"
    page = operator.get("/admin/system").text
    assert "A test message to ops@example.com is in the outbox" in page
    assert "Queued: 1 · sent: 0 · failed: 0" in page
    assert "ops@example.com · Potok test message" in page


@pytest.mark.parametrize(
    "to",
    ["", "nobody", "a@b", "two words@example.com", "a@b.c\nBcc: x@y.z", "x" * 250 + "@example.com"],
    ids=["empty", "no-at", "no-dot", "space", "header", "long"],
)
def test_test_mail_refuses_bad_addresses(operator: Client, db: Database, to: str):
    before = snapshot(db)
    response = operator.submit("/admin/system/test-mail", {"to": to})
    assert response.status_code == 400
    assert "Enter an e-mail address like name@example.com." in response.text
    assert snapshot(db) == before
