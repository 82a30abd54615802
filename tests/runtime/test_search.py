"""Search across streams (``/search``): only readable documents of visible streams, never
the trash, grouped by stream, and no failure whatever is typed."""

from __future__ import annotations

import re

import pytest

from tests.builders import field, stream
from tests.runtime.test_screens import card_id, register, role_user

CLIENT_GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "viewer", "read": "all"},
        {"role": "creator", "create": True},
    ],
    "fields": [{"role": "viewer", "field": "name", "access": "hidden"}],
}


@pytest.fixture
def configured(publish_clients):
    publish_clients(
        CLIENT_GRANTS,
        # No grants: only administrators see this stream.
        stream(
            "works",
            field("subject", required=True, searchable=True),
            numbering={"template": "W-{counter}"},
        ),
    )


def hits(html: str) -> list[str]:
    return re.findall(r'<li><a href="(/s/\w+/\d+)">', html)


def test_results_are_grouped_by_stream_with_links_to_cards(admin, configured):
    client = card_id(register(admin, {"name": "Romashka Trade"}))
    work = card_id(register(admin, {"subject": "Romashka audit"}, "works"))
    other = card_id(register(admin, {"name": "Vasilek"}))
    page = admin.get("/search?q=roma")
    assert page.status_code == 200
    assert hits(page.text) == [f"/s/clients/{client}", f"/s/works/{work}"]
    assert "CL-0001 · Romashka Trade" in page.text and "W-1 · Romashka audit" in page.text
    assert "Vasilek" not in page.text
    assert hits(admin.get("/search?q=CL-0002").text) == [f"/s/clients/{other}"]


def test_only_the_first_hits_with_a_link_to_all_of_them(admin, configured):
    for number in range(7):
        register(admin, {"name": f"Romashka {number}"})
    page = admin.get("/search?q=Romashka").text
    assert len(hits(page)) == 5
    assert "Romashka 6" in page and "Romashka 1" not in page  # newest first
    assert 'href="/s/clients/?q=Romashka">All 7 results in Clients</a>' in page
    few = admin.get("/search?q=Romashka%206").text
    assert len(hits(few)) == 1 and "results in" not in few


def test_documents_in_the_trash_are_not_found(admin, configured):
    doc = card_id(register(admin, {"name": "Romashka"}))
    admin.submit(f"/s/clients/{doc}/delete")
    page = admin.get("/search?q=roma").text
    assert hits(page) == [] and "Nothing found." in page


def test_a_user_finds_only_what_they_may_read(admin, as_user, create_user, db, clock, configured):
    anna = role_user(as_user, create_user, db, clock, "anna", "manager")
    boris = role_user(as_user, create_user, db, clock, "boris", "manager")
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    creator = role_user(as_user, create_user, db, clock, "cyril", "creator")
    stranger = as_user("stranger")
    annas = card_id(register(anna, {"name": "Romashka of Anna"}))
    register(admin, {"subject": "Romashka work"}, "works")
    mine = anna.get("/search?q=roma").text
    assert hits(mine) == [f"/s/clients/{annas}"]
    assert "/s/works/" not in mine and "Works" not in mine  # a stream she cannot see
    assert hits(boris.get("/search?q=roma").text) == []
    assert hits(boris.get("/search?q=CL-0001").text) == []
    assert hits(creator.get("/search?q=roma").text) == []  # may register, not read
    assert hits(stranger.get("/search?q=roma").text) == []
    seen = viewer.get("/search?q=CL-0001").text
    assert hits(seen) == [f"/s/clients/{annas}"]
    assert "Romashka of Anna" not in seen  # the title field is hidden from viewers
    assert "Romashka" not in viewer.get("/search?q=roma").text


def test_an_empty_query_shows_only_the_form(admin, configured):
    register(admin, {"name": "Romashka"})
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        page = admin.get(url)
        assert page.status_code == 200
        assert 'name="q"' in page.text and hits(page.text) == []
        assert "Nothing found." not in page.text


def test_search_needs_a_login(client, configured):
    response = client.get("/search?q=roma")
    assert response.status_code in (302, 303, 401)
    assert "Romashka" not in response.text


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"roma',
        "roma*",
        "a OR b",
        "NOT (x",
        "a & b | !c",
        "x:* <-> y",
        "%_\\",
        "ёлка 東京 ١٢٣",
        "%00",
        "%F0%9F%98%80",
        "_",
        "q" * 10_000,
        " ".join(["roma"] * 500),
    ],
    ids=[
        "quote",
        "open-quote",
        "star",
        "or",
        "not",
        "tsquery",
        "phrase",
        "like",
        "unicode",
        "nul",
        "emoji",
        "underscore",
        "10k",
        "many-words",
    ],
)
def test_odd_queries_never_fail(admin, configured, query):
    register(admin, {"name": "Romashka"})
    response = admin.get(f"/search?q={query}")
    assert response.status_code == 200
    # The search page's box and the top bar's: the query never breaks out of its attribute.
    assert response.text.count('name="q"') == 2
    assert response.text.count('id="global-search"') == 1


def test_a_long_query_is_cut_and_still_finds(admin, configured):
    register(admin, {"name": "Romashka"})
    page = admin.get("/search?q=roma" + " " * 300 + "zzz").text
    assert hits(page) == ["/s/clients/1"]  # the words past the limit are dropped


def test_the_page_speaks_russian(admin, configured):
    register(admin, {"name": "Romashka"})
    admin.submit("/language", {"language": "ru", "next": "/"})
    found = admin.get("/search?q=roma").text
    assert '<html lang="ru">' in found and hits(found) == ["/s/clients/1"]
    assert "Ничего не найдено." in admin.get("/search?q=zzz").text


def test_a_hidden_searchable_field_never_answers_a_search(
    admin, as_user, create_user, db, clock, publisher
):
    publisher.publish(
        stream(
            "clients",
            field("name", required=True, searchable=True, in_list=True),
            field("notes", searchable=True),
            numbering={"template": "CL-{counter:4}"},
            access={
                "grants": [{"role": "viewer", "read": "all"}],
                "fields": [{"role": "viewer", "field": "notes", "access": "hidden"}],
            },
        )
    )
    doc = card_id(register(admin, {"name": "Вектор", "notes": "Должник Сидоров"}))
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    card = f"/s/clients/{doc}"
    assert hits(admin.get("/search?q=сидор").text) == [card]
    assert hits(viewer.get("/search?q=вектор").text) == [card]
    assert hits(viewer.get("/search?q=ВЕКТ").text) == [card]  # case folds, Cyrillic too
    for query in ("сидор", "должник", "вектор сидоров"):  # words only in the hidden field
        assert hits(viewer.get(f"/search?q={query}").text) == [], query
        assert viewer.get(f"/s/clients/?q={query}").text.count(card) == 0, query
    assert viewer.get("/s/clients/?q=вектор").text.count(f'href="{card}"') == 1
