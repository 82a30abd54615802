"""The departments and deputies screens (capability ``users``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from potok.platform.db import Database
from potok.platform.models import AuditEntry, Department, Deputy, User
from tests.conftest import Client, FakeClock
from tests.helpers import audit_of, count, error_text, follow, with_ids


def deputy_pairs(html: str) -> list[tuple[str, str]]:
    """(who is away, their deputy) for each assignment listed on the deputies page."""
    return re.findall(
        r'Away:</span> <strong>([^<]+)</strong><br>\s*<span class="muted">Deputy:</span> '
        r"<strong>([^<]+)</strong>",
        html,
    )


def departments(db: Database) -> dict[str, Department]:
    with db.session() as session:
        return {d.name: d for d in session.scalars(select(Department))}


def options_of(html: str, name: str) -> list[tuple[str, str]]:
    """The (value, text) choices of the <select> called ``name``, without the empty one."""
    select_html = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select_html)


def create(admin: Client, db: Database, **values: str) -> Department:
    """A department made through the form, as an administrator would."""
    response = admin.submit("/admin/departments/new", dict(values))
    assert response.status_code == 303, response.text
    return departments(db)[values["name"]]


# Departments ---------------------------------------------------------------------------------


def test_create_department(admin: Client, db: Database, create_user: Callable[..., int]):
    ann = create_user("ann")
    page = admin.get("/admin/departments")
    assert "No departments yet." in page.text
    response = admin.submit(
        "/admin/departments/new",
        {"name": " Sales ", "code": " SALES ", "head_id": str(ann), "position": "2"},
    )
    assert response.headers["location"] == "/admin/departments"
    page = follow(admin, response).text
    assert "Department Sales is created." in page
    assert "head: Ann" in page and "<code>SALES</code>" in page
    sales = departments(db)["Sales"]
    assert (sales.code, sales.head_id, sales.position, sales.parent_id) == ("SALES", ann, 2, None)
    (entry,) = audit_of(db, "department.create")
    assert entry.details["values"]["head"] == "ann" and entry.actor_name == "boss"


def test_the_tree_lists_children_under_parents(
    admin: Client, db: Database, create_user: Callable[..., int]
):
    root = create(admin, db, name="Head office")
    sales = create(admin, db, name="Sales", parent_id=str(root.id), position="2")
    create(admin, db, name="Legal", parent_id=str(root.id), position="1")
    create(admin, db, name="North", parent_id=str(sales.id))
    create(admin, db, name="Archive")
    members = [create_user("bob"), create_user("cat")]
    with db.session(write=True) as session:
        for member in members:
            session.get(User, member).department_id = sales.id  # type: ignore[union-attr]
    page = admin.get("/admin/departments").text
    items = re.findall(r'<li class="tree-item depth-(\d)">\s*<a href="[^"]+">([^<]+)</a>', page)
    assert items == [
        ("0", "Archive"),
        ("0", "Head office"),
        ("1", "Legal"),
        ("1", "Sales"),
        ("2", "North"),
    ]
    assert "people: 2" in page
    assert f'href="/admin/departments/new?parent={sales.id}"' in page


def test_new_sub_department_form_preselects_the_parent(admin: Client, db: Database):
    sales = create(admin, db, name="Sales")
    page = admin.get(f"/admin/departments/new?parent={sales.id}").text
    assert f'<option value="{sales.id}" selected>Sales</option>' in page
    page = admin.get("/admin/departments/new?parent=abc").text
    assert "selected>Sales" not in page


@pytest.mark.parametrize(
    ("values", "field", "message"),
    with_ids(
        [
            ({"name": ""}, "name", "Enter the department's name."),
            ({"name": "x" * 201}, "name", "Keep the name under 200 characters."),
            ({"code": "X" * 33}, "code", "Keep the code under 32 characters."),
            ({"code": "TAKEN"}, "code", "Another department already has this code."),
            ({"parent_id": "999999"}, "parent_id", "Choose a department from the list."),
            (
                {"parent_id": "99999999999999999999"},
                "parent_id",
                "Choose a department from the list.",
            ),
            ({"head_id": "999999"}, "head_id", "Choose an active user as the head."),
            ({"head_id": "disabled"}, "head_id", "Choose an active user as the head."),
            ({"position": "first"}, "position", "Enter a whole number."),
            ({"position": "99999999999"}, "position", "Enter a whole number."),
        ]
    ),
)
def test_department_validation(
    admin: Client,
    db: Database,
    create_user: Callable[..., int],
    values: dict[str, str],
    field: str,
    message: str,
):
    create(admin, db, name="Existing", code="TAKEN")
    disabled = create_user("gone")
    with db.session(write=True) as session:
        session.get(User, disabled).is_active = False  # type: ignore[union-attr]
    if values.get("head_id") == "disabled":
        values = {"head_id": str(disabled)}
    before = count(db, Department), count(db, AuditEntry)
    response = admin.submit("/admin/departments/new", {"name": "Typed", **values})
    assert response.status_code == 400
    assert error_text(response.text, field) == message
    assert 'value="Typed"' in response.text or field == "name"
    assert (count(db, Department), count(db, AuditEntry)) == before


def test_edit_department(admin: Client, db: Database, create_user: Callable[..., int]):
    ann = create_user("ann")
    root = create(admin, db, name="Root")
    sales = create(admin, db, name="Sales")
    page = admin.get(f"/admin/departments/{sales.id}").text
    assert 'value="Sales"' in page
    response = admin.submit(
        f"/admin/departments/{sales.id}",
        {"name": "Sales & Marketing", "parent_id": str(root.id), "head_id": str(ann)},
    )
    assert response.headers["location"] == "/admin/departments"
    assert "Department Sales &amp; Marketing is saved." in follow(admin, response).text
    edited = departments(db)["Sales & Marketing"]
    assert (edited.id, edited.parent_id, edited.head_id) == (sales.id, root.id, ann)
    (entry,) = audit_of(db, "department.update")
    assert entry.details["changes"] == {
        "head": [None, "ann"],
        "name": ["Sales", "Sales & Marketing"],
        "parent": [None, "Root"],
    }
    assert admin.get("/admin/departments/999999").status_code == 404
    assert admin.get("/admin/departments/99999999999999999999").status_code == 404


def test_a_department_cannot_move_under_itself_or_a_descendant(admin: Client, db: Database):
    root = create(admin, db, name="Root")
    child = create(admin, db, name="Child", parent_id=str(root.id))
    grandchild = create(admin, db, name="Grandchild", parent_id=str(child.id))
    other = create(admin, db, name="Other")
    # The form offers only places that make sense.
    page = admin.get(f"/admin/departments/{root.id}").text
    assert options_of(page, "parent_id") == [(str(other.id), "Other")]
    for target in (root, child, grandchild):
        response = admin.submit(
            f"/admin/departments/{root.id}", {"name": "Root", "parent_id": str(target.id)}
        )
        assert response.status_code == 400
        assert error_text(response.text, "parent_id") == (
            "A department cannot be placed inside itself or its own sub-department."
        )
    assert departments(db)["Root"].parent_id is None
    assert audit_of(db, "department.update") == []


def test_delete_department(admin: Client, db: Database, create_user: Callable[..., int]):
    root = create(admin, db, name="Root")
    child = create(admin, db, name="Child", parent_id=str(root.id))
    ann = create_user("ann")
    with db.session(write=True) as session:
        session.get(User, ann).department_id = child.id  # type: ignore[union-attr]
    page = admin.get(f"/admin/departments/{child.id}").text
    assert f'href="/admin/users/{ann}"' in page  # its people are listed

    response = admin.submit(f"/admin/departments/{root.id}/delete")
    assert response.status_code == 400
    assert "This department has sub-departments; move or delete them first." in response.text
    assert set(departments(db)) == {"Root", "Child"}

    response = admin.submit(f"/admin/departments/{child.id}/delete")
    assert "Department Child is deleted." in follow(admin, response).text
    assert set(departments(db)) == {"Root"}
    with db.session() as session:
        assert session.get(User, ann).department_id is None  # type: ignore[union-attr]
    (entry,) = audit_of(db, "department.delete")
    assert entry.details["members_moved_out"] == ["ann"]
    assert admin.submit(f"/admin/departments/{child.id}/delete").status_code == 404


def test_a_user_can_be_put_in_a_department(
    admin: Client, db: Database, create_user: Callable[..., int]
):
    sales = create(admin, db, name="Sales")
    ann = create_user("ann")
    response = admin.submit(
        f"/admin/users/{ann}",
        {"full_name": "Ann", "department_id": str(sales.id), "is_active": "on"},
    )
    assert response.status_code == 303
    page = admin.get(f"/admin/departments/{sales.id}").text
    assert f'href="/admin/users/{ann}"' in page
    assert "people: 1" in admin.get("/admin/departments").text


def test_forms_offer_departments_in_tree_order_and_active_users(
    admin: Client, db: Database, create_user: Callable[..., int]
):
    root = create(admin, db, name="Root")
    child = create(admin, db, name="Child", parent_id=str(root.id))
    ann = create_user("ann", full_name="Ann Lee")
    gone = create_user("gone", full_name="Gone Away")
    with db.session(write=True) as session:
        session.get(User, gone).is_active = False  # type: ignore[union-attr]
    page = admin.get(f"/admin/users/{ann}").text
    assert options_of(page, "department_id") == [(str(root.id), "Root"), (str(child.id), "— Child")]
    heads = options_of(admin.get("/admin/departments/new").text, "head_id")
    assert (str(ann), "Ann Lee (ann)") in heads
    assert str(gone) not in [value for value, _ in heads]
    page = admin.get("/admin/deputies").text
    for field in ("principal_id", "deputy_id"):
        choices = options_of(page, field)
        assert (str(ann), "Ann Lee (ann)") in choices
        assert str(gone) not in [value for value, _ in choices]


# Deputies ------------------------------------------------------------------------------------


@pytest.fixture
def pair(create_user: Callable[..., int]) -> tuple[int, int]:
    return create_user("ann", full_name="Ann Lee"), create_user("bob", full_name="Bob Stone")


def assign(admin: Client, principal: int, deputy: int, starts: date, ends: date, **extra: str):
    return admin.submit(
        "/admin/deputies",
        {
            "principal_id": str(principal),
            "deputy_id": str(deputy),
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat(),
            **extra,
        },
    )


def test_deputies_page_suggests_the_coming_week(admin: Client, clock: FakeClock):
    today = clock().date()
    page = admin.get("/admin/deputies").text
    assert f'value="{today.isoformat()}"' in page
    assert f'value="{(today + timedelta(days=7)).isoformat()}"' in page
    assert "No deputies assigned." in page


def test_assign_and_remove_a_deputy(
    admin: Client, db: Database, clock: FakeClock, pair: tuple[int, int]
):
    ann, bob = pair
    today = clock().date()
    response = assign(admin, ann, bob, today, today + timedelta(days=3), reason="vacation")
    assert response.headers["location"] == "/admin/deputies"
    page = follow(admin, response).text
    assert "The deputy is assigned." in page
    assert ("Ann Lee", "Bob Stone") in deputy_pairs(page)
    assert "vacation" in page
    with db.session() as session:
        entry = session.scalars(select(Deputy)).one()
        assert (entry.principal_id, entry.deputy_id, entry.ends_on) == (
            ann,
            bob,
            today + timedelta(days=3),
        )
        assert entry.created_by_id == session.scalar(select(User.id).where(User.username == "boss"))
    assert [e.object_label for e in audit_of(db, "deputy.create")] == ["bob → ann"]

    response = admin.submit(f"/admin/deputies/{entry.id}/delete")
    assert "The deputy assignment is removed." in follow(admin, response).text
    assert count(db, Deputy) == 0
    assert len(audit_of(db, "deputy.delete")) == 1
    assert admin.submit(f"/admin/deputies/{entry.id}/delete").status_code == 404
    assert admin.submit("/admin/deputies/99999999999999999999/delete").status_code == 404


@pytest.mark.parametrize(
    ("case", "field", "message"),
    [
        ("self", "deputy_id", "A user cannot be their own deputy."),
        ("disabled", "deputy_id", "Choose an active user as the deputy."),
        ("no-principal", "principal_id", "Choose the user who will be away."),
        ("reversed", "ends_on", "The last day cannot be before the first day."),
        ("bad-date", "starts_on", "Enter a date."),
        ("overlap", "starts_on", "This deputy already covers part of this period."),
    ],
    ids=["self", "disabled", "no-principal", "reversed", "bad-date", "overlap"],
)
def test_deputy_validation(
    admin: Client,
    db: Database,
    clock: FakeClock,
    create_user: Callable[..., int],
    pair: tuple[int, int],
    case: str,
    field: str,
    message: str,
):
    ann, bob = pair
    gone = create_user("gone")
    with db.session(write=True) as session:
        session.get(User, gone).is_active = False  # type: ignore[union-attr]
    today = clock().date()
    assert assign(admin, ann, bob, today, today + timedelta(days=5)).status_code == 303
    values = {
        "principal_id": str(ann),
        "deputy_id": str(bob),
        "starts_on": (today + timedelta(days=10)).isoformat(),
        "ends_on": (today + timedelta(days=12)).isoformat(),
        "reason": "typed reason",
    }
    values.update(
        {
            "self": {"deputy_id": str(ann)},
            "disabled": {"deputy_id": str(gone)},
            "no-principal": {"principal_id": ""},
            "reversed": {"ends_on": (today + timedelta(days=9)).isoformat()},
            "bad-date": {"starts_on": "31.12.2024"},
            "overlap": {"starts_on": (today + timedelta(days=5)).isoformat()},
        }[case]
    )
    before = count(db, Deputy), count(db, AuditEntry)
    response = admin.submit("/admin/deputies", values)
    assert response.status_code == 400
    assert error_text(response.text, field) == message
    assert 'value="typed reason"' in response.text
    assert (count(db, Deputy), count(db, AuditEntry)) == before


def test_past_assignments_are_hidden_unless_asked(
    admin: Client, clock: FakeClock, pair: tuple[int, int]
):
    ann, bob = pair
    today = clock().date()
    past = assign(admin, ann, bob, today - timedelta(days=9), today - timedelta(days=2))
    coming = assign(admin, bob, ann, today + timedelta(days=1), today + timedelta(days=2))
    assert (past.status_code, coming.status_code) == (303, 303)
    page = admin.get("/admin/deputies").text
    assert deputy_pairs(page) == [("Bob Stone", "Ann Lee")]
    assert 'href="/admin/deputies?past=1"' in page
    page = admin.get("/admin/deputies?past=1").text
    assert ("Ann Lee", "Bob Stone") in deputy_pairs(page)
    assert 'class="list-row row-muted"' in page
