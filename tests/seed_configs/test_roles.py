"""Roles in a configuration folder: validated, imported into the roles table without taking
anything away, exported again byte for byte; and the Sales grants as users meet them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from potok.app import services_of
from potok.metadata import folders, store
from potok.platform.audit import Actor
from potok.platform.models import Role, User
from potok.runtime import documents
from potok.runtime.routing import jobs

SALES = Path(__file__).resolve().parents[2] / "potok" / "seed_configs" / "sales"
SALES_ROLES = [
    "accountant",
    "ceo",
    "cfo",
    "designer",
    "head_of_sales",
    "lawyer",
    "sales_manager",
    "secretary",
    "warehouse",
]


def problems_of(path: Path) -> str:
    return "\n".join(str(item) for item in folders.validate_folder(path).problems)


def test_the_sales_folder_holds_its_roles_in_both_languages() -> None:
    found = folders.validate_folder(SALES)
    assert found.problems == []
    roles = {key: body for (kind, key), body in found.documents.items() if kind == "role"}
    assert sorted(roles) == SALES_ROLES
    assert all(body["labels"]["en"] and body["labels"]["ru"] for body in roles.values())


def test_a_bad_role_file_and_an_unknown_role_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "sales"
    shutil.copytree(SALES, folder)
    (folder / "role" / "cfo.json").write_text(
        '{"kind": "role", "key": "cfo", "labels": {"en": "CFO"}, "colour": "red"}'
    )
    (folder / "role" / "admin.json").write_text(
        '{"kind": "role", "key": "admin", "labels": {"en": "Boss", "ru": "Босс"}}'
    )
    (folder / "role" / "lawyer.json").write_text(
        '{"kind": "role", "key": "lawyer", "labels": {"en": "Lawyer", "ru": "Юрист"}, '
        '"capabilities": ["fly"]}'
    )
    (folder / "role" / "warehouse.json").unlink()
    text = problems_of(folder)
    assert "role cfo › labels: ru is required." in text
    assert "role cfo: Unknown property" in text
    assert "role admin › key: admin is Potok's built-in role" in text
    assert "role lawyer › capabilities[0]: There is no capability fly." in text
    assert (
        "stream inquiries › access.grants[4].role: There is no role warehouse in the "
        "configuration." in text
    )
    # The route's executors are checked too.
    (folder / "role" / "secretary.json").unlink()
    assert (
        "route contract_approval › nodes[8].executor.role: There is no role secretary"
        in problems_of(folder)
    )


def test_import_creates_missing_roles_and_takes_nothing_away(
    db: Any, clock: Any, create_user: Any, tmp_path: Path
) -> None:
    found = folders.validate_folder(SALES)
    with db.session(write=True) as session:
        session.add(
            Role(
                key="lawyer",
                labels={"en": "Counsel", "ru": "Юрисконсульт"},
                description="",
                capabilities=["audit"],
                created_at=clock(),
                updated_at=clock(),
            )
        )
    lena = create_user("lena")
    with db.session(write=True) as session:
        person = session.get(User, lena)
        lawyer = session.scalar(select(Role).where(Role.key == "lawyer"))
        assert person is not None and lawyer is not None
        person.roles.append(lawyer)
    with db.session(write=True) as session:
        plan = store.import_documents(session, found.documents, author="t", now=clock())
    assert plan.roles == SALES_ROLES  # eight new, the lawyer renamed
    with db.session() as session:
        lawyer = session.scalar(select(Role).where(Role.key == "lawyer"))
        assert lawyer is not None
        assert lawyer.labels == {"en": "Lawyer", "ru": "Юрист"}
        assert lawyer.capabilities == ["audit"]  # the administrator's capability is kept
        person = session.get(User, lena)
        assert person is not None and [role.key for role in person.roles] == ["lawyer"]
    # Importing again changes no role; the export holds the kept capability.
    with db.session(write=True) as session:
        assert store.plan_publish(session, documents=found.documents).roles == []
        exported = tmp_path / "out"
        folders.write_folder(exported, store.export_documents(session))
    assert '"audit"' in (exported / "role" / "lawyer.json").read_text()
    assert (exported / "role" / "cfo.json").read_text() == (SALES / "role" / "cfo.json").read_text()
    assert not (exported / "role" / "admin.json").exists()  # the built-in role stays out


def sales_people(app: Any, db: Any, clock: Any, create_user: Any) -> dict[str, int]:
    with db.session(write=True) as session:
        store.import_documents(
            session, folders.validate_folder(SALES).documents, author="t", now=clock()
        )
    people = {
        "hanna": "head_of_sales",
        "artem": "sales_manager",
        "mila": "sales_manager",
        "sveta": "secretary",
        "lena": "lawyer",
    }
    ids = {name: create_user(name) for name in people}
    with db.session(write=True) as session:
        for name, key in people.items():
            person = session.get(User, ids[name])
            role = session.scalar(select(Role).where(Role.key == key))
            assert person is not None and role is not None
            person.roles.append(role)
    return ids


def client_of(app: Any, db: Any, clock: Any, name: str, author: tuple[int, str]) -> int:
    env = jobs.env_of(services_of(app))
    with db.session(write=True) as session:
        return documents.create(
            session,
            env.streams.get(session, "clients"),
            {"name": name, "phone": "+7 495 000-00-00"},
            actor=Actor(*author),
            now=clock(),
            link_readable=lambda _s, _i: True,
        ).id


def test_a_manager_sees_own_clients_the_head_of_sales_all(
    app: Any, db: Any, clock: Any, create_user: Any, make_client: Any
) -> None:
    ids = sales_people(app, db, clock, create_user)
    mine = client_of(app, db, clock, "Romashka", (ids["artem"], "artem"))
    theirs = client_of(app, db, clock, "Vasilek", (ids["mila"], "mila"))
    artem, hanna = make_client(), make_client()
    assert artem.login("artem").status_code == 303 and hanna.login("hanna").status_code == 303
    listed = artem.get("/s/clients/").text
    assert "Romashka" in listed and "Vasilek" not in listed
    assert artem.get(f"/s/clients/{theirs}").status_code == 404
    assert artem.get(f"/s/clients/{mine}").status_code == 200
    listed = hanna.get("/s/clients/").text
    assert "Romashka" in listed and "Vasilek" in listed
    assert hanna.get(f"/s/clients/{theirs}/edit").status_code == 200
    # A manager registers clients; the lawyer only reads them.
    assert artem.get("/s/clients/new").status_code == 200
    lena = make_client()
    assert lena.login("lena").status_code == 303
    assert "Vasilek" in lena.get("/s/clients/").text
    assert lena.get("/s/clients/new").status_code in (403, 404)
    assert lena.get(f"/s/clients/{theirs}/edit").status_code in (403, 404)


def test_the_secretary_edits_contact_data_and_cannot_delete(
    app: Any, db: Any, clock: Any, create_user: Any, make_client: Any
) -> None:
    ids = sales_people(app, db, clock, create_user)
    doc = client_of(app, db, clock, "Romashka", (ids["artem"], "artem"))
    sveta = make_client()
    assert sveta.login("sveta").status_code == 303
    assert "Romashka" in sveta.get("/s/clients/").text
    form = sveta.get(f"/s/clients/{doc}/edit").text
    assert 'name="phone"' in form
    assert 'name="name"' not in form  # read-only for her
    response = sveta.submit(
        f"/s/clients/{doc}/edit",
        {"name": "Renamed", "phone": "+7 495 111-22-33", "_version": "1"},
    )
    assert response.status_code == 303
    card = sveta.get(f"/s/clients/{doc}").text
    assert "111-22-33" in card and "Renamed" not in card and "Romashka" in card
    assert sveta.submit(f"/s/clients/{doc}/delete").status_code in (403, 404)
    assert "Romashka" in sveta.get("/s/clients/").text
