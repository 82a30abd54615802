"""Every runtime URL refuses a user without the right, whatever the method: the routes are
read from the application itself, so a URL added later is covered without touching this test.

- a user with no grant on the stream: 404 everywhere (the stream does not exist for them);
- a manager who may read only their own clients: 404 for another manager's client;
- a viewer who may read everything but change nothing: every unsafe request is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from starlette.routing import BaseRoute, Mount, Route

from tests.runtime.test_screens import card_id, configured, role_user  # noqa: F401 (fixture)

PARAM = re.compile(r"{(\w+)(?::\w+)?}")
READ_ONLY_OK = {200, 404, 403}
# What a reader may do without the right to edit: nothing else that a POST does.
READER_ACTIONS = ("/comments", "/filters", "/columns")  # personal: comment, filter, columns


def runtime_routes(app) -> Iterator[tuple[str, Route]]:
    """(path template, route) for every route under the runtime's /s mount."""

    def walk(routes: list[BaseRoute], prefix: str) -> Iterator[tuple[str, Route]]:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                yield prefix + route.path, route

    for path, route in walk(list(app.routes), ""):
        if path.startswith("/s/"):
            yield path, route


def url_for(path: str, stream: str, doc_id: int) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "stream":
            return stream
        if name == "doc_id":
            return str(doc_id)
        return "1"

    return PARAM.sub(fill, path)


@pytest.fixture
def world(admin, request, as_user, create_user, db, clock):
    request.getfixturevalue("configured")
    owner = role_user(as_user, create_user, db, clock, "olga", "manager")
    theirs = card_id(owner.submit("/s/clients/new", {"name": "Olga's client"}))
    return {"theirs": theirs, "owner": owner}


def requests(
    app, stream: str, doc_id: int, *, documents_only: bool = False
) -> Iterator[tuple[str, str]]:
    for path, route in runtime_routes(app):
        if documents_only and "{doc_id" not in path:
            continue
        url = url_for(path, stream, doc_id)
        for method in sorted(route.methods or {"GET"}):
            if method in ("HEAD", "OPTIONS"):
                continue
            yield method, url


def call(client, method: str, url: str):
    if method == "GET":
        return client.get(url)
    return client.request(method, url, data={"csrf_token": client.csrf_token})


def test_the_matrix_covers_every_kind_of_runtime_url(app):
    paths = {path for path, _ in runtime_routes(app)}
    for expected in (
        "/s/{stream}/",
        "/s/{stream}/new",
        "/s/{stream}/{doc_id:int}",
        "/s/{stream}/{doc_id:int}/edit",
        "/s/{stream}/{doc_id:int}/history",
    ):
        assert expected in paths


def test_a_user_without_a_grant_gets_404_everywhere(app, world, as_user, create_user, db, clock):
    stranger = role_user(as_user, create_user, db, clock, "sam", "nobody")
    for method, url in requests(app, "clients", world["theirs"]):
        response = call(stranger, method, url)
        assert response.status_code == 404, (method, url, response.status_code)


def test_another_managers_document_is_404_on_every_document_url(
    app, world, as_user, create_user, db, clock
):
    other = role_user(as_user, create_user, db, clock, "mark", "manager")
    for method, url in requests(app, "clients", world["theirs"], documents_only=True):
        response = call(other, method, url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Olga" not in response.text


def test_a_reader_cannot_change_anything(app, world, as_user, create_user, db, clock):
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    for method, url in requests(app, "clients", world["theirs"]):
        response = call(viewer, method, url)
        if method == "GET":
            assert response.status_code in READ_ONLY_OK, (method, url, response.status_code)
            if url.endswith(("/new", "/edit")):
                assert response.status_code == 403, (method, url)
        elif url.endswith(READER_ACTIONS):
            assert response.status_code < 500, (method, url, response.status_code)
        else:
            assert response.status_code in (403, 404), (method, url, response.status_code)
    assert viewer.get(f"/s/clients/{world['theirs']}").status_code == 200


def test_forged_ids_in_urls_never_fail_with_500(app, world):
    for doc_id in (0, 2**31, 10**30):
        for method, url in requests(app, "clients", doc_id):
            response = call(world["owner"], method, url)
            assert response.status_code < 500, (method, url, response.status_code)
