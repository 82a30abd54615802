"""``potok demo`` and ``potok serve --demo``: the demo company's people once, with their
passwords printed once and stored only as hashes; a plain first start has only ``admin``."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import uvicorn
from sqlalchemy import func, select

from potok import cli
from potok.platform import passwords
from potok.platform.db import Database, make_unpooled_engine
from potok.platform.models import AuditEntry, Department, Deputy, User
from potok.seed_configs import staff
from potok.settings import SETTINGS, Settings

ROW = re.compile(r"^  ([a-z0-9-]+) +([\w-]{16}) +([a-z_,]+) +(.+)$", re.M)


@pytest.fixture
def env(empty_database: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    for name, value in empty_database.items():
        monkeypatch.setenv(name, value)
    return empty_database


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def database() -> Database:
    return Database(make_unpooled_engine(Settings.from_env()))


def test_demo_creates_the_staff_once_and_prints_their_passwords(
    env: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["demo", "--language", "ru"], capsys)
    assert code == 0, err
    assert "Loaded the default configuration 'sales'." in out
    rows = {name: (password, roles, full) for name, password, roles, full in ROW.findall(out)}
    assert sorted(rows) == sorted(person.username for person in staff.STAFF)
    assert rows["sales-head"][1:] == ("head_of_sales", "Анна Смирнова")
    assert [name for name, row in rows.items() if row[1] == "sales_manager"] == [
        "manager1",
        "manager2",
        "manager3",
    ]
    db = database()
    try:
        with db.session() as session:
            users = {user.username: user for user in session.scalars(select(User))}
            for name, (password, _, _) in rows.items():
                hashed = users[name].password_hash
                assert hashed != password and passwords.verify_password(hashed, password)
            heads = {
                department.code: department.head.username if department.head else None
                for department in session.scalars(select(Department))
            }
            assert heads == {
                "MGMT": "ceo",
                "SALES": "sales-head",
                "FIN": "cfo",
                "LEGAL": "lawyer",
                "WH": "warehouse",
                "OFFICE": "secretary",
            }
            assert {users[name].department.code for name in ("manager1", "manager2")} == {"SALES"}  # type: ignore[union-attr]
            (deputy,) = session.scalars(select(Deputy))
            assert (deputy.principal.username, deputy.deputy.username) == ("manager1", "manager2")
            assert deputy.starts_on <= date.today() <= deputy.ends_on
            counts = (
                session.scalar(select(func.count()).select_from(User)),
                session.scalar(select(func.count()).select_from(AuditEntry)),
            )
    finally:
        db.dispose()
    # Again: nothing new, nothing reset, and it says so.
    code, out, _ = run(["demo"], capsys)
    assert code == 0
    assert "already exist; nothing was created or changed" in out
    assert not ROW.findall(out)
    db = database()
    try:
        with db.session() as session:
            assert (
                session.scalar(select(func.count()).select_from(User)),
                session.scalar(select(func.count()).select_from(AuditEntry)),
            ) == counts
            again = {user.username: user.password_hash for user in session.scalars(select(User))}
            assert again == {name: user.password_hash for name, user in users.items()}
    finally:
        db.dispose()


def test_serve_demo_sets_up_the_demo_and_plain_serve_only_admin(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    code, out, err = run(["serve", "--no-scheduler"], capsys)
    assert code == 0, err and len(served) == 1
    assert "Demo users" not in out
    db = database()
    try:
        with db.session() as session:
            assert list(
                session.scalars(select(User.username).where(User.is_system.is_(False)))
            ) == ["admin"]
            assert session.scalar(select(func.count()).select_from(Department)) == 0
    finally:
        db.dispose()
    code, out, err = run(["serve", "--no-scheduler", "--demo"], capsys)
    assert code == 0, err
    assert "Demo users (the passwords are shown only this once):" in out
    assert len(ROW.findall(out)) == len(staff.STAFF)
    assert "manager2 stands in for manager1 this week." in out
    code, out, _ = run(["serve", "--no-scheduler", "--demo"], capsys)
    assert code == 0 and "already exist" in out and not ROW.findall(out)


def test_demo_needs_the_sales_roles(
    env: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data dir that already holds another configuration gets no half-made company."""
    monkeypatch.setenv("POTOK_DEFAULT_CONFIG", "none")
    code, _, _ = run(["db", "upgrade"], capsys)
    assert code == 0
    db = database()
    try:
        with db.session(write=True) as session:
            from potok.platform.models import SystemState

            session.add(SystemState(key="default_configuration", value={}, updated_at=_now()))
    finally:
        db.dispose()
    code, _, err = run(["demo"], capsys)
    assert code == 2
    assert "the demo needs the roles of the Sales configuration" in err
    db = database()
    try:
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Department)) == 0
            assert list(session.scalars(select(User.username))) == ["admin"]
    finally:
        db.dispose()


def _now() -> Any:
    from potok.platform.clock import utcnow

    return utcnow()
