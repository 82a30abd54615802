"""The user's own account page: profile, password and open sessions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from potok.platform import auth, passwords
from potok.platform.db import Database
from potok.platform.models import UserSession
from potok.platform.web.page import LANG_COOKIE
from tests.conftest import PASSWORD, Client, UserMaker
from tests.helpers import audit_of, error_text, follow, is_logged_in, user_named


def session_of(client: Client) -> str:
    """The id the database keeps for this client's session cookie."""
    return auth.token_digest(client.cookies[auth.SESSION_COOKIE])


def session_row(db: Database, session_id: str) -> UserSession:
    with db.session() as session:
        row = session.get(UserSession, session_id)
        assert row is not None
        return row


@pytest.fixture
def ann(as_user: UserMaker) -> Client:
    return as_user("ann", full_name="Ann Lee", capabilities=("audit",))


@pytest.fixture
def second_device(ann: Client, make_client: Callable[[], Client]) -> Client:
    other = make_client()
    assert other.login("ann").status_code == 303
    return other


def test_account_needs_a_login(client: Client):
    response = client.get("/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount"
    assert client.submit("/account", {"full_name": "X"}).status_code == 401
    assert client.submit("/account/password", {}).status_code == 401


def test_account_page(ann: Client, second_device: Client):
    page = ann.get("/account")
    assert page.status_code == 200
    assert "<strong>ann</strong>" in page.text and 'value="Ann Lee"' in page.text
    # Both sessions are listed; this one is marked and has a plain "Log out".
    assert page.text.count('action="/account/sessions/') == 2
    assert "this device" in page.text
    assert f'action="/account/sessions/{session_of(ann)}/end"' in page.text
    assert f'action="/account/sessions/{session_of(second_device)}/end"' in page.text


# Profile ------------------------------------------------------------------------------------------


def test_update_profile(ann: Client, db: Database):
    before = user_named(db, "ann")
    response = ann.submit(
        "/account",
        {"full_name": " Ann Smith ", "email": "smith@example.com", "language": ""},
    )
    assert response.headers["location"] == "/account"
    page = follow(ann, response).text
    assert "Your profile is saved." in page
    assert 'value="Ann Smith"' in page
    after = user_named(db, "ann")
    assert (after.full_name, after.email, after.language) == (
        "Ann Smith",
        "smith@example.com",
        None,
    )
    # What the page does not offer stays as it was.
    assert after.is_active and after.department_id == before.department_id
    assert after.password_hash == before.password_hash
    (entry,) = audit_of(db, "user.update")
    assert entry.actor_name == "ann"
    assert entry.details["changes"] == {
        "email": ["ann@example.com", "smith@example.com"],
        "full_name": ["Ann Lee", "Ann Smith"],
    }
    assert is_logged_in(ann)
    # The roles stay too: ann can still read the audit log.
    assert ann.get("/admin/audit").status_code == 200


def test_choosing_a_language(ann: Client, db: Database):
    response = ann.submit(
        "/account", {"full_name": "Ann Lee", "email": "ann@example.com", "language": "ru"}
    )
    assert response.status_code == 303
    assert ann.cookies[LANG_COOKIE] == "ru"
    assert user_named(db, "ann").language == "ru"
    page = ann.get("/account").text
    assert '<html lang="ru">' in page
    assert '<option value="ru" selected>' in page


def test_going_back_to_the_server_language(ann: Client, db: Database):
    ann.submit("/account", {"full_name": "Ann Lee", "email": "ann@example.com", "language": "ru"})
    assert '<html lang="ru">' in ann.get("/account").text
    response = ann.submit(
        "/account", {"full_name": "Ann Lee", "email": "ann@example.com", "language": ""}
    )
    assert response.status_code == 303
    assert user_named(db, "ann").language is None
    assert LANG_COOKIE not in ann.cookies
    assert '<html lang="en">' in ann.get("/account").text


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter an e-mail address like name@example.com."),
        ({"full_name": "x" * 201}, "full_name", "Keep the name under 200 characters."),
        ({"language": "de"}, "language", "Choose a language from the list."),
    ],
    ids=["email", "name", "language"],
)
def test_profile_validation(
    ann: Client, db: Database, values: dict[str, str], field: str, message: str
):
    before = user_named(db, "ann")
    typed = {"full_name": "Typed Name", "email": "typed@example.com", "language": "", **values}
    response = ann.submit("/account", typed)
    assert response.status_code == 400
    assert error_text(response.text, field) == message
    assert "Please correct the highlighted fields; nothing was saved." in response.text
    if field != "full_name":
        assert 'value="Typed Name"' in response.text
    after = user_named(db, "ann")
    assert (after.full_name, after.email, after.language) == (
        before.full_name,
        before.email,
        before.language,
    )
    assert LANG_COOKIE not in ann.cookies
    assert audit_of(db, "user.update") == []


# Password ----------------------------------------------------------------------------------------


def change(client: Client, current: str, new: str, repeat: str | None = None) -> Any:
    return client.submit(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeat is None else repeat,
        },
    )


@pytest.mark.parametrize(
    ("current", "new", "repeat", "field", "message"),
    [
        ("wrong-password", "brand-new-pass", None, "current_password", "The current password is"),
        (PASSWORD, "brand-new-pass", "brand-new-pasS", "repeat_password", "The two new passwords"),
        (PASSWORD, "short", None, "new_password", "The password must be at least 8 characters"),
        (PASSWORD, "ANN", None, "new_password", "The password must be at least 8 characters"),
        (PASSWORD, " " * 10, None, "new_password", "The password must not be only spaces."),
        (PASSWORD, "x" * 257, None, "new_password", "The password must be at most 256"),
    ],
    ids=["wrong-current", "mismatch", "short", "username", "spaces", "long"],
)
def test_password_change_validation(
    ann: Client,
    second_device: Client,
    db: Database,
    current: str,
    new: str,
    repeat: str | None,
    field: str,
    message: str,
):
    before = user_named(db, "ann").password_hash
    response = change(ann, current, new, repeat)
    assert response.status_code == 400
    assert error_text(response.text, field).startswith(message)
    for typed in (current, new):
        assert typed.strip() == "" or typed not in response.text  # never echoed back
    assert user_named(db, "ann").password_hash == before
    assert is_logged_in(ann) and is_logged_in(second_device)
    assert audit_of(db, "user.password") == []


def test_password_equal_to_the_username_is_refused(as_user: UserMaker, db: Database):
    client = as_user("longname")
    response = change(client, PASSWORD, "LongName")
    assert response.status_code == 400
    assert error_text(response.text, "new_password") == (
        "The password must not be the same as the username."
    )


def test_password_change_ends_other_sessions_only(
    ann: Client, second_device: Client, db: Database, make_client: Callable[[], Client]
):
    kept = session_of(ann)
    response = change(ann, PASSWORD, "brand-new-pass")
    assert response.headers["location"] == "/account"
    page = follow(ann, response).text
    assert "Your password is changed. Sessions ended on other devices: 1." in page
    assert is_logged_in(ann)
    assert not is_logged_in(second_device)
    assert session_row(db, kept).revoked_at is None
    assert session_row(db, session_of(second_device)).revoked_reason == "password changed"
    assert passwords.verify_password(user_named(db, "ann").password_hash, "brand-new-pass")
    assert make_client().login("ann").status_code == 400
    assert make_client().login("ann", "brand-new-pass").status_code == 303
    (entry,) = audit_of(db, "user.password")
    assert entry.actor_name == "ann" and "brand-new-pass" not in str(entry.details)


# Sessions ----------------------------------------------------------------------------------------


def test_ending_another_of_your_sessions(ann: Client, second_device: Client, db: Database):
    other = session_of(second_device)
    response = ann.submit(f"/account/sessions/{other}/end")
    assert response.headers["location"] == "/account"
    page = follow(ann, response).text
    assert "The session is ended." in page
    assert page.count('action="/account/sessions/') == 1
    assert not is_logged_in(second_device)
    assert is_logged_in(ann)
    assert session_row(db, other).revoked_reason == "ended by user"
    (entry,) = audit_of(db, "session.end")
    assert entry.actor_name == "ann"


def test_ending_this_session_logs_out(ann: Client, second_device: Client, db: Database):
    mine = session_of(ann)
    response = ann.submit(f"/account/sessions/{mine}/end")
    assert response.headers["location"] == "/login"
    assert auth.SESSION_COOKIE not in ann.cookies
    assert session_row(db, mine).revoked_at is not None
    assert not is_logged_in(ann)
    assert is_logged_in(second_device)


def test_a_user_cannot_end_someone_elses_session(ann: Client, as_user: UserMaker, db: Database):
    bob = as_user("bob")
    target = session_of(bob)
    response = ann.submit(f"/account/sessions/{target}/end")
    assert response.status_code == 404
    assert session_row(db, target).revoked_at is None
    assert is_logged_in(bob)
    assert audit_of(db, "session.end") == []


def test_ending_an_unknown_or_ended_session_is_404(
    ann: Client, second_device: Client, db: Database
):
    assert ann.submit("/account/sessions/no-such-session/end").status_code == 404
    other = session_of(second_device)
    assert ann.submit(f"/account/sessions/{other}/end").status_code == 303
    assert ann.submit(f"/account/sessions/{other}/end").status_code == 404
    assert len(audit_of(db, "session.end")) == 1
