"""A stream's trash (``/s/<stream>/trash``): what is in it, for whom, found how, restored
how, and paged without losing or repeating a document."""

from __future__ import annotations

import re

import pytest

from tests.runtime.test_screens import card_id, register, role_user

GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "clerk", "read": "own", "edit": "own", "delete": "own", "create": True},
        {"role": "head", "read": "all", "edit": "all", "delete": "all", "create": True},
    ],
}


@pytest.fixture
def configured(publish_clients):
    publish_clients(GRANTS)


def trash_rows(html: str) -> list[str]:
    """The numbers shown in the trash, in order."""
    return re.findall(r'data-label="Number">([^<]+)</td>', html)


def test_the_trash_lists_deleted_documents_newest_first_with_who_and_when(admin, clock, configured):
    first = card_id(register(admin, {"name": "Romashka"}))
    second = card_id(register(admin, {"name": "Vasilek"}))
    register(admin, {"name": "Kept"})
    assert admin.submit(f"/s/clients/{first}/delete").status_code == 303
    clock.advance(minutes=5)
    assert admin.submit(f"/s/clients/{second}/delete").status_code == 303
    page = admin.get("/s/clients/trash")
    assert page.status_code == 200
    assert trash_rows(page.text) == ["CL-0002", "CL-0001"]
    assert "Romashka" in page.text and "Vasilek" in page.text and "Kept" not in page.text
    assert page.text.count(">Boss</td>") == 2  # who deleted: the user's full name
    assert "Documents: 2" in page.text
    restore = f'action="/s/clients/{first}/restore"'
    assert restore in page.text
    form = page.text[page.text.index(restore) :]
    assert 'name="csrf_token"' in form[: form.index("</form>")]


def test_restoring_from_the_trash_brings_the_document_back(admin, configured):
    doc = card_id(register(admin, {"name": "Temporary"}))
    admin.submit(f"/s/clients/{doc}/delete")
    assert admin.submit(f"/s/clients/{doc}/restore").status_code == 303
    assert admin.get(f"/s/clients/{doc}").status_code == 200
    assert "Temporary" not in admin.get("/s/clients/trash").text
    assert "The trash is empty." in admin.get("/s/clients/trash").text


def test_each_user_sees_only_what_they_may_delete(
    admin, as_user, create_user, db, clock, configured
):
    clara = role_user(as_user, create_user, db, clock, "clara", "clerk")
    carl = role_user(as_user, create_user, db, clock, "carl", "clerk")
    head = role_user(as_user, create_user, db, clock, "hugo", "head")
    manager = role_user(as_user, create_user, db, clock, "mila", "manager")
    stranger = as_user("stranger")
    claras = card_id(register(clara, {"name": "Client of Clara"}))
    carls = card_id(register(carl, {"name": "Client of Carl"}))
    assert clara.submit(f"/s/clients/{claras}/delete").status_code == 303
    assert carl.submit(f"/s/clients/{carls}/delete").status_code == 303
    mine = clara.get("/s/clients/trash").text
    assert "Client of Clara" in mine and "Client of Carl" not in mine
    assert f"/s/clients/{carls}/restore" not in mine
    assert clara.submit(f"/s/clients/{carls}/restore").status_code == 404
    everything = head.get("/s/clients/trash").text
    assert "Client of Clara" in everything and "Client of Carl" in everything
    assert manager.get("/s/clients/trash").status_code == 403  # sees the stream, may not delete
    assert stranger.get("/s/clients/trash").status_code == 404  # does not see the stream
    assert admin.get("/s/ghosts/trash").status_code == 404


def test_search_in_the_trash_by_words_and_number(admin, configured):
    for name in ("Romashka Trade", "Vasilek", "Romashka Kept"):
        register(admin, {"name": name})
    admin.submit("/s/clients/1/delete")
    admin.submit("/s/clients/2/delete")
    by_word = admin.get("/s/clients/trash?q=roma").text
    assert trash_rows(by_word) == ["CL-0001"]
    assert "Romashka Kept" not in by_word  # a match outside the trash is not in it
    assert trash_rows(admin.get("/s/clients/trash?q=CL-0002").text) == ["CL-0002"]
    assert "Nothing found." in admin.get("/s/clients/trash?q=zzz").text
    fragment = admin.get("/s/clients/trash?q=vas", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Vasilek" in fragment.text


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "roma*",
        "a OR b",
        "NOT (x",
        "a & b | !c",
        "x:*",
        "%_\\",
        "ёлка 東京",
        "%00",
        "q" * 10_000,
    ],
    ids=["quote", "star", "or", "not", "tsquery", "prefix", "like", "unicode", "nul", "10k"],
)
def test_odd_searches_never_fail(admin, configured, query):
    doc = card_id(register(admin, {"name": "Romashka"}))
    admin.submit(f"/s/clients/{doc}/delete")
    response = admin.get(f"/s/clients/trash?q={query}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "token", ["junk", "W3RydWUsIDFd", "eyJhIjogMX0", "WyJ4IiwgMV0", "WzEsIDJd", "%00"]
)
def test_a_bad_page_token_starts_from_the_beginning(admin, configured, token):
    doc = card_id(register(admin, {"name": "Romashka"}))
    admin.submit(f"/s/clients/{doc}/delete")
    response = admin.get(f"/s/clients/trash?after={token}")
    assert response.status_code == 200 and "Romashka" in response.text


def test_pages_cover_every_trashed_document_once(admin, clock, configured):
    ids = [card_id(register(admin, {"name": f"Client {n:03d}"})) for n in range(56)]
    for index, doc in enumerate(ids):
        if index % 3 == 0:  # some deleted at the same moment: the id breaks the tie
            clock.advance(seconds=1)
        assert admin.submit(f"/s/clients/{doc}/delete").status_code == 303
    seen, url, pages = [], "/s/clients/trash", 0
    while url:
        page = admin.get(url).text
        pages += 1
        seen += re.findall(r">Client (\d{3})<", page)
        more = re.search(r'href="(/s/clients/trash\?[^"]*after=[^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else ""
    assert pages == 2
    assert seen == [f"{n:03d}" for n in reversed(range(56))]


def test_the_trash_speaks_russian(admin, configured):
    doc = card_id(register(admin, {"name": "Romashka"}))
    admin.submit(f"/s/clients/{doc}/delete")
    admin.submit("/language", {"language": "ru", "next": "/"})
    page = admin.get("/s/clients/trash").text
    assert '<html lang="ru">' in page and 'data-label="Номер">CL-0001' in page
