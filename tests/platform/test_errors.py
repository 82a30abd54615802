"""Error pages: the same hierarchy rendered as a page, an htmx fragment or JSON, in the
user's language, for every status the issue lists — and nothing changed."""

import pytest
from sqlalchemy import select
from starlette.routing import Route

from potok.app import create_app, services_of
from potok.errors import Conflict
from potok.platform.models import User
from potok.platform.web.context import Ctx, endpoint
from tests.conftest import SECRET_KEY, Client


def test_an_unknown_url_is_a_404_page_in_the_layout(admin):
    response = admin.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'action="/logout"' in response.text  # the layout with navigation
    assert "Go to the home page" in response.text


def test_an_unknown_url_for_an_anonymous_visitor(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_errors_come_as_json_when_json_is_asked_for(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {
        "error": "Page not found",
        "detail": "There is nothing at this address. It may have been moved or deleted.",
        "status": 404,
    }


def test_errors_come_as_a_fragment_for_htmx(admin):
    response = admin.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#messages"
    assert "<html" not in response.text
    assert "Page not found" in response.text


def test_a_wrong_method_is_405(admin):
    response = admin.submit("/healthz")
    assert response.status_code == 405
    assert "does not accept that kind of request" in response.text


def test_an_id_that_is_not_a_number_is_a_404(admin):
    assert admin.get("/admin/users/abc").status_code == 404
    assert admin.get("/admin/users/999999").status_code == 404


def test_errors_are_in_russian_for_a_russian_user(admin):
    admin.submit("/language", {"language": "ru", "next": "/"})
    response = admin.get("/no/such/page")
    assert response.status_code == 404
    assert '<html lang="ru">' in response.text
    assert "Page not found" not in response.text


def test_an_oversize_body_is_413_and_nothing_changes(settings, clock, create_user, db):
    app = create_app(settings.replace(max_request_bytes=4096), clock=clock)
    with Client(app, follow_redirects=False) as client:
        create_user("anna")
        assert client.login("anna").status_code == 303
        response = client.submit("/account", {"full_name": "x" * 5000})
        assert response.status_code == 413
        assert "larger than the 4 KB this server accepts" in response.text
        as_json = client.post(
            "/account",
            content=b"{" + b" " * 5000 + b"}",
            headers={"Accept": "application/json", "Content-Type": "application/json"},
        )
        assert as_json.status_code == 413
        assert as_json.json()["status"] == 413
    with db.session() as session:
        assert session.scalar(select(User.full_name).where(User.username == "anna")) == "Anna"
    services_of(app).db.dispose()


def test_a_streamed_body_over_the_limit_is_413(settings, clock):
    app = create_app(settings.replace(max_request_bytes=4096), clock=clock)

    def chunks():
        for _ in range(10):
            yield b"a" * 1024

    with Client(app, follow_redirects=False) as client:
        response = client.post(
            "/login",
            content=chunks(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRF-Token": client.csrf_token,
            },
        )
    assert response.status_code == 413
    services_of(app).db.dispose()


def test_a_database_that_does_not_answer(tmp_path, clock):
    from potok.settings import Settings

    settings = Settings.defaults(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        secret_key=SECRET_KEY,
        scheduler=False,
    )
    app = create_app(settings, clock=clock)
    with Client(app, follow_redirects=False) as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        page = client.submit("/login", {"username": "anna", "password": "whatever-it-is"})
        assert page.status_code == 503
        assert "The database is not answering" in page.text
        client.cookies.set("potok_session", "some-old-session")
        again = client.get("/")
        assert again.status_code == 503
        client.cookies.set("potok_lang", "ru")
        russian = client.get("/")
        assert russian.status_code == 503
        assert '<html lang="ru">' in russian.text
    services_of(app).db.dispose()


def test_an_unexpected_error_is_a_500_page_without_details(settings, clock):
    app = create_app(settings, clock=clock)

    @endpoint(login=False)
    def broken(ctx: Ctx):
        raise RuntimeError("secret internal detail")

    app.router.routes.append(Route("/broken", broken))
    with Client(app, follow_redirects=False, raise_server_exceptions=False) as client:
        response = client.get("/broken")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "secret internal detail" not in response.text
    services_of(app).db.dispose()


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413, 429, 503])
def test_every_status_has_a_page_title(settings, clock, status):
    from potok.errors import STATUS_CLASSES

    app = create_app(settings, clock=clock)

    @endpoint(login=False)
    def failing(ctx: Ctx):
        raise STATUS_CLASSES[status]()

    app.router.routes.append(Route("/fail", failing))
    with Client(app, follow_redirects=False) as client:
        response = client.get("/fail")
    assert response.status_code == status
    assert f'<p class="error-code">{status}</p>' in response.text
    services_of(app).db.dispose()


def test_a_view_error_rolls_back_what_the_view_wrote(settings, clock, create_user, db):
    app = create_app(settings, clock=clock)

    @endpoint(login=False, write=True)
    def half(ctx: Ctx):
        user = ctx.db.scalar(select(User).where(User.username == "anna"))
        user.full_name = "Half Written"
        ctx.db.flush()
        raise Conflict()

    app.router.routes.append(Route("/half", half))
    create_user("anna")
    with Client(app, follow_redirects=False) as client:
        assert client.get("/half").status_code == 409
    with db.session() as session:
        assert session.scalar(select(User.full_name).where(User.username == "anna")) == "Anna"
    services_of(app).db.dispose()
