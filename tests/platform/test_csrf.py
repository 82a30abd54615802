"""Every unsafe request needs the CSRF token of its cookie; a refusal changes nothing."""

import pytest
from sqlalchemy import select

from potok.platform.models import User


def full_name(db, username):
    with db.session() as session:
        return session.scalar(select(User.full_name).where(User.username == username))


@pytest.fixture
def anna(as_user):
    return as_user("anna")


def profile(name):
    return {"full_name": name, "email": "anna@example.com", "language": ""}


def test_a_form_with_the_right_token_is_accepted(anna, db):
    assert anna.submit("/account", profile("Anna Petrova")).status_code == 303
    assert full_name(db, "anna") == "Anna Petrova"


@pytest.mark.parametrize(
    "token",
    [None, "", "forged-token", "A" * 43],
    ids=["missing", "empty", "forged", "well-formed but wrong"],
)
def test_a_missing_or_wrong_token_is_refused_and_nothing_changes(anna, db, token):
    data = profile("Mallory")
    if token is not None:
        data["csrf_token"] = token
    response = anna.post("/account", data=data)
    assert response.status_code == 403
    assert "The form has expired" in response.text
    assert full_name(db, "anna") == "Anna"


def test_the_refusal_page_is_in_the_users_language(anna, db):
    anna.submit("/language", {"language": "ru", "next": "/"})
    response = anna.post("/account", data=profile("Mallory"))
    assert response.status_code == 403
    assert '<html lang="ru">' in response.text


def test_htmx_sends_the_token_in_a_header(anna, db):
    response = anna.post(
        "/account",
        data=profile("Anna Header"),
        headers={"X-CSRF-Token": anna.csrf_token, "HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/account"
    assert full_name(db, "anna") == "Anna Header"


def test_a_wrong_header_is_refused_as_an_htmx_fragment(anna, db):
    response = anna.post(
        "/account", data=profile("Mallory"), headers={"X-CSRF-Token": "x", "HX-Request": "true"}
    )
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#messages"
    assert "<html" not in response.text
    assert full_name(db, "anna") == "Anna"


def test_a_token_from_another_browser_does_not_fit(anna, make_client, db):
    other = make_client()
    response = anna.post("/account", data={**profile("Mallory"), "csrf_token": other.csrf_token})
    assert response.status_code == 403
    assert full_name(db, "anna") == "Anna"


def test_a_request_without_any_cookie_is_refused(client, create_user):
    create_user("anna")
    response = client.post("/login", data={"username": "anna", "password": "x" * 10})
    assert response.status_code == 403


def test_multipart_forms_carry_the_token_first(anna, db):
    files = {"attachment": ("note.txt", b"hello", "text/plain")}
    accepted = anna.post(
        "/account", data={"csrf_token": anna.csrf_token, **profile("Anna Multipart")}, files=files
    )
    assert accepted.status_code == 303
    assert full_name(db, "anna") == "Anna Multipart"
    refused = anna.post("/account", data=profile("Mallory"), files=files)
    assert refused.status_code == 403
    assert full_name(db, "anna") == "Anna Multipart"


def test_a_file_before_the_token_is_refused(anna, db):
    boundary = "potokboundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="upload"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{anna.csrf_token}\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="full_name"\r\n\r\nMallory\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    response = anna.post(
        "/account",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 403
    assert full_name(db, "anna") == "Anna"


def test_json_bodies_need_the_header(anna):
    response = anna.post("/account", json={"full_name": "Mallory"})
    assert response.status_code == 403


def test_safe_methods_need_no_token(anna):
    assert anna.get("/account").status_code == 200
    assert anna.head("/healthz").status_code in (200, 405)
