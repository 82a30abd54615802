"""Small helpers shared by the tests: reading the database and the pages back."""

from __future__ import annotations

import html
import re
import socket
from typing import Any

import pytest
from sqlalchemy import func, select

from potok.platform.db import Database
from potok.platform.models import AuditEntry, User
from tests.conftest import Client


def user_named(db: Database, username: str) -> User | None:
    """The user with their roles and department loaded, or None."""
    with db.session() as session:
        user = session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is not None:
            _ = user.roles, user.department
        return user


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_of(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def follow(client: Client, response: Any) -> Any:
    """The page a 303 answer leads to."""
    assert response.status_code == 303, response.text
    return client.get(response.headers["location"])


def is_logged_in(client: Client) -> bool:
    response = client.get("/account")
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login")
        return False
    assert response.status_code == 200
    return True


def error_text(html: str, field: str) -> str:
    """The message shown next to a form field, or "" when there is none."""
    found = re.search(rf'<p class="field-error" id="error-{field}">(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


def with_ids(cases: list[tuple[dict[str, Any], str, str]]) -> list[Any]:
    """Name each case after the form values it changes, e.g. ``username=BOSS``."""
    return [
        pytest.param(
            *case, id=",".join(f"{key}={str(value)[:16]}" for key, value in case[0].items())
        )
        for case in cases
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def list_count(client: Client, page: Any) -> str:
    """The count a list page loads after its rows ("Documents: 3"), fetched from the URL the
    page asks (its ``hx-get``)."""
    found = re.search(r'id="list-count" hx-get="([^"]+)"', page.text)
    assert found, "the list page does not ask for its count"
    response = client.get(html.unescape(found.group(1)), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return re.sub(r"<[^>]+>", "", response.text).strip()
