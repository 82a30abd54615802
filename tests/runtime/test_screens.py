"""The document screens through the web layer: list, register, card, edit, conflict,
history, trash, search, the link picker — and who may see what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from potok.metadata.dictionaries import items
from potok.platform.models import Role
from tests.builders import Publisher, dictionary, field, stream
from tests.helpers import follow, list_count


def clients_stream(**extra):
    return stream(
        "clients",
        field("name", required=True, searchable=True, in_list=True, sortable=True),
        field("inn", "requisite", requisite="inn", unique=True, in_list=True),
        field("industry", "dictionary", dictionary="industries", in_list=True),
        field("manager", "user"),
        field("employees", "integer", min=0),
        field("notes", "long_text", visible_when={">": [{"var": "employees"}, 100]}),
        field(
            "contacts", "table", columns=[field("person", required=True), field("phone", "phone")]
        ),
        numbering={"template": "CL-{counter:4}"},
        owner_field="manager",
        **extra,
    )


def works_stream():
    return stream(
        "works",
        field("subject", required=True, in_list=True, searchable=True),
        field("client", "link", stream="clients", in_list=True),
        numbering={"template": "W-{counter}"},
    )


GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "head", "read": "all", "edit": "all", "delete": "all", "create": True},
        {"role": "viewer", "read": "all"},
    ],
    "fields": [{"role": "viewer", "field": "inn", "access": "hidden"}],
}


@pytest.fixture
def configured(publisher: Publisher, db):
    publisher.publish(
        dictionary("industries", "retail", "it"), clients_stream(access=GRANTS), works_stream()
    )
    with db.session() as session:
        return {item.code: item.id for item in items(session, "industries")}


def role_user(as_user, create_user, db, clock, name: str, role: str):
    """A logged-in client for a user holding ``role``."""
    with db.session(write=True) as session:
        if session.scalar(select(Role).where(Role.key == role)) is None:
            session.add(
                Role(
                    key=role,
                    labels={"en": role, "ru": role},
                    description="",
                    capabilities=[],
                    created_at=clock(),
                    updated_at=clock(),
                )
            )
    client = as_user(name)
    with db.session(write=True) as session:
        from potok.platform.models import User

        user = session.scalar(select(User).where(User.username == name))
        user.roles = [session.scalar(select(Role).where(Role.key == role))]
    return client


def register(client, data, stream_key="clients"):
    return client.submit(f"/s/{stream_key}/new", data)


def card_id(response) -> int:
    return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])


def test_admin_registers_views_and_lists_a_client(admin, configured):
    page = admin.get("/s/clients/new")
    assert page.status_code == 200
    assert 'name="inn"' in page.text
    response = register(
        admin,
        {
            "name": "Romashka",
            "inn": "7707083893",
            "industry": str(configured["retail"]),
            "employees": "12",
            "contacts.__present": "1",
            "contacts.0.person": "Ivan",
            "contacts.0.phone": "+7 495 000-00-00",
        },
    )
    assert response.status_code == 303
    card = follow(admin, response)
    assert "Document CL-0001 is registered." in card.text
    assert "Romashka" in card.text and "Retail" in card.text and "Ivan" in card.text
    listing = admin.get("/s/clients/")
    assert "CL-0001" in listing.text
    assert list_count(admin, listing) == "Documents: 1"


def test_bad_input_is_refused_with_messages_and_nothing_saved(admin, configured):
    response = register(
        admin,
        {
            "name": "",
            "inn": "7707083894",
            "employees": "-3",
            "industry": "999999",
            "contacts.__present": "1",
            "contacts.0.phone": "+7 1234567",
        },
    )
    assert response.status_code == 400
    for message in ("Fill in this field.", "Must be at least 0.", "check"):
        assert message in response.text
    assert list_count(admin, admin.get("/s/clients/")) == "Documents: 0"


def test_references_and_uniqueness_are_checked_on_the_server(admin, configured):
    assert register(admin, {"name": "A", "inn": "7707083893"}).status_code == 303
    again = register(admin, {"name": "B", "inn": "7707083893"})
    assert again.status_code == 400
    assert "already used by document CL-0001" in again.text
    bad_dictionary = register(admin, {"name": "C", "industry": "424242"})
    assert bad_dictionary.status_code == 400
    bad_link = register(admin, {"subject": "Call", "client": "999"}, "works")
    assert bad_link.status_code == 400
    assert "Choose a document from the list." in bad_link.text


def test_editing_keeps_a_history(admin, configured):
    doc = card_id(register(admin, {"name": "A", "employees": "5"}))
    form = admin.get(f"/s/clients/{doc}/edit")
    version = re.search(r'name="_version" value="(\d+)"', form.text).group(1)
    saved = admin.submit(
        f"/s/clients/{doc}/edit", {"name": "A2", "employees": "7", "_version": version}
    )
    assert saved.status_code == 303
    history = admin.get(f"/s/clients/{doc}/history").text
    assert "A → A2" in history and "5 → 7" in history


def test_a_conflict_keeps_my_edits_and_shows_theirs(
    admin, as_user, create_user, db, clock, configured
):
    doc = card_id(register(admin, {"name": "Original"}))
    other = role_user(as_user, create_user, db, clock, "head2", "head")
    assert (
        other.submit(f"/s/clients/{doc}/edit", {"name": "Theirs", "_version": "1"}).status_code
        == 303
    )
    mine = admin.submit(f"/s/clients/{doc}/edit", {"name": "Mine", "_version": "1"})
    assert mine.status_code == 409
    assert 'value="Mine"' in mine.text  # my edits are still in the form
    assert "Theirs" in mine.text  # their version is shown
    assert 'name="_version" value="2"' in mine.text  # saving again replaces theirs knowingly
    assert "Theirs" in admin.get(f"/s/clients/{doc}").text


def test_trash_and_restore(admin, configured):
    doc = card_id(register(admin, {"name": "Temporary"}))
    assert admin.submit(f"/s/clients/{doc}/delete").status_code == 303
    assert "Temporary" not in admin.get("/s/clients/").text
    # Those who may delete still open the card, to restore it; nobody edits it.
    trashed = admin.get(f"/s/clients/{doc}")
    assert trashed.status_code == 200
    assert "This document is in the trash." in trashed.text and "restore-form" in trashed.text
    assert admin.get(f"/s/clients/{doc}/edit").status_code == 404
    assert admin.submit(f"/s/clients/{doc}/restore").status_code == 303
    restored = admin.get(f"/s/clients/{doc}")
    assert restored.status_code == 200 and "restore-form" not in restored.text


def test_a_trashed_card_is_404_for_those_who_may_not_delete(
    admin, configured, as_user, create_user, db, clock
):
    doc = card_id(register(admin, {"name": "Temporary"}))
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    assert viewer.get(f"/s/clients/{doc}").status_code == 200
    admin.submit(f"/s/clients/{doc}/delete")
    assert viewer.get(f"/s/clients/{doc}").status_code == 404


def test_search_and_the_link_picker(admin, configured):
    register(admin, {"name": "Romashka Trade", "inn": "7707083893"})
    register(admin, {"name": "Vasilek"})
    found = admin.get("/s/clients/?q=roma").text
    assert "Romashka Trade" in found and "Vasilek" not in found
    by_number = admin.get("/s/clients/?q=CL-0002").text
    assert "Vasilek" in by_number and "Romashka" not in by_number
    picker = admin.get("/s/clients/pick?q=vasi&field=client", headers={"HX-Request": "true"})
    assert 'data-pick-label="CL-0002 · Vasilek"' in picker.text
    assert "<html" not in picker.text


def test_keyset_pages_cover_every_document_once(admin, configured):
    for number in range(120):
        register(admin, {"name": f"Client {number:03d}", "employees": str(number % 7)})
    seen, url = [], "/s/clients/?sort=employees&dir=asc"
    while url:
        page = admin.get(url).text
        seen += re.findall(r">Client (\d{3})<", page)
        more = re.search(r'href="(/s/clients/\?[^"]*after=[^"]+)"', page)
        url = more.group(1).replace("&amp;", "&") if more else ""
    assert sorted(seen) == [f"{n:03d}" for n in range(120)]


def test_permissions_scope_roles_and_hidden_fields(
    admin, as_user, create_user, db, clock, configured
):
    anna = role_user(as_user, create_user, db, clock, "anna", "manager")
    boris = role_user(as_user, create_user, db, clock, "boris", "manager")
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    stranger = as_user("stranger")
    annas = card_id(register(anna, {"name": "Anna's client", "inn": "7707083893"}))
    assert anna.get(f"/s/clients/{annas}").status_code == 200
    assert boris.get(f"/s/clients/{annas}").status_code == 404  # not his: as if absent
    assert boris.get(f"/s/clients/{annas}/edit").status_code == 404
    assert boris.submit(f"/s/clients/{annas}/delete").status_code == 404
    assert "Anna's client" not in boris.get("/s/clients/").text
    assert "Anna's client" not in boris.get("/s/clients/pick?q=anna").text
    card = viewer.get(f"/s/clients/{annas}")
    assert card.status_code == 200 and "7707083893" not in card.text  # INN hidden for viewers
    assert viewer.get(f"/s/clients/{annas}/edit").status_code == 403
    assert viewer.get("/s/clients/new").status_code == 403
    assert anna.submit(f"/s/clients/{annas}/delete").status_code == 403
    assert stranger.get("/s/clients/").status_code == 404
    assert "/s/clients/" not in stranger.get("/").text
    assert 'href="/s/clients/"' in anna.get("/").text


def test_an_unknown_stream_or_document_is_404(admin, configured):
    assert admin.get("/s/ghosts/").status_code == 404
    assert admin.get("/s/clients/424242").status_code == 404
    assert admin.get("/s/clients/abc").status_code == 404


def test_control_characters_in_a_search_never_fail(admin, configured):
    register(admin, {"name": "Romashka"})
    for query in ("%00", "a%00b", "%01%02", "roma%00"):
        assert admin.get(f"/s/clients/?q={query}").status_code == 200
        assert admin.get(f"/s/clients/pick?q={query}&field=x").status_code == 200
