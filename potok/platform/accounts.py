"""Users and roles: the rules for creating and changing them, each change audited.

Functions take the raw values of a form, check all of them, and either apply the change
or raise :class:`ValidationFailed` with a message per field. A raise may leave the session
changed: the caller rolls the transaction back (the web layer does so for every error
response), so no half of a change is ever committed.
The first administrator and the built-in ``admin`` role come from :func:`ensure_admin`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from potok.errors import N_, NotFound, SettingsError, ValidationFailed
from potok.platform import audit, passwords
from potok.platform.audit import Actor
from potok.platform.capabilities import USERS, CapabilityRegistry
from potok.platform.models import Department, Role, User, user_roles
from potok.settings import LANGUAGES

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ROLE_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADMIN_ROLE = "admin"
ADMIN_USERNAME = "admin"
# Stored in English; shown translated, as built-in roles are Potok's own words.
ADMIN_ROLE_DESCRIPTION = N_("Can do everything, including managing users and the configuration.")
ADMIN_FULL_NAMES = {"en": "Administrator", "ru": "Администратор"}
MAX_ID = 2**31 - 1  # the largest value an INTEGER primary key holds on PostgreSQL


def parse_id(raw: str) -> int | None:
    """The row id a form field names, or None when it cannot be one (so lookups never see
    ``"²"``, ``"-1"`` or a number too big for the database's integer type)."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


@dataclass(frozen=True)
class UserInput:
    """The values of the user form, as typed."""

    username: str = ""
    full_name: str = ""
    email: str = ""
    language: str = ""
    department_id: str = ""
    role_ids: tuple[str, ...] = ()
    is_active: bool = True
    password: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, Any], role_ids: Iterable[str]) -> UserInput:
        return cls(
            username=str(form.get("username", "")),
            full_name=str(form.get("full_name", "")),
            email=str(form.get("email", "")),
            language=str(form.get("language", "")),
            department_id=str(form.get("department_id", "")),
            role_ids=tuple(str(value) for value in role_ids),
            is_active=form.get("is_active") in ("on", "true", "1"),
            password=str(form.get("password", "")),
        )


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "language": user.language,
        "department": user.department.name if user.department else None,
        "roles": sorted(role.key for role in user.roles),
        "active": user.is_active,
    }


def get_user(session: Session, user_id: int) -> User:
    if not 0 < user_id <= MAX_ID:
        raise NotFound()
    user = session.get(User, user_id, options=[selectinload(User.roles)])
    if user is None or user.is_system:
        raise NotFound()
    return user


def list_users(session: Session, *, search: str = "", include_inactive: bool = True) -> list[User]:
    statement = (
        select(User)
        .where(User.is_system.is_(False))
        .options(selectinload(User.roles), selectinload(User.department))
        .order_by(func.lower(User.full_name), User.username)
    )
    term = search.strip().lower()
    if term:
        # autoescape: a typed "%" or "_" is searched for, not a LIKE wildcard.
        statement = statement.where(
            func.lower(User.username).contains(term, autoescape=True)
            | func.lower(User.full_name).contains(term, autoescape=True)
            | func.lower(func.coalesce(User.email, "")).contains(term, autoescape=True)
        )
    if not include_inactive:
        statement = statement.where(User.is_active.is_(True))
    return list(session.scalars(statement))


def _check_user(
    session: Session, values: UserInput, *, existing: User | None
) -> tuple[dict[str, str], dict[str, Any]]:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    username = values.username.strip().lower()
    if existing is None:
        if not username:
            errors["username"] = N_("Enter a username.")
        elif not USERNAME_RE.match(username):
            errors["username"] = N_(
                "Use 2 to 64 lowercase Latin letters, digits, dots, dashes or underscores, "
                "starting with a letter or digit."
            )
        elif session.scalar(select(User.id).where(User.username == username)) is not None:
            errors["username"] = N_("This username is already taken.")
        clean["username"] = username
    full_name = values.full_name.strip()
    if len(full_name) > 200:
        errors["full_name"] = N_("Keep the name under 200 characters.")
    clean["full_name"] = full_name
    email = values.email.strip()
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = N_("Enter an e-mail address like name@example.com.")
    clean["email"] = email or None
    if values.language and values.language not in LANGUAGES:
        errors["language"] = N_("Choose a language from the list.")
    clean["language"] = values.language or None
    clean["department"] = None
    if values.department_id:
        department_id = parse_id(values.department_id)
        department = session.get(Department, department_id) if department_id else None
        if department is None:
            errors["department_id"] = N_("Choose a department from the list.")
        clean["department"] = department
    roles: list[Role] = []
    if values.role_ids:
        ids = {parse_id(value) for value in values.role_ids}
        wanted = {role_id for role_id in ids if role_id is not None}
        roles = list(session.scalars(select(Role).where(Role.id.in_(wanted)).order_by(Role.key)))
        if None in ids or len(roles) != len(set(values.role_ids)):
            errors["roles"] = N_("Choose roles from the list.")
    clean["roles"] = roles
    clean["is_active"] = values.is_active
    if existing is None or values.password:
        problem = passwords.password_problem(
            values.password, username=username or (existing.username if existing else "")
        )
        if problem:
            errors["password"] = problem
    return errors, clean


def _can_manage_users(role: Role) -> bool:
    return role.all_capabilities or USERS in role.capabilities


def _user_manages_users(user: User) -> bool:
    return user.is_active and any(_can_manage_users(role) for role in user.roles)


def _guard_user_managers(session: Session, *, ignoring: User | None = None) -> bool:
    """True when some active user other than ``ignoring`` can still manage users."""
    for user in session.scalars(
        select(User)
        .where(User.is_active.is_(True), User.is_system.is_(False))
        .options(selectinload(User.roles))
        .execution_options(populate_existing=True)  # see flushed role changes and deletions
    ):
        if user is ignoring:
            continue
        if any(_can_manage_users(role) for role in user.roles):
            return True
    return False


LOCKOUT = N_("At least one active user must be able to manage users; keep this one.")


def create_user(session: Session, actor: Actor, values: UserInput, *, now: datetime) -> User:
    errors, clean = _check_user(session, values, existing=None)
    if errors:
        raise ValidationFailed(field_errors=errors)
    user = User(
        username=clean["username"],
        full_name=clean["full_name"],
        email=clean["email"],
        language=clean["language"],
        department=clean["department"],
        roles=clean["roles"],
        is_active=clean["is_active"],
        password_hash=passwords.hash_password(values.password),
        password_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        at=now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        details={"values": _snapshot(user)},
    )
    return user


def update_user(
    session: Session, actor: Actor, user: User, values: UserInput, *, now: datetime
) -> dict[str, list[Any]]:
    """Apply the form to ``user``; returns the changes (field -> [old, new])."""
    errors, clean = _check_user(session, values, existing=user)
    if user.id == actor.user_id and not clean["is_active"]:
        errors["is_active"] = N_("You cannot disable your own account.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    before = _snapshot(user)
    managed_before = _user_manages_users(user)
    user.full_name = clean["full_name"]
    user.email = clean["email"]
    user.language = clean["language"]
    user.department = clean["department"]
    user.roles = clean["roles"]
    user.is_active = clean["is_active"]
    if values.password:
        user.password_hash = passwords.hash_password(values.password)
        user.password_changed_at = now
    session.flush()
    if managed_before and not _user_manages_users(user) and not _guard_user_managers(session):
        # Point at what the form changed: the active box, or else the roles.
        field = "roles" if user.is_active else "is_active"
        raise ValidationFailed(field_errors={field: LOCKOUT})
    changes = audit.changes(before, _snapshot(user))
    if values.password:
        changes["password"] = ["***", "***"]
    if changes:
        user.updated_at = now
        audit.record(
            session,
            actor,
            "user.update",
            at=now,
            object_type="user",
            object_id=user.id,
            object_label=user.username,
            details={"changes": changes},
        )
    return changes


def change_own_password(
    session: Session,
    actor: Actor,
    user: User,
    *,
    current: str,
    new: str,
    repeat: str,
    now: datetime,
) -> None:
    errors: dict[str, str] = {}
    if not passwords.verify_password(user.password_hash, current):
        errors["current_password"] = N_("The current password is not correct.")
    problem = passwords.password_problem(new, username=user.username)
    if problem:
        errors["new_password"] = problem
    elif new != repeat:
        errors["repeat_password"] = N_("The two new passwords do not match.")
    if errors:
        raise ValidationFailed(field_errors=errors)
    user.password_hash = passwords.hash_password(new)
    user.password_changed_at = now
    user.updated_at = now
    audit.record(
        session,
        actor,
        "user.password",
        at=now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
    )


def set_password(
    session: Session, actor: Actor, username: str, password: str, *, now: datetime
) -> User:
    """Set a user's password from the command line."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or user.is_system:
        raise NotFound(N_("There is no user %(username)s."), params={"username": username})
    problem = passwords.password_problem(password, username=user.username)
    if problem:
        raise ValidationFailed(problem)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = now
    user.updated_at = now
    audit.record(
        session,
        actor,
        "user.password",
        at=now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
    )
    return user


# Roles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleInput:
    key: str = ""
    label_en: str = ""
    label_ru: str = ""
    description: str = ""
    capabilities: tuple[str, ...] = ()

    @classmethod
    def from_form(cls, form: Mapping[str, Any], capabilities: Iterable[str]) -> RoleInput:
        return cls(
            key=str(form.get("key", "")),
            label_en=str(form.get("label_en", "")),
            label_ru=str(form.get("label_ru", "")),
            description=str(form.get("description", "")),
            capabilities=tuple(str(value) for value in capabilities),
        )


def _role_snapshot(role: Role) -> dict[str, Any]:
    return {
        "key": role.key,
        "labels": dict(role.labels),
        "description": role.description,
        "capabilities": sorted(role.capabilities),
    }


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.is_builtin.desc(), Role.key)))


def role_member_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(user_roles.c.role_id, func.count()).group_by(user_roles.c.role_id)
    )
    return {int(role_id): int(count) for role_id, count in rows}


def get_role(session: Session, role_id: int) -> Role:
    role = session.get(Role, role_id) if 0 < role_id <= MAX_ID else None
    if role is None:
        raise NotFound()
    return role


def _check_role(
    session: Session, values: RoleInput, registry: CapabilityRegistry, *, existing: Role | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if existing is None:
        key = values.key.strip().lower()
        if not ROLE_KEY_RE.match(key):
            errors["key"] = N_(
                "Use 2 to 64 lowercase Latin letters, digits or underscores, "
                "starting with a letter."
            )
        elif session.scalar(select(Role.id).where(Role.key == key)) is not None:
            errors["key"] = N_("A role with this key already exists.")
    if not values.label_en.strip() and not values.label_ru.strip():
        errors["label_en"] = N_("Give the role a name in at least one language.")
    for field in ("label_en", "label_ru"):
        if len(getattr(values, field).strip()) > 100:
            errors[field] = N_("Keep the name under 100 characters.")
    if len(values.description) > 2000:
        errors["description"] = N_("Keep the description under 2000 characters.")
    if any(key not in registry for key in values.capabilities):
        errors["capabilities"] = N_("Choose capabilities from the list.")
    return errors


def _labels(values: RoleInput) -> dict[str, str]:
    en, ru = values.label_en.strip(), values.label_ru.strip()
    return {"en": en or ru, "ru": ru or en}


def create_role(
    session: Session,
    actor: Actor,
    values: RoleInput,
    registry: CapabilityRegistry,
    *,
    now: datetime,
) -> Role:
    errors = _check_role(session, values, registry, existing=None)
    if errors:
        raise ValidationFailed(field_errors=errors)
    role = Role(
        key=values.key.strip().lower(),
        labels=_labels(values),
        description=values.description.strip(),
        capabilities=sorted(set(values.capabilities)),
        created_at=now,
        updated_at=now,
    )
    session.add(role)
    session.flush()
    audit.record(
        session,
        actor,
        "role.create",
        at=now,
        object_type="role",
        object_id=role.id,
        object_label=role.key,
        details={"values": _role_snapshot(role)},
    )
    return role


def update_role(
    session: Session,
    actor: Actor,
    role: Role,
    values: RoleInput,
    registry: CapabilityRegistry,
    *,
    now: datetime,
) -> None:
    errors = _check_role(session, values, registry, existing=role)
    if errors:
        raise ValidationFailed(field_errors=errors)
    before = _role_snapshot(role)
    managed_before = _can_manage_users(role)
    role.labels = _labels(values)
    role.description = values.description.strip()
    if not role.all_capabilities:
        role.capabilities = sorted(set(values.capabilities))
    session.flush()
    if managed_before and not _can_manage_users(role) and not _guard_user_managers(session):
        raise ValidationFailed(field_errors={"capabilities": LOCKOUT})
    changes = audit.changes(before, _role_snapshot(role))
    if changes:
        role.updated_at = now
        audit.record(
            session,
            actor,
            "role.update",
            at=now,
            object_type="role",
            object_id=role.id,
            object_label=role.key,
            details={"changes": changes},
        )


def delete_role(session: Session, actor: Actor, role: Role, *, now: datetime) -> None:
    if role.is_builtin:
        raise ValidationFailed(N_("Built-in roles cannot be deleted."))
    snapshot = _role_snapshot(role)
    managed = _can_manage_users(role)
    session.delete(role)
    session.flush()
    if managed and not _guard_user_managers(session):
        raise ValidationFailed(LOCKOUT)
    audit.record(
        session,
        actor,
        "role.delete",
        at=now,
        object_type="role",
        object_id=role.id,
        object_label=snapshot["key"],
        details={"values": snapshot},
    )


# The first administrator --------------------------------------------------------------------


def ensure_admin(
    session: Session, *, password: str | None, now: datetime, language: str = "en"
) -> tuple[User, str | None]:
    """Create the built-in ``admin`` role and user when there are no users yet.

    Returns the admin user and the password to print when one was generated (else None).
    Does nothing but look when an administrator already exists.
    """
    role = session.scalar(select(Role).where(Role.key == ADMIN_ROLE))
    if role is None:
        role = Role(
            key=ADMIN_ROLE,
            labels={"en": "Administrator", "ru": "Администратор"},
            description=ADMIN_ROLE_DESCRIPTION,
            capabilities=[],
            all_capabilities=True,
            is_builtin=True,
            created_at=now,
            updated_at=now,
        )
        session.add(role)
    existing = session.scalar(select(User).where(User.username == ADMIN_USERNAME))
    if existing is not None:
        return existing, None
    if session.scalar(select(func.count()).select_from(User).where(User.is_system.is_(False))):
        # Users exist but 'admin' was renamed away or deleted: do not recreate it.
        first = session.scalars(select(User).order_by(User.id)).first()
        if first is not None:
            return first, None
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(12)
    problem = passwords.password_problem(password, username=ADMIN_USERNAME)
    if problem:
        raise SettingsError(f"POTOK_ADMIN_PASSWORD is not acceptable: {problem}")
    user = User(
        username=ADMIN_USERNAME,
        full_name=ADMIN_FULL_NAMES.get(language, ADMIN_FULL_NAMES["en"]),
        password_hash=passwords.hash_password(password),
        password_changed_at=now,
        roles=[role],
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        Actor.system(),
        "user.create",
        at=now,
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        details={"values": _snapshot(user)},
    )
    return user, generated
