import re

import pytest


@pytest.mark.parametrize("path", ["/login", "/healthz", "/no-such-page"])
def test_security_headers_are_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"


def test_pages_have_no_inline_scripts_or_styles(admin):
    for path in ("/login", "/", "/admin/", "/admin/users", "/account"):
        html = admin.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert " style=" not in html, path
        assert " onclick=" not in html.lower(), path


def test_static_files_are_linked_by_content_hash_and_cached_for_long(client):
    html = client.get("/login").text
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any(link.endswith(".js") and "htmx" in link for link in links)
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", link), link
        response = client.get(link)
        assert response.status_code == 200, link
        assert "immutable" in response.headers["cache-control"]
        assert "max-age=315360000" in response.headers["cache-control"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers.get("etag") or response.headers.get("last-modified")


def test_static_files_answer_conditional_requests(client):
    first = client.get("/static/css/potok.css")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/css")
    assert "immutable" not in first.headers["cache-control"]
    again = client.get("/static/css/potok.css", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_vendored_files_carry_their_licence(client):
    assert client.get("/static/vendor/htmx/LICENSE").status_code == 200
    assert client.get("/static/vendor/../settings.py").status_code == 404
