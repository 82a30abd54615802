"""The rules of ``platform.accounts`` and ``platform.org``, called directly with a session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potok.errors import NotFound, SettingsError, ValidationFailed
from potok.platform import accounts, org, passwords
from potok.platform.audit import Actor
from potok.platform.capabilities import PLATFORM_CAPABILITIES, CapabilityRegistry
from potok.platform.db import Database
from potok.platform.models import AuditEntry, Department, Deputy, Role, User
from tests.conftest import PASSWORD, FakeClock

SYSTEM = Actor.system()
REGISTRY = CapabilityRegistry(PLATFORM_CAPABILITIES)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """One write transaction for the whole test, committed at the end."""
    with db.session(write=True) as opened:
        yield opened


@pytest.fixture
def now(clock: FakeClock) -> datetime:
    return clock()


def add_role(session: Session, key: str, *capabilities: str, now: datetime) -> Role:
    values = accounts.RoleInput(key=key, label_en=key.title(), capabilities=capabilities)
    return accounts.create_role(session, SYSTEM, values, REGISTRY, now=now)


def add_user(
    session: Session,
    username: str,
    *,
    now: datetime,
    roles: tuple[Role, ...] = (),
    department: Department | None = None,
    active: bool = True,
) -> User:
    values = accounts.UserInput(
        username=username,
        full_name=username.title(),
        email=f"{username}@example.com",
        role_ids=tuple(str(role.id) for role in roles),
        department_id=str(department.id) if department else "",
        is_active=active,
        password=PASSWORD,
    )
    return accounts.create_user(session, SYSTEM, values, now=now)


def add_department(
    session: Session,
    name: str,
    *,
    now: datetime,
    parent: Department | None = None,
    head: User | None = None,
    code: str = "",
    position: int = 0,
) -> Department:
    values = org.DepartmentInput(
        name=name,
        code=code,
        parent_id=str(parent.id) if parent else "",
        head_id=str(head.id) if head else "",
        position=str(position),
    )
    return org.create_department(session, SYSTEM, values, now=now)


def edit_input(user: User, **changes: object) -> accounts.UserInput:
    """The user form as it would come back unchanged, with ``changes`` applied."""
    values: dict[str, object] = {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email or "",
        "language": user.language or "",
        "department_id": str(user.department_id or ""),
        "role_ids": tuple(str(role.id) for role in user.roles),
        "is_active": user.is_active,
    }
    values.update(changes)
    return accounts.UserInput(**values)  # type: ignore[arg-type]


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


# ensure_admin ------------------------------------------------------------------------------


def test_ensure_admin_creates_the_role_and_user_once(session: Session, now: datetime):
    user, generated = accounts.ensure_admin(session, password=None, now=now)
    assert generated is not None and len(generated) >= 12
    assert user.username == "admin"
    assert passwords.verify_password(user.password_hash, generated)
    role = session.scalars(select(Role).where(Role.key == "admin")).one()
    assert role.is_builtin and role.all_capabilities
    assert [r.key for r in user.roles] == ["admin"]
    assert audit_actions(session) == ["user.create"]

    again, generated_again = accounts.ensure_admin(session, password="another-password", now=now)
    assert again.id == user.id and generated_again is None
    assert session.scalar(select(func.count()).select_from(User)) == 1
    assert session.scalar(select(func.count()).select_from(Role)) == 1


def test_ensure_admin_uses_the_given_password(session: Session, now: datetime):
    user, generated = accounts.ensure_admin(session, password="given-password-1", now=now)
    assert generated is None
    assert passwords.verify_password(user.password_hash, "given-password-1")


@pytest.mark.parametrize("password", ["short", "admin", "ADMIN"], ids=str)
def test_ensure_admin_refuses_a_weak_password(session: Session, now: datetime, password: str):
    with pytest.raises(SettingsError, match="POTOK_ADMIN_PASSWORD"):
        accounts.ensure_admin(session, password=password, now=now)


def test_ensure_admin_does_not_recreate_a_renamed_admin(session: Session, now: datetime):
    someone = add_user(session, "first", now=now)
    user, generated = accounts.ensure_admin(session, password=None, now=now)
    assert user.id == someone.id and generated is None
    assert session.scalar(select(User.id).where(User.username == "admin")) is None


# Users ---------------------------------------------------------------------------------------


def test_create_user_normalises_and_audits(session: Session, now: datetime):
    role = add_role(session, "clerk", now=now)
    values = accounts.UserInput(
        username="  Ann.Lee ",
        full_name="  Ann Lee ",
        email=" ann@example.com ",
        language="ru",
        role_ids=(str(role.id),),
        password=PASSWORD,
    )
    user = accounts.create_user(session, SYSTEM, values, now=now)
    assert (user.username, user.full_name, user.email, user.language) == (
        "ann.lee",
        "Ann Lee",
        "ann@example.com",
        "ru",
    )
    assert [r.key for r in user.roles] == ["clerk"]
    assert passwords.verify_password(user.password_hash, PASSWORD)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert entry.object_id == str(user.id)
    assert entry.details["values"]["roles"] == ["clerk"]
    assert "password" not in str(entry.details)


def test_list_users_searches_name_username_and_email(session: Session, now: datetime):
    add_user(session, "ann", now=now)
    add_user(session, "bob_smith", now=now)
    add_user(session, "carol", now=now, active=False)
    assert [u.username for u in accounts.list_users(session, search="ANN")] == ["ann"]
    assert [u.username for u in accounts.list_users(session, search="example.com")] == [
        "ann",
        "bob_smith",
        "carol",
    ]
    assert [u.username for u in accounts.list_users(session, include_inactive=False)] == [
        "ann",
        "bob_smith",
    ]


def test_list_users_treats_like_wildcards_as_text(session: Session, now: datetime):
    add_user(session, "ann", now=now)
    add_user(session, "bob_smith", now=now)
    assert [u.username for u in accounts.list_users(session, search="_")] == ["bob_smith"]
    assert accounts.list_users(session, search="%") == []


@pytest.mark.parametrize(
    "raw",
    ["abc", "-1", "²", "99999999999999999999999", "999999"],
    ids=["letters", "negative", "superscript", "huge", "missing"],
)
def test_bad_ids_in_a_user_form_are_field_errors(session: Session, now: datetime, raw: str):
    values = accounts.UserInput(
        username="dan", password=PASSWORD, department_id=raw, role_ids=(raw,)
    )
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_user(session, SYSTEM, values, now=now)
    assert set(caught.value.field_errors) == {"department_id", "roles"}


def test_update_user_records_old_and_new_values(session: Session, now: datetime):
    sales = add_department(session, "Sales", now=now)
    user = add_user(session, "ann", now=now)
    changes = accounts.update_user(
        session,
        SYSTEM,
        user,
        edit_input(user, full_name="Ann Lee", department_id=str(sales.id), password="new-password"),
        now=now,
    )
    assert changes == {
        "full_name": ["Ann", "Ann Lee"],
        "department": [None, "Sales"],
        "password": ["***", "***"],
    }
    assert passwords.verify_password(user.password_hash, "new-password")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert entry.details == {"changes": changes}


def test_an_update_without_changes_is_not_audited(session: Session, now: datetime):
    user = add_user(session, "ann", now=now)
    assert accounts.update_user(session, SYSTEM, user, edit_input(user), now=now) == {}
    assert audit_actions(session) == ["user.create"]


def test_update_user_keeps_the_username(session: Session, now: datetime):
    user = add_user(session, "ann", now=now)
    accounts.update_user(session, SYSTEM, user, edit_input(user, username="eve"), now=now)
    assert user.username == "ann"


def test_a_user_cannot_disable_themselves(session: Session, now: datetime):
    admin_role = add_role(session, "keeper", "users", now=now)
    user = add_user(session, "ann", now=now, roles=(admin_role,))
    add_user(session, "other", now=now, roles=(admin_role,))
    me = Actor(user.id, user.username)
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_user(session, me, user, edit_input(user, is_active=False), now=now)
    assert set(caught.value.field_errors) == {"is_active"}


def test_the_last_user_manager_cannot_be_disabled(session: Session, now: datetime):
    admin, _ = accounts.ensure_admin(session, password=PASSWORD, now=now)
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_user(session, SYSTEM, admin, edit_input(admin, is_active=False), now=now)
    assert caught.value.field_errors == {"is_active": accounts.LOCKOUT}


def test_the_last_user_manager_cannot_lose_the_role(session: Session, now: datetime):
    admin, _ = accounts.ensure_admin(session, password=PASSWORD, now=now)
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_user(session, SYSTEM, admin, edit_input(admin, role_ids=()), now=now)
    assert caught.value.field_errors == {"roles": accounts.LOCKOUT}


def test_a_user_manager_may_go_when_another_remains(session: Session, now: datetime):
    admin, _ = accounts.ensure_admin(session, password=PASSWORD, now=now)
    keeper = add_role(session, "keeper", "users", now=now)
    add_user(session, "ann", now=now, roles=(keeper,))
    accounts.update_user(session, SYSTEM, admin, edit_input(admin, is_active=False), now=now)
    assert admin.is_active is False


def test_a_disabled_manager_does_not_count(session: Session, now: datetime):
    admin, _ = accounts.ensure_admin(session, password=PASSWORD, now=now)
    keeper = add_role(session, "keeper", "users", now=now)
    add_user(session, "ann", now=now, roles=(keeper,), active=False)
    with pytest.raises(ValidationFailed):
        accounts.update_user(session, SYSTEM, admin, edit_input(admin, role_ids=()), now=now)


def test_editing_others_works_even_when_nobody_can_manage_users(session: Session, now: datetime):
    """The guard stops changes that remove the last manager, not unrelated ones."""
    user = add_user(session, "ann", now=now)
    accounts.update_user(session, SYSTEM, user, edit_input(user, full_name="Ann Lee"), now=now)
    assert user.full_name == "Ann Lee"


def test_change_own_password(session: Session, now: datetime):
    user = add_user(session, "ann", now=now)
    me = Actor(user.id, user.username)
    with pytest.raises(ValidationFailed) as caught:
        accounts.change_own_password(
            session, me, user, current="wrong-one", new="ann", repeat="x", now=now
        )
    assert set(caught.value.field_errors) == {"current_password", "new_password"}
    with pytest.raises(ValidationFailed) as caught:
        accounts.change_own_password(
            session,
            me,
            user,
            current=PASSWORD,
            new="brand-new-pass",
            repeat="brand-new-pasS",
            now=now,
        )
    assert set(caught.value.field_errors) == {"repeat_password"}
    accounts.change_own_password(
        session, me, user, current=PASSWORD, new="brand-new-pass", repeat="brand-new-pass", now=now
    )
    assert passwords.verify_password(user.password_hash, "brand-new-pass")
    assert user.password_changed_at == now
    assert audit_actions(session)[-1] == "user.password"


def test_set_password_from_the_command_line(session: Session, now: datetime):
    user = add_user(session, "ann", now=now)
    accounts.set_password(session, SYSTEM, " ANN ", "brand-new-pass", now=now)
    assert passwords.verify_password(user.password_hash, "brand-new-pass")
    with pytest.raises(ValidationFailed):
        accounts.set_password(session, SYSTEM, "ann", "Ann", now=now)
    with pytest.raises(NotFound):
        accounts.set_password(session, SYSTEM, "nobody", "brand-new-pass", now=now)


# Roles ---------------------------------------------------------------------------------------


def test_role_labels_fall_back_between_languages(session: Session, now: datetime):
    only_ru = accounts.create_role(
        session, SYSTEM, accounts.RoleInput(key="buh", label_ru="Бухгалтер"), REGISTRY, now=now
    )
    only_en = accounts.create_role(
        session, SYSTEM, accounts.RoleInput(key="clerk", label_en="Clerk"), REGISTRY, now=now
    )
    assert only_ru.labels == {"en": "Бухгалтер", "ru": "Бухгалтер"}
    assert only_en.labels == {"en": "Clerk", "ru": "Clerk"}
    assert only_ru.label("en") == "Бухгалтер" and only_en.label("ru") == "Clerk"


def test_role_capabilities_are_checked_against_the_registry(session: Session, now: datetime):
    values = accounts.RoleInput(key="odd", label_en="Odd", capabilities=("users", "fly"))
    with pytest.raises(ValidationFailed) as caught:
        accounts.create_role(session, SYSTEM, values, REGISTRY, now=now)
    assert set(caught.value.field_errors) == {"capabilities"}


def test_the_admin_role_keeps_every_capability(session: Session, now: datetime):
    accounts.ensure_admin(session, password=PASSWORD, now=now)
    role = session.scalars(select(Role).where(Role.key == "admin")).one()
    values = accounts.RoleInput(label_en="Boss", label_ru="Начальник", capabilities=())
    accounts.update_role(session, SYSTEM, role, values, REGISTRY, now=now)
    assert role.all_capabilities and role.labels == {"en": "Boss", "ru": "Начальник"}
    with pytest.raises(ValidationFailed):
        accounts.delete_role(session, SYSTEM, role, now=now)


def test_removing_users_from_the_only_managing_role_is_refused(session: Session, now: datetime):
    keeper = add_role(session, "keeper", "users", "audit", now=now)
    add_user(session, "ann", now=now, roles=(keeper,))
    values = accounts.RoleInput(label_en="Keeper", capabilities=("audit",))
    with pytest.raises(ValidationFailed) as caught:
        accounts.update_role(session, SYSTEM, keeper, values, REGISTRY, now=now)
    assert caught.value.field_errors == {"capabilities": accounts.LOCKOUT}


def test_deleting_the_only_managing_role_is_refused(session: Session, now: datetime):
    keeper = add_role(session, "keeper", "users", now=now)
    add_user(session, "ann", now=now, roles=(keeper,))
    with pytest.raises(ValidationFailed):
        accounts.delete_role(session, SYSTEM, keeper, now=now)


def test_deleting_a_role_takes_it_from_its_members(session: Session, db: Database, now: datetime):
    clerk = add_role(session, "clerk", now=now)
    user = add_user(session, "ann", now=now, roles=(clerk,))
    accounts.delete_role(session, SYSTEM, clerk, now=now)
    session.commit()
    with db.session() as fresh:
        assert fresh.get(User, user.id).roles == []  # type: ignore[union-attr]
        assert fresh.scalar(select(Role.id).where(Role.key == "clerk")) is None
        entry = fresh.scalars(select(AuditEntry).where(AuditEntry.action == "role.delete")).one()
        assert entry.object_label == "clerk"


# Departments ---------------------------------------------------------------------------------


def test_department_tree_lists_parents_before_children(session: Session, now: datetime):
    root = add_department(session, "Head office", now=now)
    sales = add_department(session, "sales", now=now, parent=root, position=2)
    add_department(session, "Accounts", now=now, parent=root, position=2)
    add_department(session, "Legal", now=now, parent=root, position=1)
    add_department(session, "North", now=now, parent=sales)
    add_department(session, "Branch", now=now)
    add_user(session, "ann", now=now, department=sales)
    add_user(session, "bob", now=now, department=sales, active=False)
    tree = [(n.department.name, n.depth, n.member_count) for n in org.department_tree(session)]
    assert tree == [
        ("Branch", 0, 0),
        ("Head office", 0, 0),
        ("Legal", 1, 0),
        ("Accounts", 1, 0),
        ("sales", 1, 1),
        ("North", 2, 0),
    ]


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("name", ""),
        ("name", "x" * 201),
        ("code", "C" * 33),
        ("parent_id", "999999"),
        ("parent_id", "abc"),
        ("parent_id", "²"),
        ("parent_id", "99999999999999999999999"),
        ("head_id", "999999"),
        ("head_id", "²"),
        ("position", "first"),
        ("position", "99999999999"),
    ],
    ids=lambda value: str(value)[:12],
)
def test_department_validation(session: Session, now: datetime, field: str, raw: str):
    values = {"name": "Sales", field: raw}
    with pytest.raises(ValidationFailed) as caught:
        org.create_department(session, SYSTEM, org.DepartmentInput(**values), now=now)
    assert set(caught.value.field_errors) == {field}


def test_department_codes_are_unique(session: Session, now: datetime):
    sales = add_department(session, "Sales", now=now, code="SALES")
    legal = add_department(session, "Legal", now=now, code="LEGAL")
    with pytest.raises(ValidationFailed) as caught:
        add_department(session, "Other", now=now, code=" SALES ")
    assert set(caught.value.field_errors) == {"code"}
    values = org.DepartmentInput(name="Legal", code="SALES")
    with pytest.raises(ValidationFailed):
        org.update_department(session, SYSTEM, legal, values, now=now)
    # Keeping one's own code is fine.
    org.update_department(
        session, SYSTEM, sales, org.DepartmentInput(name="Sale", code="SALES"), now=now
    )
    assert sales.name == "Sale"


def test_a_head_must_be_an_active_user(session: Session, now: datetime):
    gone = add_user(session, "gone", now=now, active=False)
    with pytest.raises(ValidationFailed) as caught:
        add_department(session, "Sales", now=now, head=gone)
    assert set(caught.value.field_errors) == {"head_id"}


def test_a_department_cannot_move_under_itself_or_a_descendant(session: Session, now: datetime):
    root = add_department(session, "Root", now=now)
    child = add_department(session, "Child", now=now, parent=root)
    grandchild = add_department(session, "Grandchild", now=now, parent=child)
    for target in (root, child, grandchild):
        values = org.DepartmentInput(name="Root", parent_id=str(target.id))
        with pytest.raises(ValidationFailed) as caught:
            org.update_department(session, SYSTEM, root, values, now=now)
        assert set(caught.value.field_errors) == {"parent_id"}
    # Moving a leaf to the top and the old parent under it is allowed.
    org.update_department(
        session, SYSTEM, grandchild, org.DepartmentInput(name="Grandchild"), now=now
    )
    org.update_department(
        session,
        SYSTEM,
        child,
        org.DepartmentInput(name="Child", parent_id=str(grandchild.id)),
        now=now,
    )
    session.flush()
    depths = {n.department.name: n.depth for n in org.department_tree(session)}
    assert depths == {"Grandchild": 0, "Child": 1, "Root": 0}


def test_update_department_audits_the_changes(session: Session, now: datetime):
    ann = add_user(session, "ann", now=now)
    sales = add_department(session, "Sales", now=now)
    values = org.DepartmentInput(name="Sales", head_id=str(ann.id), position="3")
    org.update_department(session, SYSTEM, sales, values, now=now)
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "department.update")
    ).one()
    assert entry.details == {"changes": {"head": [None, "ann"], "position": [0, 3]}}


def test_delete_department(session: Session, db: Database, now: datetime):
    root = add_department(session, "Root", now=now)
    child = add_department(session, "Child", now=now, parent=root)
    ann = add_user(session, "ann", now=now, department=child)
    with pytest.raises(ValidationFailed):
        org.delete_department(session, SYSTEM, root, now=now)
    org.delete_department(session, SYSTEM, child, now=now)
    session.commit()
    with db.session() as fresh:
        assert fresh.get(User, ann.id).department_id is None  # type: ignore[union-attr]
        assert [d.name for d in fresh.scalars(select(Department))] == ["Root"]
        entry = fresh.scalars(
            select(AuditEntry).where(AuditEntry.action == "department.delete")
        ).one()
        assert entry.details["members_moved_out"] == ["ann"]


def test_get_department_of_an_unknown_id(session: Session):
    with pytest.raises(NotFound):
        org.get_department(session, 12345)


# Heads of departments ------------------------------------------------------------------------


def test_head_of_department_walks_up_to_the_nearest_head(session: Session, now: datetime):
    ceo = add_user(session, "ceo", now=now)
    boss = add_user(session, "boss", now=now)
    company = add_department(session, "Company", now=now, head=ceo)
    sales = add_department(session, "Sales", now=now, parent=company, head=boss)
    north = add_department(session, "North", now=now, parent=sales)
    clerk = add_user(session, "clerk", now=now, department=north)
    seller = add_user(session, "seller", now=now, department=sales)
    boss.department = sales
    loner = add_user(session, "loner", now=now)
    session.flush()

    assert org.head_of_department_of(session, clerk.id) is boss
    assert org.head_of_department_of(session, seller.id) is boss
    # A head reports to the head of the parent department, not to themself.
    assert org.head_of_department_of(session, boss.id) is ceo
    assert org.head_of_department_of(session, loner.id) is None
    assert org.head_of_department_of(session, 999999) is None


def test_head_of_department_skips_a_disabled_head(session: Session, now: datetime):
    ceo = add_user(session, "ceo", now=now)
    boss = add_user(session, "boss", now=now)
    company = add_department(session, "Company", now=now, head=ceo)
    sales = add_department(session, "Sales", now=now, parent=company, head=boss)
    clerk = add_user(session, "clerk", now=now, department=sales)
    boss.is_active = False
    session.flush()
    assert org.head_of_department_of(session, clerk.id) is ceo


def test_a_head_of_the_top_department_has_nobody_above(session: Session, now: datetime):
    ceo = add_user(session, "ceo", now=now)
    company = add_department(session, "Company", now=now, head=ceo)
    ceo.department = company
    session.flush()
    assert org.head_of_department_of(session, ceo.id) is None


# Deputies ------------------------------------------------------------------------------------


def deputy_input(
    principal: User, deputy: User, starts: str, ends: str, reason: str = ""
) -> org.DeputyInput:
    return org.DeputyInput(
        principal_id=str(principal.id),
        deputy_id=str(deputy.id),
        starts_on=starts,
        ends_on=ends,
        reason=reason,
    )


@pytest.fixture
def people(session: Session, now: datetime) -> dict[str, User]:
    names = ("ann", "bob", "cat", "gone")
    users = {name: add_user(session, name, now=now, active=name != "gone") for name in names}
    return users


def test_create_deputy_and_acting_for(session: Session, now: datetime, people: dict[str, User]):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    entry = org.create_deputy(
        session, SYSTEM, deputy_input(ann, bob, "2024-07-01", "2024-07-14", " vacation "), now=now
    )
    org.create_deputy(session, SYSTEM, deputy_input(ann, cat, "2024-07-10", "2024-07-20"), now=now)
    assert entry.reason == "vacation"
    assert org.acting_for(session, ann.id, date(2024, 6, 30)) == []
    assert org.acting_for(session, ann.id, date(2024, 7, 1)) == [bob]
    assert org.acting_for(session, ann.id, date(2024, 7, 12)) == [bob, cat]
    assert org.acting_for(session, ann.id, date(2024, 7, 14)) == [bob, cat]
    assert org.acting_for(session, ann.id, date(2024, 7, 15)) == [cat]
    assert org.acting_for(session, bob.id, date(2024, 7, 12)) == []
    # A deputy who is disabled later stops acting.
    bob.is_active = False
    session.flush()
    assert org.acting_for(session, ann.id, date(2024, 7, 12)) == [cat]
    log = session.scalars(select(AuditEntry).where(AuditEntry.action == "deputy.create")).all()
    assert [e.object_label for e in log] == ["bob → ann", "cat → ann"]


@pytest.mark.parametrize(
    ("principal", "deputy", "starts", "ends", "fields"),
    [
        ("ann", "ann", "2024-07-01", "2024-07-02", {"deputy_id"}),
        ("ann", "gone", "2024-07-01", "2024-07-02", {"deputy_id"}),
        ("", "bob", "2024-07-01", "2024-07-02", {"principal_id"}),
        ("ann", "", "2024-07-01", "2024-07-02", {"deputy_id"}),
        ("ann", "bob", "2024-07-02", "2024-07-01", {"ends_on"}),
        ("ann", "bob", "tomorrow", "2024-07-01", {"starts_on"}),
        ("ann", "bob", "2024-07-01", "2024-02-30", {"ends_on"}),
        ("ann", "bob", "", "", {"starts_on", "ends_on"}),
    ],
    ids=[
        "self",
        "disabled",
        "no-principal",
        "no-deputy",
        "reversed",
        "bad-start",
        "bad-end",
        "empty",
    ],
)
def test_deputy_validation(
    session: Session,
    now: datetime,
    people: dict[str, User],
    principal: str,
    deputy: str,
    starts: str,
    ends: str,
    fields: set[str],
):
    values = org.DeputyInput(
        principal_id=str(people[principal].id) if principal else "",
        deputy_id=str(people[deputy].id) if deputy else "",
        starts_on=starts,
        ends_on=ends,
    )
    with pytest.raises(ValidationFailed) as caught:
        org.create_deputy(session, SYSTEM, values, now=now)
    assert set(caught.value.field_errors) == fields
    assert session.scalar(select(func.count()).select_from(Deputy)) == 0


def test_deputy_periods_of_the_same_pair_cannot_overlap(
    session: Session, now: datetime, people: dict[str, User]
):
    ann, bob = people["ann"], people["bob"]
    org.create_deputy(session, SYSTEM, deputy_input(ann, bob, "2024-07-10", "2024-07-20"), now=now)
    for starts, ends in [
        ("2024-07-01", "2024-07-10"),
        ("2024-07-20", "2024-07-25"),
        ("2024-07-12", "2024-07-13"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            org.create_deputy(session, SYSTEM, deputy_input(ann, bob, starts, ends), now=now)
        assert set(caught.value.field_errors) == {"starts_on"}
    # Adjacent periods are fine, and so is the reverse pair.
    org.create_deputy(session, SYSTEM, deputy_input(ann, bob, "2024-07-21", "2024-07-22"), now=now)
    org.create_deputy(session, SYSTEM, deputy_input(bob, ann, "2024-07-12", "2024-07-13"), now=now)
    assert session.scalar(select(func.count()).select_from(Deputy)) == 3


def test_list_and_delete_deputies(session: Session, now: datetime, people: dict[str, User]):
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    past = org.create_deputy(
        session, SYSTEM, deputy_input(ann, bob, "2024-01-01", "2024-01-05"), now=now
    )
    future = org.create_deputy(
        session, SYSTEM, deputy_input(ann, cat, "2024-08-01", "2024-08-05"), now=now
    )
    today = date(2024, 7, 1)
    assert org.list_deputies(session, today=today) == [future]
    assert org.list_deputies(session, today=today, include_past=True) == [future, past]
    org.delete_deputy(session, SYSTEM, past.id, now=now)
    session.flush()
    assert org.list_deputies(session, today=today, include_past=True) == [future]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "deputy.delete")).one()
    assert entry.object_label == "bob → ann"
    assert entry.details == {"starts_on": "2024-01-01", "ends_on": "2024-01-05"}
    with pytest.raises(NotFound):
        org.delete_deputy(session, SYSTEM, past.id, now=now)
