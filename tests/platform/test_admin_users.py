"""The users and roles screens (capability ``users``)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from potok.platform import accounts, passwords
from potok.platform.db import Database
from potok.platform.models import AuditEntry, Department, Role, User, UserSession
from tests.conftest import PASSWORD, Client, FakeClock, UserMaker
from tests.helpers import audit_of, count, error_text, follow, is_logged_in, user_named, with_ids


def role_named(db: Database, key: str) -> Role | None:
    with db.session() as session:
        return session.scalars(select(Role).where(Role.key == key)).one_or_none()


def add_department(db: Database, clock: FakeClock, name: str) -> int:
    with db.session(write=True) as session:
        department = Department(name=name, position=0, created_at=clock(), updated_at=clock())
        session.add(department)
        session.flush()
        return department.id


def admin_role_id(db: Database) -> int:
    role = role_named(db, accounts.ADMIN_ROLE)
    assert role is not None
    return role.id


# The list and search -------------------------------------------------------------------------


@pytest.fixture
def people(create_user: Callable[..., int], db: Database) -> dict[str, int]:
    ids = {
        "ann": create_user("ann", full_name="Ann Lee", email="ann@corp.example"),
        "bob": create_user("bob", full_name="Bob Stone", email="bob@else.example"),
        "cat": create_user("cat", full_name="Cat Annson", email="cat@corp.example"),
    }
    with db.session(write=True) as session:
        session.get(User, ids["cat"]).is_active = False  # type: ignore[union-attr]
    return ids


def listed(html: str) -> list[str]:
    return re.findall(r'<td data-label="Username">([^<]*)</td>', html)


def test_user_list(admin: Client, people: dict[str, int]):
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert listed(page.text) == ["admin", "ann", "bob", "boss", "cat"]
    assert 'class="row-muted"' in page.text  # cat is disabled
    assert f'href="/admin/users/{people["ann"]}"' in page.text


def test_user_search(admin: Client, people: dict[str, int]):
    assert listed(admin.get("/admin/users?q=ann").text) == ["ann", "cat"]
    assert listed(admin.get("/admin/users?q=CORP.example").text) == ["ann", "cat"]
    assert listed(admin.get("/admin/users?q=ann&show=active").text) == ["ann"]
    page = admin.get("/admin/users?q=nobody-like-this")
    assert listed(page.text) == [] and "No users match." in page.text
    assert 'value="nobody-like-this"' in page.text


def test_user_search_as_htmx_returns_the_table_only(admin: Client, people: dict[str, int]):
    response = admin.get("/admin/users?q=bob", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert listed(response.text) == ["bob"]
    assert "<html" not in response.text
    assert 'id="users-search"' not in response.text
    assert response.text.lstrip().startswith('<div class="table-wrap">')


# Creating users --------------------------------------------------------------------------------


def test_create_user(admin: Client, db: Database, clock: FakeClock, make_client):
    sales = add_department(db, clock, "Sales")
    admin_role = admin_role_id(db)
    page = admin.get("/admin/users/new")
    assert page.status_code == 200 and 'name="username"' in page.text
    response = admin.submit(
        "/admin/users/new",
        {
            "username": " New.Comer ",
            "full_name": "New Comer",
            "email": "new@example.com",
            "language": "ru",
            "department_id": str(sales),
            "role_ids": [str(admin_role)],
            "is_active": "on",
            "password": "a-fine-password",
        },
    )
    user = user_named(db, "new.comer")
    assert user is not None
    assert response.headers["location"] == f"/admin/users/{user.id}"
    assert (user.full_name, user.email, user.language, user.department_id) == (
        "New Comer",
        "new@example.com",
        "ru",
        sales,
    )
    assert [role.key for role in user.roles] == ["admin"] and user.is_active
    assert passwords.verify_password(user.password_hash, "a-fine-password")
    page = follow(admin, response)
    assert "User new.comer is created." in page.text
    assert "User new.comer is created." not in admin.get(f"/admin/users/{user.id}").text
    (entry,) = audit_of(db, "user.create")[-1:]
    assert entry.object_id == str(user.id) and entry.actor_name == "boss"
    assert entry.details["values"]["department"] == "Sales"
    # The new account works.
    newcomer = make_client()
    assert newcomer.login("new.comer", "a-fine-password").status_code == 303


def test_a_user_created_inactive_cannot_log_in(admin: Client, db: Database, make_client):
    response = admin.submit("/admin/users/new", {"username": "later", "password": PASSWORD})
    assert response.status_code == 303
    user = user_named(db, "later")
    assert user is not None and user.is_active is False and user.roles == []
    assert make_client().login("later").status_code == 400


NEW_USER = {"username": "newcomer1", "full_name": "Typed Name", "password": "a-fine-password"}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    with_ids(
        [
            ({"username": ""}, "username", "Enter a username."),
            ({"username": "   "}, "username", "Enter a username."),
            ({"username": "a"}, "username", "Use 2 to 64 lowercase Latin letters"),
            ({"username": "two words"}, "username", "Use 2 to 64 lowercase Latin letters"),
            ({"username": "-dash"}, "username", "Use 2 to 64 lowercase Latin letters"),
            ({"username": "иван"}, "username", "Use 2 to 64 lowercase Latin letters"),
            ({"username": "x" * 65}, "username", "Use 2 to 64 lowercase Latin letters"),
            ({"username": "boss"}, "username", "This username is already taken."),
            ({"username": "BOSS"}, "username", "This username is already taken."),
            ({"email": "not-an-email"}, "email", "Enter an e-mail address like name@example.com."),
            ({"email": "a@b"}, "email", "Enter an e-mail address like name@example.com."),
            ({"full_name": "x" * 201}, "full_name", "Keep the name under 200 characters."),
            ({"password": ""}, "password", "The password must be at least 8 characters long."),
            ({"password": "short"}, "password", "The password must be at least 8 characters long."),
            ({"password": "NEWCOMER1"}, "password", "The password must not be the same as the"),
            ({"role_ids": ["999999"]}, "roles", "Choose roles from the list."),
            ({"role_ids": ["abc"]}, "roles", "Choose roles from the list."),
            ({"department_id": "999999"}, "department_id", "Choose a department from the list."),
            ({"department_id": "²"}, "department_id", "Choose a department from the list."),
            ({"language": "de"}, "language", "Choose a language from the list."),
        ]
    ),
)
def test_create_user_validation(
    admin: Client, db: Database, changes: dict[str, object], field: str, message: str
):
    users_before, audit_before = count(db, User), count(db, AuditEntry)
    response = admin.submit("/admin/users/new", {**NEW_USER, **changes})
    assert response.status_code == 400
    assert error_text(response.text, field).startswith(message)
    assert "Please correct the highlighted fields; nothing was saved." in response.text
    # What was typed is kept, except the password.
    assert 'value="Typed Name"' in response.text or field == "full_name"
    assert "a-fine-password" not in response.text
    assert (count(db, User), count(db, AuditEntry)) == (users_before, audit_before)


# Editing users ---------------------------------------------------------------------------------


def test_edit_form_shows_the_current_values(
    admin: Client, db: Database, clock: FakeClock, create_user: Callable[..., int]
):
    ann = create_user("ann", full_name="Ann Lee", admin=True)
    page = admin.get(f"/admin/users/{ann}").text
    assert 'value="Ann Lee"' in page and 'value="ann@example.com"' in page
    assert f'value="{admin_role_id(db)}" checked' in page
    assert 'name="username"' not in page  # the username cannot be changed
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.get("/admin/users/99999999999999999999999").status_code == 404


def test_edit_user(admin: Client, db: Database, clock: FakeClock, create_user: Callable[..., int]):
    ann = create_user("ann", full_name="Ann")
    sales = add_department(db, clock, "Sales")
    clerk_role = Role(key="clerk", labels={"en": "Clerk"}, created_at=clock(), updated_at=clock())
    with db.session(write=True) as session:
        session.add(clerk_role)
    response = admin.submit(
        f"/admin/users/{ann}",
        {
            "username": "eve",
            "full_name": "Ann Lee",
            "email": "lee@example.com",
            "department_id": str(sales),
            "role_ids": [str(clerk_role.id)],
            "is_active": "on",
        },
    )
    assert response.headers["location"] == f"/admin/users/{ann}"
    assert "User ann is saved." in follow(admin, response).text
    user = user_named(db, "ann")
    assert user is not None
    assert (user.full_name, user.email, user.department_id) == ("Ann Lee", "lee@example.com", sales)
    assert [role.key for role in user.roles] == ["clerk"]
    assert passwords.verify_password(user.password_hash, PASSWORD)  # no new password typed
    (entry,) = audit_of(db, "user.update")
    assert entry.details["changes"] == {
        "full_name": ["Ann", "Ann Lee"],
        "email": ["ann@example.com", "lee@example.com"],
        "department": [None, "Sales"],
        "roles": [[], ["clerk"]],
    }


def test_edit_user_validation_changes_nothing(
    admin: Client, db: Database, create_user: Callable[..., int]
):
    ann = create_user("ann", full_name="Ann")
    response = admin.submit(
        f"/admin/users/{ann}",
        {"full_name": "Changed", "email": "broken", "is_active": "on", "password": "short"},
    )
    assert response.status_code == 400
    assert error_text(response.text, "email") and error_text(response.text, "password")
    user = user_named(db, "ann")
    assert user is not None and (user.full_name, user.email) == ("Ann", "ann@example.com")
    assert audit_of(db, "user.update") == []


def test_disabling_a_user_ends_their_sessions(
    admin: Client, db: Database, as_user: UserMaker, make_client
):
    ann = as_user("ann")
    ann_id = user_named(db, "ann").id  # type: ignore[union-attr]
    assert is_logged_in(ann)
    response = admin.submit(f"/admin/users/{ann_id}", {"full_name": "Ann"})
    assert response.status_code == 303
    assert not is_logged_in(ann)
    with db.session() as session:
        rows = session.scalars(select(UserSession).where(UserSession.user_id == ann_id)).all()
        assert [row.revoked_reason for row in rows] == ["user disabled"]
    assert user_named(db, "ann").is_active is False  # type: ignore[union-attr]
    assert make_client().login("ann").status_code == 400
    assert audit_of(db, "user.update")[-1].details["changes"]["active"] == [True, False]


def test_you_cannot_disable_yourself(admin: Client, db: Database):
    boss = user_named(db, "boss")
    assert boss is not None
    response = admin.submit(
        f"/admin/users/{boss.id}", {"full_name": "Boss", "role_ids": [str(admin_role_id(db))]}
    )
    assert response.status_code == 400
    assert error_text(response.text, "is_active") == "You cannot disable your own account."
    assert user_named(db, "boss").is_active  # type: ignore[union-attr]
    assert is_logged_in(admin)


def test_the_last_user_manager_cannot_drop_their_own_role(as_user: UserMaker, db: Database):
    # No "admin" user here: boss is the only one who can manage users.
    boss_client = as_user("boss", capabilities=("users",))
    boss = user_named(db, "boss")
    assert boss is not None
    response = boss_client.submit(
        f"/admin/users/{boss.id}", {"full_name": "Boss", "is_active": "on"}
    )
    assert response.status_code == 400
    assert error_text(response.text, "roles") == accounts.LOCKOUT
    assert [role.key for role in user_named(db, "boss").roles] == ["role_boss"]  # type: ignore[union-attr]
    assert boss_client.get("/admin/users").status_code == 200


def test_a_manager_may_drop_their_role_while_another_remains(
    as_user: UserMaker, create_user: Callable[..., int], db: Database
):
    boss_client = as_user("boss", capabilities=("users",))
    create_user("deputy", capabilities=("users",))
    boss = user_named(db, "boss")
    assert boss is not None
    response = boss_client.submit(
        f"/admin/users/{boss.id}", {"full_name": "Boss", "is_active": "on"}
    )
    assert response.status_code == 303
    assert user_named(db, "boss").roles == []  # type: ignore[union-attr]
    assert response.headers["location"] == "/"  # not back to a form they may no longer see
    assert boss_client.get("/admin/users").status_code == 403


def test_resetting_a_password_ends_that_users_sessions(
    admin: Client, db: Database, as_user: UserMaker, make_client
):
    ann = as_user("ann")
    ann_id = user_named(db, "ann").id  # type: ignore[union-attr]
    response = admin.submit(
        f"/admin/users/{ann_id}",
        {
            "full_name": "Ann",
            "email": "ann@example.com",
            "is_active": "on",
            "password": "reset-password-1",
        },
    )
    assert response.status_code == 303
    assert not is_logged_in(ann)
    assert is_logged_in(admin)
    assert make_client().login("ann").status_code == 400
    assert make_client().login("ann", "reset-password-1").status_code == 303
    changes = audit_of(db, "user.update")[-1].details["changes"]
    assert changes == {"password": ["***", "***"]}


def test_resetting_your_own_password_keeps_this_session(admin: Client, db: Database, make_client):
    other_device = make_client()
    assert other_device.login("boss").status_code == 303
    boss = user_named(db, "boss")
    assert boss is not None
    response = admin.submit(
        f"/admin/users/{boss.id}",
        {
            "full_name": "Boss",
            "is_active": "on",
            "role_ids": [str(admin_role_id(db))],
            "password": "reset-password-1",
        },
    )
    assert response.status_code == 303
    assert is_logged_in(admin)
    assert not is_logged_in(other_device)


def test_end_all_sessions(admin: Client, db: Database, as_user: UserMaker, make_client):
    phone = as_user("ann")
    laptop = make_client()
    assert laptop.login("ann").status_code == 303
    ann_id = user_named(db, "ann").id  # type: ignore[union-attr]
    page = admin.get(f"/admin/users/{ann_id}").text
    assert "End all sessions" in page and "Not logged in anywhere." not in page
    response = admin.submit(f"/admin/users/{ann_id}/end-sessions")
    assert response.headers["location"] == f"/admin/users/{ann_id}"
    page = admin.get(response.headers["location"]).text
    assert "Sessions ended: 2." in page
    assert "Not logged in anywhere." in page
    assert not is_logged_in(phone) and not is_logged_in(laptop)
    (entry,) = audit_of(db, "user.sessions_ended")
    assert entry.details == {"count": 2} and entry.object_label == "ann"
    # The user may log in again: only the sessions ended, not the account.
    assert make_client().login("ann").status_code == 303


def test_ending_your_own_sessions_logs_you_out(admin: Client, db: Database):
    boss = user_named(db, "boss")
    assert boss is not None
    response = admin.submit(f"/admin/users/{boss.id}/end-sessions")
    assert response.headers["location"] == "/login"
    assert not is_logged_in(admin)


def test_end_sessions_of_an_unknown_user(admin: Client):
    assert admin.submit("/admin/users/999999/end-sessions").status_code == 404


def test_htmx_form_posts_redirect_with_a_header(admin: Client, db: Database):
    response = admin.post(
        "/admin/users/new",
        data={"username": "viahtmx", "password": PASSWORD},
        headers={"HX-Request": "true", "X-CSRF-Token": admin.csrf_token},
    )
    user = user_named(db, "viahtmx")
    assert user is not None
    assert response.status_code == 204
    assert response.headers["hx-redirect"] == f"/admin/users/{user.id}"


# Roles -------------------------------------------------------------------------------------------


def members_of(db: Database, key: str) -> list[str]:
    with db.session() as session:
        return sorted(
            user.username
            for user in session.scalars(select(User)).all()
            if any(role.key == key for role in user.roles)
        )


def test_role_list(admin: Client, db: Database, create_user: Callable[..., int]):
    create_user("ann", capabilities=("audit",))
    page = admin.get("/admin/roles").text
    assert "Administrator" in page and "built-in" in page
    assert re.search(r"<code>admin</code></td>\s*<td[^>]*>2</td>", page)  # boss and admin
    assert re.search(r"<code>role_ann</code></td>\s*<td[^>]*>1</td>", page)


def test_create_role(admin: Client, db: Database):
    response = admin.submit(
        "/admin/roles/new",
        {
            "key": " Sales_Manager ",
            "label_en": "Sales manager",
            "label_ru": "Менеджер продаж",
            "description": " Sells. ",
            "capabilities": ["users", "audit"],
        },
    )
    assert response.headers["location"] == "/admin/roles"
    assert "Role Sales manager is created." in follow(admin, response).text
    role = role_named(db, "sales_manager")
    assert role is not None
    assert role.labels == {"en": "Sales manager", "ru": "Менеджер продаж"}
    assert role.capabilities == ["audit", "users"] and role.description == "Sells."
    assert not role.is_builtin and not role.all_capabilities
    (entry,) = audit_of(db, "role.create")
    assert entry.object_label == "sales_manager"
    assert entry.details["values"]["capabilities"] == ["audit", "users"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    with_ids(
        [
            ({"key": ""}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "a"}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "1st"}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "sales-manager"}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "sales manager"}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "x" * 65}, "key", "Use 2 to 64 lowercase Latin letters"),
            ({"key": "admin"}, "key", "A role with this key already exists."),
            ({"key": "ADMIN"}, "key", "A role with this key already exists."),
            ({"label_en": "", "label_ru": " "}, "label_en", "Give the role a name in at least one"),
            ({"label_ru": "x" * 101}, "label_ru", "Keep the name under 100 characters."),
            ({"description": "x" * 2001}, "description", "Keep the description under 2000"),
            (
                {"capabilities": ["users", "fly"]},
                "capabilities",
                "Choose capabilities from the list.",
            ),
        ]
    ),
)
def test_create_role_validation(
    admin: Client, db: Database, changes: dict[str, object], field: str, message: str
):
    roles_before = count(db, Role)
    values = {"key": "clerk", "label_en": "Clerk", "capabilities": ["audit"], **changes}
    response = admin.submit("/admin/roles/new", values)
    assert response.status_code == 400
    assert error_text(response.text, field).startswith(message)
    assert count(db, Role) == roles_before and audit_of(db, "role.create") == []


def add_role(db: Database, clock: FakeClock, key: str, *capabilities: str, **labels: str) -> int:
    with db.session(write=True) as session:
        role = Role(
            key=key,
            labels=labels or {"en": key.title()},
            description="",
            capabilities=list(capabilities),
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(role)
        session.flush()
        return role.id


def test_edit_role_keeps_the_key(admin: Client, db: Database, clock: FakeClock):
    clerk = add_role(db, clock, "clerk", en="Clerk", ru="Клерк")
    page = admin.get(f"/admin/roles/{clerk}").text
    assert "<code>clerk</code>" in page and 'name="key"' not in page
    response = admin.submit(
        f"/admin/roles/{clerk}",
        {"key": "hacker", "label_en": "Senior clerk", "label_ru": "Клерк", "capabilities": "audit"},
    )
    assert response.status_code == 303
    role = role_named(db, "clerk")
    assert role is not None and role.id == clerk and role_named(db, "hacker") is None
    assert role.labels["en"] == "Senior clerk" and role.capabilities == ["audit"]
    (entry,) = audit_of(db, "role.update")
    assert entry.details["changes"] == {
        "capabilities": [[], ["audit"]],
        "labels": [{"en": "Clerk", "ru": "Клерк"}, {"en": "Senior clerk", "ru": "Клерк"}],
    }


def test_edit_role_refuses_unknown_capabilities(admin: Client, db: Database, clock: FakeClock):
    clerk = add_role(db, clock, "clerk", "audit")
    response = admin.submit(
        f"/admin/roles/{clerk}", {"label_en": "Clerk", "capabilities": ["audit", "root"]}
    )
    assert response.status_code == 400
    assert error_text(response.text, "capabilities") == "Choose capabilities from the list."
    assert role_named(db, "clerk").capabilities == ["audit"]  # type: ignore[union-attr]


def test_unknown_roles_are_404(admin: Client):
    assert admin.get("/admin/roles/999999").status_code == 404
    assert admin.get("/admin/roles/99999999999999999999").status_code == 404
    assert admin.submit("/admin/roles/999999/delete").status_code == 404


def test_a_new_capability_applies_on_the_next_request(
    admin: Client, as_user: UserMaker, db: Database
):
    ann = as_user("ann", capabilities=("system",))
    assert ann.get("/admin/audit").status_code == 403
    role = role_named(db, "role_ann")
    assert role is not None
    response = admin.submit(
        f"/admin/roles/{role.id}", {"label_en": "Ann", "capabilities": ["system", "audit"]}
    )
    assert response.status_code == 303
    assert ann.get("/admin/audit").status_code == 200


def test_role_labels_fall_back_between_languages(admin: Client, db: Database, make_client):
    for key, field, text in [("buh", "label_ru", "Бухгалтер"), ("clerk", "label_en", "Clerk")]:
        response = admin.submit("/admin/roles/new", {"key": key, field: text})
        assert response.status_code == 303
    assert role_named(db, "buh").labels == {"en": "Бухгалтер", "ru": "Бухгалтер"}  # type: ignore[union-attr]
    assert role_named(db, "clerk").labels == {"en": "Clerk", "ru": "Clerk"}  # type: ignore[union-attr]
    english = admin.get("/admin/roles").text
    assert "Бухгалтер" in english and "Clerk" in english
    admin.submit("/language", {"language": "ru", "next": "/admin/roles"})
    russian = admin.get("/admin/roles").text
    assert '<html lang="ru">' in russian
    assert "Бухгалтер" in russian and "Clerk" in russian and "Администратор" in russian


def test_delete_role(admin: Client, db: Database, create_user: Callable[..., int]):
    create_user("ann", capabilities=("audit",))
    role = role_named(db, "role_ann")
    assert role is not None
    page = admin.get(f"/admin/roles/{role.id}").text
    assert f'action="/admin/roles/{role.id}/delete"' in page
    response = admin.submit(f"/admin/roles/{role.id}/delete")
    assert response.headers["location"] == "/admin/roles"
    assert "Role Role of ann is deleted." in follow(admin, response).text
    assert role_named(db, "role_ann") is None
    assert user_named(db, "ann").roles == []  # type: ignore[union-attr]
    (entry,) = audit_of(db, "role.delete")
    assert entry.object_label == "role_ann" and entry.details["values"]["capabilities"] == ["audit"]


def test_the_builtin_admin_role_cannot_be_deleted(admin: Client, db: Database):
    admin_role = admin_role_id(db)
    page = admin.get(f"/admin/roles/{admin_role}").text
    assert "/delete" not in page
    assert "This built-in role may do everything." in page
    response = admin.submit(f"/admin/roles/{admin_role}/delete")
    assert response.status_code == 400
    assert "Built-in roles cannot be deleted." in response.text
    assert role_named(db, "admin") is not None
    assert members_of(db, "admin") == ["admin", "boss"]
    assert audit_of(db, "role.delete") == []


def test_the_builtin_admin_role_keeps_every_capability(admin: Client, db: Database):
    admin_role = admin_role_id(db)
    response = admin.submit(
        f"/admin/roles/{admin_role}",
        {"label_en": "Chief", "label_ru": "Шеф", "capabilities": []},
    )
    assert response.status_code == 303
    role = role_named(db, "admin")
    assert role is not None and role.all_capabilities and role.labels["en"] == "Chief"
    for url in ("/admin/users", "/admin/audit", "/admin/system"):
        assert admin.get(url).status_code == 200


def test_the_only_managing_role_cannot_lose_users_or_be_deleted(as_user: UserMaker, db: Database):
    boss_client = as_user("boss", capabilities=("users", "audit"))
    role = role_named(db, "role_boss")
    assert role is not None
    response = boss_client.submit(
        f"/admin/roles/{role.id}", {"label_en": "Boss", "capabilities": ["audit"]}
    )
    assert response.status_code == 400
    assert error_text(response.text, "capabilities") == accounts.LOCKOUT
    response = boss_client.submit(f"/admin/roles/{role.id}/delete")
    assert response.status_code == 400
    assert accounts.LOCKOUT in response.text
    role = role_named(db, "role_boss")
    assert role is not None and role.capabilities == ["users", "audit"]
    assert members_of(db, "role_boss") == ["boss"]
    assert audit_of(db, "role.update") == [] and audit_of(db, "role.delete") == []


def test_sessions_listed_on_the_user_page(admin: Client, db: Database, as_user: UserMaker):
    as_user("ann")
    ann = user_named(db, "ann")
    assert ann is not None
    with db.session() as session:
        (row,) = session.scalars(select(UserSession).where(UserSession.user_id == ann.id)).all()
    page = admin.get(f"/admin/users/{ann.id}").text
    assert row.user_agent[:60] in page and "last active" in page
    # A session's digest is never shown: it is what the database keeps of the cookie.
    assert row.id not in page
