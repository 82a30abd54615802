"""The demo company's people for the Sales configuration, created once by ``potok demo``.

Departments with their heads (management above sales, finance, legal, warehouse and the
office), one user per Sales role (three sales managers), and one deputy arrangement: the
second manager stands in for the first for a week around today. Everything goes through the
platform's own functions (:mod:`potok.platform.accounts`, :mod:`potok.platform.org`), so it
is checked and audited as if an administrator had typed it. Passwords are generated, only
their hashes are stored, and they are returned once for the command to print. A second run
finds the mark it left and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.errors import SettingsError
from potok.platform import accounts, org
from potok.platform.audit import Actor
from potok.platform.models import Department, Role, SystemState

CREATED = "demo_staff"
ACTOR = Actor(None, "demo")


@dataclass(frozen=True)
class Person:
    username: str
    names: dict[str, str]  # full name by language
    department: str  # department code
    roles: tuple[str, ...]
    heads: bool = False  # heads their department


DEPARTMENTS: dict[str, dict[str, str]] = {
    # code: name by language; the first is the parent of the others.
    "MGMT": {"en": "Management", "ru": "Дирекция"},
    "SALES": {"en": "Sales", "ru": "Отдел продаж"},
    "FIN": {"en": "Finance", "ru": "Финансовый отдел"},
    "LEGAL": {"en": "Legal", "ru": "Юридический отдел"},
    "WH": {"en": "Warehouse", "ru": "Склад"},
    "OFFICE": {"en": "Office", "ru": "Канцелярия"},
}

STAFF = (
    Person("ceo", {"en": "Oleg Lebedev", "ru": "Олег Лебедев"}, "MGMT", ("ceo",), True),
    Person("analyst", {"en": "Daria Orlova", "ru": "Дарья Орлова"}, "MGMT", ("designer",)),
    Person(
        "sales-head",
        {"en": "Hanna Smirnova", "ru": "Анна Смирнова"},
        "SALES",
        ("head_of_sales",),
        True,
    ),
    Person("manager1", {"en": "Artem Volkov", "ru": "Артём Волков"}, "SALES", ("sales_manager",)),
    Person("manager2", {"en": "Mila Petrova", "ru": "Мила Петрова"}, "SALES", ("sales_manager",)),
    Person("manager3", {"en": "Igor Sokolov", "ru": "Игорь Соколов"}, "SALES", ("sales_manager",)),
    Person("cfo", {"en": "Fedor Morozov", "ru": "Фёдор Морозов"}, "FIN", ("cfo",), True),
    Person("accountant", {"en": "Natalia Popova", "ru": "Наталья Попова"}, "FIN", ("accountant",)),
    Person(
        "lawyer", {"en": "Elena Kuznetsova", "ru": "Елена Кузнецова"}, "LEGAL", ("lawyer",), True
    ),
    Person("warehouse", {"en": "Pavel Kozlov", "ru": "Павел Козлов"}, "WH", ("warehouse",), True),
    Person(
        "secretary",
        {"en": "Svetlana Novikova", "ru": "Светлана Новикова"},
        "OFFICE",
        ("secretary",),
        True,
    ),
)
# manager2 stands in for manager1 from three days ago for a week.
DEPUTY = ("manager1", "manager2", -3, 4)


@dataclass
class Staff:
    """What :func:`create_staff` did: the users created (with their passwords, to be shown
    once) and every demo user's id by username."""

    created: list[tuple[str, str, str, tuple[str, ...]]] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)
    already: bool = False


def _ids(session: Session) -> dict[str, int]:
    wanted = [person.username for person in STAFF]
    users = accounts.list_users(session)
    return {user.username: user.id for user in users if user.username in wanted}


def create_staff(session: Session, *, language: str, now: datetime) -> Staff:
    """Create the demo departments, users and deputy, once (the caller's transaction).

    Raises :class:`SettingsError` when a role the demo needs is missing (the Sales
    configuration is not loaded) and ``ValidationFailed`` when, say, a username is taken;
    the caller rolls back, so nothing is half-created."""
    if session.get(SystemState, CREATED) is not None:
        return Staff(ids=_ids(session), already=True)
    needed = sorted({role for person in STAFF for role in person.roles})
    roles = {role.key: role for role in session.scalars(select(Role).where(Role.key.in_(needed)))}
    missing = [key for key in needed if key not in roles]
    if missing:
        raise SettingsError(
            "the demo needs the roles of the Sales configuration; missing: " + ", ".join(missing)
        )
    departments: dict[str, Department] = {}
    for code, names in DEPARTMENTS.items():
        parent = departments.get("MGMT")
        departments[code] = org.create_department(
            session,
            ACTOR,
            org.DepartmentInput(
                name=names[language],
                code=code,
                parent_id=str(parent.id) if parent is not None else "",
                position=str(len(departments)),
            ),
            now=now,
        )
    staff = Staff()
    for person in STAFF:
        password = secrets.token_urlsafe(12)
        user = accounts.create_user(
            session,
            ACTOR,
            accounts.UserInput(
                username=person.username,
                full_name=person.names[language],
                email=f"{person.username}@example.com",
                language=language,
                department_id=str(departments[person.department].id),
                role_ids=tuple(str(roles[key].id) for key in person.roles),
                password=password,
            ),
            now=now,
        )
        staff.ids[person.username] = user.id
        staff.created.append((person.username, password, person.names[language], person.roles))
        if person.heads:
            department = departments[person.department]
            org.update_department(
                session,
                ACTOR,
                department,
                org.DepartmentInput(
                    name=department.name,
                    code=department.code or "",
                    parent_id=str(department.parent_id or ""),
                    head_id=str(user.id),
                    position=str(department.position),
                ),
                now=now,
            )
    principal, deputy, starts, ends = DEPUTY
    org.create_deputy(
        session,
        ACTOR,
        org.DeputyInput(
            principal_id=str(staff.ids[principal]),
            deputy_id=str(staff.ids[deputy]),
            starts_on=(now.date() + timedelta(days=starts)).isoformat(),
            ends_on=(now.date() + timedelta(days=ends)).isoformat(),
            reason="Vacation" if language == "en" else "Отпуск",
        ),
        now=now,
    )
    session.add(SystemState(key=CREATED, value={"at": now.isoformat()}, updated_at=now))
    return staff
