"""Roles in a configuration folder: ``role/<key>.json`` carried with the streams and routes
that name them, kept in the platform's ``roles`` table.

A role is not versioned metadata: administrators give roles to users and change their
capabilities on the roles screen, and the table stays the one place a role lives (as
dictionary items live in ``dictionary_items``). Importing a folder creates the roles that
are missing and brings the names of the others up to date, through the platform's own
:mod:`potok.platform.accounts` functions (so every change is audited); it never deletes a
role, takes a capability away or changes who has a role. Exporting writes every role but the
built-in administrator, in the form a folder holds it, so export → import → export is
byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from potok.platform import accounts
from potok.platform.audit import Actor
from potok.platform.capabilities import PLATFORM_CAPABILITIES, CapabilityRegistry
from potok.platform.models import Role

Key = tuple[str, str]


def as_document(role: Role) -> dict[str, Any]:
    """A role as its folder file holds it (empty description and capabilities left out)."""
    document: dict[str, Any] = {
        "kind": "role",
        "key": role.key,
        "labels": {"en": role.labels.get("en", ""), "ru": role.labels.get("ru", "")},
    }
    if role.description:
        document["description"] = role.description
    if role.capabilities:
        document["capabilities"] = sorted(role.capabilities)
    return document


def documents(session: Session) -> dict[Key, dict[str, Any]]:
    """Every role but the built-in ones, as folder documents."""
    roles = session.scalars(select(Role).where(Role.is_builtin.is_(False)).order_by(Role.key))
    return {("role", role.key): as_document(role) for role in roles}


def _merged(role: Role | None, document: Mapping[str, Any]) -> dict[str, Any]:
    """What the role becomes: the folder's names, the capabilities it has and the folder's."""
    wanted = dict(document)
    capabilities = set(document.get("capabilities", ()))
    if role is not None:
        capabilities |= set(role.capabilities)
    wanted.pop("capabilities", None)
    wanted.pop("description", None)
    if document.get("description"):
        wanted["description"] = str(document["description"]).strip()
    if capabilities:
        wanted["capabilities"] = sorted(capabilities)
    return wanted


def changed(session: Session, incoming: Mapping[Key, Mapping[str, Any]]) -> list[str]:
    """The keys of the incoming roles that importing would create or change."""
    found = []
    for (kind, key), document in sorted(incoming.items()):
        if kind != "role":
            continue
        role = session.scalar(select(Role).where(Role.key == key))
        if role is None or as_document(role) != _merged(role, document):
            found.append(key)
    return found


def sync(
    session: Session,
    incoming: Mapping[Key, Mapping[str, Any]],
    keys: list[str],
    *,
    author: str,
    now: datetime,
) -> None:
    """Create or update the roles ``keys`` of ``incoming`` (see :func:`changed`)."""
    actor = Actor(None, author[:64])
    registry = CapabilityRegistry(PLATFORM_CAPABILITIES)
    for key in keys:
        document = incoming[("role", key)]
        role = session.scalar(select(Role).where(Role.key == key))
        wanted = _merged(role, document)
        values = accounts.RoleInput(
            key=key,
            label_en=str(wanted["labels"]["en"]),
            label_ru=str(wanted["labels"]["ru"]),
            description=str(wanted.get("description", "")),
            capabilities=tuple(wanted.get("capabilities", ())),
        )
        if role is None:
            accounts.create_role(session, actor, values, registry, now=now)
        else:
            accounts.update_role(session, actor, role, values, registry, now=now)
