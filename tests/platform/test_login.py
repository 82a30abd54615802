"""Logging in and out through the real pages, sessions and their timeouts, throttling."""

import re

import pytest
from sqlalchemy import event, func, select, update

from potok.errors import ValidationFailed
from potok.platform import auth
from potok.platform.auth import SESSION_COOKIE, THROTTLE_MAX_FAILURES, LoginThrottled
from potok.platform.models import AuditEntry, LoginAttempt, User, UserSession
from tests.conftest import PASSWORD


def audit_actions(db, action):
    with db.session() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_login_page_has_the_form_the_readme_promises(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert re.search(r'<form method="post" action="/login"', response.text)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in response.text


def test_anonymous_pages_redirect_to_login_with_the_way_back(client):
    response = client.get("/account?tab=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%3Ftab%3D1"


def test_login_opens_a_session_and_logout_ends_it(client, create_user, db):
    create_user("anna")
    response = client.login("Anna")  # usernames are case-insensitive
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Anna" in home.text
    assert len(audit_actions(db, "login")) == 1

    response = client.submit("/logout")
    assert response.status_code == 303
    assert client.get("/").status_code == 303
    with db.session() as session:
        row = session.scalars(select(UserSession)).one()
    assert row.revoked_reason == "logout"
    assert len(audit_actions(db, "logout")) == 1


def test_login_follows_a_local_next_but_not_an_external_one(client, create_user):
    create_user("anna")
    response = client.submit(
        "/login", {"username": "anna", "password": "correct-horse-battery", "next": "/account"}
    )
    assert response.headers["location"] == "/account"
    other = client.__class__(client.app, follow_redirects=False)
    with other:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            response = other.submit(
                "/login",
                {"username": "anna", "password": "correct-horse-battery", "next": target},
            )
            assert response.headers["location"] == "/", target
            other.submit("/logout")


@pytest.mark.parametrize(
    ("username", "password"),
    [("anna", "wrong-password"), ("nobody", "correct-horse-battery"), ("", ""), ("anna", "")],
    ids=["wrong password", "unknown user", "empty form", "empty password"],
)
def test_bad_credentials_get_one_clear_message_and_no_session(
    client, create_user, db, username, password
):
    create_user("anna")
    response = client.submit("/login", {"username": username, "password": password})
    assert response.status_code == 400
    assert "The username or password is not correct." in response.text
    assert SESSION_COOKIE not in client.cookies
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_a_failed_login_is_recorded(client, create_user, db):
    create_user("anna")
    client.submit("/login", {"username": "anna", "password": "nope-nope-nope"})
    entries = audit_actions(db, "login.failed")
    assert [entry.object_label for entry in entries] == ["anna"]
    assert entries[0].ip == "testclient"


def test_a_disabled_user_is_told_so_only_with_the_right_password(client, create_user, db):
    user_id = create_user("anna")
    with db.session(write=True) as session:
        session.get(User, user_id).is_active = False
    wrong = client.submit("/login", {"username": "anna", "password": "not-her-password"})
    assert "The username or password is not correct." in wrong.text
    right = client.login("anna")
    assert right.status_code == 400
    assert "This account is disabled" in right.text


def test_ten_failures_for_one_user_pause_logging_in(make_client, create_user, clock, db):
    create_user("anna")
    for _ in range(THROTTLE_MAX_FAILURES):
        attacker = make_client()
        attacker.submit("/login", {"username": "anna", "password": "guess-guess"})
    victim = make_client()
    response = victim.login("anna")
    assert response.status_code == 429
    assert "Too many failed login attempts" in response.text
    assert SESSION_COOKIE not in victim.cookies
    clock.advance(minutes=11)
    assert victim.login("anna").status_code == 303


def test_ten_failures_from_one_address_pause_that_address(client, create_user, db):
    create_user("anna")
    for number in range(THROTTLE_MAX_FAILURES):
        client.submit("/login", {"username": f"user{number}", "password": "guess-guess"})
    response = client.login("anna")
    assert response.status_code == 429
    with db.session() as session:
        attempts = session.scalar(select(func.count()).select_from(LoginAttempt))
    assert attempts == THROTTLE_MAX_FAILURES  # the throttled attempt is not even tried


def test_a_success_resets_the_per_user_count_but_not_the_per_address_one(create_user, db, clock):
    create_user("anna")

    def attempt(password: str, ip: str) -> str:
        with db.session(write=True) as session:
            try:
                auth.authenticate(session, "anna", password, ip=ip, now=clock())
            except ValidationFailed:
                return "refused"
            except LoginThrottled:
                return "throttled"
            return "ok"

    for number in range(THROTTLE_MAX_FAILURES - 1):
        assert attempt("typo-typo", f"10.0.0.{number}") == "refused"
    assert attempt(PASSWORD, "10.0.1.1") == "ok"
    for number in range(THROTTLE_MAX_FAILURES - 1):
        assert attempt("typo-typo", f"10.0.2.{number}") == "refused"
    assert attempt(PASSWORD, "10.0.1.1") == "ok"  # the user's count started again
    for _ in range(THROTTLE_MAX_FAILURES):
        attempt("typo-typo", "10.9.9.9")
    assert attempt(PASSWORD, "10.9.9.9") == "throttled"  # that address stays paused


def test_an_idle_session_ends_and_says_so(as_user, clock, settings):
    anna = as_user("anna")
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert anna.get("/").status_code == 200  # activity keeps it alive
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert anna.get("/").status_code == 200
    clock.advance(minutes=settings.session_idle_minutes + 1)
    response = anna.get("/")
    assert response.status_code == 303
    login = anna.get(response.headers["location"])
    assert "Your session has ended" in login.text


def test_a_session_ends_after_the_absolute_limit_however_active(as_user, clock, settings):
    anna = as_user("anna")
    step = settings.session_idle_minutes // 2
    for _ in range(settings.session_max_hours * 60 // step + 1):
        clock.advance(minutes=step)
        if anna.get("/").status_code != 200:
            break
    else:
        pytest.fail("the session never ended")
    assert anna.get("/account").status_code == 303


def test_logging_in_rotates_the_csrf_cookie(client, create_user):
    create_user("anna")
    client.get("/login")
    before = client.cookies["potok_csrf"]
    client.login("anna")
    assert client.cookies["potok_csrf"] != before


def test_the_session_cookie_is_http_only_and_same_site(client, create_user):
    create_user("anna")
    response = client.login("anna")
    cookie = next(
        value
        for name, value in response.headers.multi_items()
        if name == "set-cookie" and value.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


def test_the_session_token_is_not_stored_in_clear(client, create_user, db):
    create_user("anna")
    client.login("anna")
    token = client.cookies[SESSION_COOKIE]
    with db.session() as session:
        stored = session.scalars(select(UserSession.id)).one()
    assert token not in stored and len(stored) == 64


def _transactions(db, action):
    """How many transactions ``action`` opened on the app's engine."""
    opened = []

    def begin(connection):
        opened.append(connection)

    event.listen(db.engine, "begin", begin)
    try:
        action()
    finally:
        event.remove(db.engine, "begin", begin)
    return len(opened)


def test_a_page_looks_the_session_up_in_its_own_transaction(as_user, db, clock):
    anna = as_user("anna")
    assert anna.get("/account").status_code == 200
    # One transaction for the whole request: the session cookie is looked up in the view's.
    assert _transactions(db, lambda: anna.get("/account")) == 1
    # Once in a while the session's last-seen time is written: one more, writing.
    clock.advance(seconds=auth.LAST_SEEN_RESOLUTION.total_seconds() * 2)
    assert _transactions(db, lambda: anna.get("/account")) == 2
    with db.session() as session:
        seen = session.scalars(select(UserSession.last_seen_at)).one()
    assert seen == clock()


def test_an_unknown_page_still_knows_who_is_asking(as_user, db):
    anna = as_user("anna")
    with db.session(write=True) as session:
        session.execute(update(User).values(language="ru"))
    response = anna.get("/no-such-page")
    assert response.status_code == 404
    assert 'lang="ru"' in response.text
