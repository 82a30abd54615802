"""The card's links panel: documents linking here by stream with counts, "create linked"
buttons, ad-hoc links both ways with their history, and sharing a document — each checked
against the user's rights."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from potok.platform.models import Role, User
from potok.runtime.tables import DocumentLink, HistoryEntry, Share
from tests.builders import Publisher, field, stream
from tests.helpers import count, follow

HTMX = {"HX-Request": "true"}

GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "viewer", "read": "all"},
        {"role": "clerk", "read": "all", "edit": "all", "create": True},
    ]
}


def streams(copy_on_base: bool = True):
    return (
        stream(
            "clients",
            field("name", required=True, searchable=True),
            numbering={"template": "CL-{counter:4}"},
            access=GRANTS,
        ),
        stream(
            "works",
            field("subject", required=True, searchable=True, copy_on_base=copy_on_base),
            field("client", "link", stream="clients"),
            numbering={"template": "W-{counter}"},
            access=GRANTS,
        ),
        stream(
            "contracts",
            field("title", required=True, searchable=True),
            field("parties", "links", stream="clients"),
            numbering={"template": "C-{counter}"},
            access=GRANTS,
        ),
    )


@pytest.fixture
def configured(publisher: Publisher):
    publisher.publish(*streams())


def give_role(db, clock, name: str, role: str) -> int:
    with db.session(write=True) as session:
        found = session.scalar(select(Role).where(Role.key == role))
        if found is None:
            found = Role(
                key=role,
                labels={"en": role, "ru": role},
                description="",
                capabilities=[],
                created_at=clock(),
                updated_at=clock(),
            )
            session.add(found)
        user = session.scalar(select(User).where(User.username == name))
        user.roles = [found]
        return user.id


def with_role(as_user, db, clock, name: str, role: str):
    client = as_user(name)
    give_role(db, clock, name, role)
    return client


def new(client, stream_key: str, data: dict) -> int:
    response = client.submit(f"/s/{stream_key}/new", data)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def section(html: str, element_id: str) -> str:
    """The HTML of the element with ``element_id`` up to the next panel (enough for asserts)."""
    start = html.index(f'id="{element_id}"')
    return html[start : start + 20000]


# Reverse links -----------------------------------------------------------------------------


def test_a_client_shows_its_works_and_contracts_with_counts(admin, configured):
    client = new(admin, "clients", {"name": "Romashka"})
    other = new(admin, "clients", {"name": "Vasilek"})
    for subject in ("Audit", "Repair"):
        new(admin, "works", {"subject": subject, "client": str(client)})
    new(admin, "works", {"subject": "Elsewhere", "client": str(other)})
    binned = new(admin, "works", {"subject": "Binned", "client": str(client)})
    assert admin.submit(f"/s/works/{binned}/delete").status_code == 303
    new(
        admin,
        "contracts",
        {"title": "Supply", "parties.__present": "1", "parties": [str(client), str(other)]},
    )
    card = admin.get(f"/s/clients/{client}").text
    panel = section(card, "links")
    works = panel[panel.index("Works") :]
    assert '<span class="badge">2</span>' in works[:200]
    assert "W-1 · Audit" in panel and "W-2 · Repair" in panel
    assert "Elsewhere" not in panel and "Binned" not in panel
    contracts = panel[panel.index("Contracts") :]
    assert '<span class="badge">1</span>' in contracts[:200] and "C-1 · Supply" in panel
    assert f'href="/s/works/{binned}"' not in panel
    # Creating linked documents prefills the link; "based on" copies the current one.
    assert f'href="/s/works/new?client={client}"' in panel
    assert f'href="/s/contracts/new?parties={client}"' in panel
    first_work = admin.get("/s/works/1").text
    assert 'href="/s/works/new?based_on=1"' in first_work


def test_only_readable_documents_are_counted(admin, as_user, db, clock, configured):
    client = new(admin, "clients", {"name": "Shared client"})
    manager = with_role(as_user, db, clock, "manager1", "manager")
    mine = new(manager, "works", {"subject": "Mine"})  # a manager cannot pick admin's client
    new(admin, "works", {"subject": "Admins", "client": str(client)})
    with db.session(write=True) as session:
        manager_id = session.scalar(select(User.id).where(User.username == "manager1"))
        session.add(Share(stream="clients", doc_id=client, user_id=manager_id, at=clock()))
    assert (
        manager.submit(
            f"/s/works/{mine}/edit", {"subject": "Mine", "client": str(client), "_version": "1"}
        ).status_code
        == 303
    )
    panel = section(manager.get(f"/s/clients/{client}").text, "links")
    assert "W-1 · Mine" in panel and "Admins" not in panel
    assert '<span class="badge">1</span>' in panel
    everything = section(admin.get(f"/s/clients/{client}").text, "links")
    assert '<span class="badge">2</span>' in everything


def test_many_linked_documents_show_ten_and_a_filtered_list_link(admin, configured):
    client = new(admin, "clients", {"name": "Busy"})
    for number in range(12):
        new(admin, "works", {"subject": f"Job {number:02d}", "client": str(client)})
    panel = section(admin.get(f"/s/clients/{client}").text, "links")
    assert '<span class="badge">12</span>' in panel
    assert "Job 11" in panel and "Job 02" in panel and "Job 01" not in panel  # newest ten
    assert f'href="/s/works/?f.client={client}"' in panel
    assert "Show all (12)" in panel


def test_create_buttons_follow_the_create_right(admin, as_user, db, clock, configured):
    client = new(admin, "clients", {"name": "Romashka"})
    work = new(admin, "works", {"subject": "Audit", "client": str(client)})
    viewer = with_role(as_user, db, clock, "viewer1", "viewer")
    panel = section(viewer.get(f"/s/clients/{client}").text, "links")
    assert "W-1 · Audit" in panel
    assert "/s/works/new" not in panel and "/s/contracts/new" not in panel
    assert "new?based_on=" not in viewer.get(f"/s/works/{work}").text


def test_no_based_on_button_without_copied_fields(admin, publisher, configured):
    publisher.publish(*streams(copy_on_base=False))
    work = new(admin, "works", {"subject": "Audit"})
    assert "new?based_on=" not in admin.get(f"/s/works/{work}").text


# Ad-hoc links ------------------------------------------------------------------------------


def add_link(client, source: str, target: str, kind: str = "related", headers=None):
    stream_key, doc_id = source.split(":")
    return client.submit(
        f"/s/{stream_key}/{doc_id}/links/add",
        {"to": target, "kind": kind, "to_stream": target.split(":")[0]},
        headers=headers or {},
    )


def test_an_ad_hoc_link_shows_on_both_cards_and_in_both_histories(admin, configured):
    work = new(admin, "works", {"subject": "Repair"})
    basis = new(admin, "works", {"subject": "Inspection"})
    contract = new(admin, "contracts", {"title": "Frame"})
    response = add_link(admin, f"works:{work}", f"works:{basis}", "based_on")
    page = follow(admin, response)
    assert "Link added." in page.text
    adhoc = section(page.text, "links-adhoc")
    assert "Based on:" in adhoc and f'href="/s/works/{basis}"' in adhoc
    assert "W-2 · Inspection" in adhoc
    other = section(admin.get(f"/s/works/{basis}").text, "links-adhoc")
    assert "Basis for:" in other and "W-1 · Repair" in other
    assert add_link(admin, f"works:{work}", f"contracts:{contract}").status_code == 303
    assert "C-1 · Frame" in section(admin.get(f"/s/works/{work}").text, "links-adhoc")
    with admin.app.state.services.db.session() as session:
        entries = session.scalars(
            select(HistoryEntry).where(HistoryEntry.action == "link").order_by(HistoryEntry.id)
        ).all()
    recorded = [(e.stream, e.doc_id, e.changes["link"]["direction"]) for e in entries]
    assert recorded[:2] == [("works", work, "out"), ("works", basis, "in")]
    assert entries[0].changes["link"] == {
        "kind": "based_on",
        "direction": "out",
        "stream": "works",
        "id": basis,
        "number": "W-2",
    }
    assert ("contracts", contract, "in") in recorded


@pytest.mark.parametrize(
    ("target", "kind", "message"),
    [
        pytest.param("self", "related", "cannot be linked to itself", id="self"),
        pytest.param("other", "friend", "Choose a kind of link", id="unknown-kind"),
        pytest.param("works:999999", "related", "Choose a document from the list", id="missing"),
        pytest.param("nowhere:1", "related", "Choose a document from the list", id="no-stream"),
        pytest.param("works:x", "related", "Choose a document from the list", id="garbage"),
        pytest.param("binned", "related", "Choose a document from the list", id="in-trash"),
    ],
)
def test_bad_links_are_refused_with_a_message(admin, configured, target, kind, message):
    work = new(admin, "works", {"subject": "Repair"})
    other = new(admin, "works", {"subject": "Other"})
    binned = new(admin, "works", {"subject": "Binned"})
    admin.submit(f"/s/works/{binned}/delete")
    chosen = {"self": f"works:{work}", "other": f"works:{other}", "binned": f"works:{binned}"}
    response = add_link(admin, f"works:{work}", chosen.get(target, target), kind)
    assert response.status_code == 400
    assert message in response.text
    assert count(admin.app.state.services.db, DocumentLink) == 0


def test_a_duplicate_link_is_refused_either_way(admin, configured):
    work = new(admin, "works", {"subject": "Repair"})
    other = new(admin, "works", {"subject": "Other"})
    assert add_link(admin, f"works:{work}", f"works:{other}").status_code == 303
    for source, target in ((work, other), (other, work)):
        again = add_link(admin, f"works:{source}", f"works:{target}", headers=HTMX)
        assert again.status_code == 400
        assert "already linked this way" in again.text and "<html" not in again.text
    # Another kind between the same two is a different link.
    assert add_link(admin, f"works:{work}", f"works:{other}", "duplicate").status_code == 303
    assert count(admin.app.state.services.db, DocumentLink) == 2


def test_links_need_edit_on_the_source_and_read_on_the_target(
    admin, as_user, db, clock, configured
):
    theirs = new(admin, "works", {"subject": "Admin's"})
    viewer = with_role(as_user, db, clock, "viewer1", "viewer")
    assert add_link(viewer, f"works:{theirs}", f"works:{theirs}").status_code == 403
    manager = with_role(as_user, db, clock, "manager1", "manager")
    mine = new(manager, "works", {"subject": "Mine"})
    # Another user's document id gives 404 on every URL of the panel.
    assert add_link(manager, f"works:{theirs}", f"works:{mine}").status_code == 404
    assert manager.get(f"/s/works/{theirs}/links").status_code == 404
    assert manager.get(f"/s/works/{theirs}/links/find?to_stream=works").status_code == 404
    assert manager.submit(f"/s/works/{theirs}/links/1/delete").status_code == 404
    # A target they cannot read is refused like any wrong choice.
    refused = add_link(manager, f"works:{mine}", f"works:{theirs}")
    assert refused.status_code == 400 and "Choose a document from the list" in refused.text
    assert count(db, DocumentLink) == 0


def test_links_to_unreadable_documents_are_not_shown(admin, as_user, db, clock, configured):
    manager = with_role(as_user, db, clock, "manager1", "manager")
    mine = new(manager, "works", {"subject": "Mine"})
    theirs = new(admin, "works", {"subject": "Secret work"})
    assert add_link(admin, f"works:{theirs}", f"works:{mine}").status_code == 303
    assert "Secret work" in admin.get(f"/s/works/{mine}").text
    panel = section(manager.get(f"/s/works/{mine}").text, "links")
    assert "Secret work" not in panel and "Basis for" not in panel and "Related:" not in panel


def test_removing_a_link_needs_edit_on_either_side(admin, as_user, db, clock, configured):
    work = new(admin, "works", {"subject": "Repair"})
    other = new(admin, "works", {"subject": "Other"})
    unrelated = new(admin, "works", {"subject": "Unrelated"})
    add_link(admin, f"works:{work}", f"works:{other}", "reply_to")
    with db.session() as session:
        link_id = session.scalar(select(DocumentLink.id))
    viewer = with_role(as_user, db, clock, "viewer1", "viewer")
    assert "Reply to:" in viewer.get(f"/s/works/{work}").text
    assert f"/links/{link_id}/delete" not in viewer.get(f"/s/works/{work}").text
    assert viewer.submit(f"/s/works/{work}/links/{link_id}/delete").status_code == 403
    assert admin.submit(f"/s/works/{unrelated}/links/{link_id}/delete").status_code == 404
    assert admin.submit(f"/s/works/{work}/links/999999/delete").status_code == 404
    removed = admin.submit(f"/s/works/{other}/links/{link_id}/delete", headers=HTMX)
    assert removed.status_code == 200 and "Link removed." in removed.text
    assert "Replied by" not in removed.text
    assert count(db, DocumentLink) == 0
    with db.session() as session:
        unlinked = session.scalars(
            select(HistoryEntry.doc_id).where(HistoryEntry.action == "unlink")
        ).all()
    assert sorted(unlinked) == sorted([work, other])


def test_the_picker_and_the_search_without_javascript(admin, configured):
    work = new(admin, "works", {"subject": "Repair"})
    new(admin, "contracts", {"title": "Frame agreement"})
    new(admin, "contracts", {"title": "Lease"})
    choices = admin.get(
        f"/s/works/{work}/links/find?to_stream=contracts&q=frame", headers=HTMX
    ).text
    assert 'data-pick-value="contracts:1"' in choices and "Lease" not in choices
    assert "<html" not in choices
    nothing = admin.get(f"/s/works/{work}/links/find?to_stream=nowhere&q=frame").text
    assert "Nothing found." in nothing
    # Without JavaScript the form posts the typed text: the answer lists what it found.
    found = admin.submit(
        f"/s/works/{work}/links/add",
        {"to": "", "q": "frame", "to_stream": "contracts", "kind": "related"},
    )
    assert found.status_code == 200
    assert 'type="radio" name="to" value="contracts:1"' in found.text
    assert "Lease" not in found.text
    empty = admin.submit(
        f"/s/works/{work}/links/add", {"to": "", "q": "", "to_stream": "contracts"}
    )
    assert empty.status_code == 400 and "Choose a document to link." in empty.text
    chosen = admin.submit(
        f"/s/works/{work}/links/add",
        {"to": ["", "contracts:1"], "q": "frame", "to_stream": "contracts", "kind": "related"},
    )
    assert chosen.status_code == 303
    assert count(admin.app.state.services.db, DocumentLink) == 1


def test_adding_a_link_under_htmx_returns_the_list_only(admin, configured):
    work = new(admin, "works", {"subject": "Repair"})
    other = new(admin, "works", {"subject": "Other"})
    response = add_link(admin, f"works:{work}", f"works:{other}", headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div class="links-adhoc" id="links-adhoc">')
    assert "Link added." in response.text and "W-2 · Other" in response.text


# Shares ------------------------------------------------------------------------------------


def test_sharing_makes_a_document_readable(admin, as_user, db, clock, configured):
    client = new(admin, "clients", {"name": "Private"})
    manager = with_role(as_user, db, clock, "manager1", "manager")
    with db.session() as session:
        manager_id = session.scalar(select(User.id).where(User.username == "manager1"))
    assert manager.get(f"/s/clients/{client}").status_code == 404
    assert f'href="/s/clients/{client}"' not in manager.get("/s/clients/").text
    shares = section(admin.get(f"/s/clients/{client}").text, "shares")
    assert f'<option value="{manager_id}">Manager1</option>' in shares
    shared = admin.submit(f"/s/clients/{client}/shares", {"user": str(manager_id)})
    assert "The document is shared." in follow(admin, shared).text
    assert manager.get(f"/s/clients/{client}").status_code == 200
    assert f'href="/s/clients/{client}"' in manager.get("/s/clients/").text
    # The manager may read but not edit, so they may not share it on.
    assert "Shared with" not in manager.get(f"/s/clients/{client}").text
    assert (
        manager.submit(f"/s/clients/{client}/shares", {"user": str(manager_id)}).status_code == 403
    )
    panel = section(admin.get(f"/s/clients/{client}").text, "shares")
    assert "Manager1" in panel and f"/shares/{manager_id}/delete" in panel
    with db.session() as session:
        actions = session.scalars(
            select(HistoryEntry.action).where(HistoryEntry.doc_id == client)
        ).all()
    assert "share" in actions
    revoked = admin.submit(f"/s/clients/{client}/shares/{manager_id}/delete", headers=HTMX)
    assert revoked.status_code == 200 and "no longer shared" in revoked.text
    assert manager.get(f"/s/clients/{client}").status_code == 404
    assert admin.submit(f"/s/clients/{client}/shares/{manager_id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("who", "message"),
    [
        pytest.param("inactive", "Choose a person from the list.", id="inactive"),
        pytest.param("nobody", "Choose a person from the list.", id="missing"),
        pytest.param("garbage", "Choose a person from the list.", id="garbage"),
        pytest.param("me", "You can already open this document.", id="self"),
        pytest.param("twice", "already shared with Clerk1", id="twice"),
    ],
)
def test_bad_shares_are_refused(admin, as_user, db, clock, configured, who, message):
    client = new(admin, "clients", {"name": "Private"})
    with_role(as_user, db, clock, "clerk1", "clerk")
    with db.session(write=True) as session:
        ids = dict(session.execute(select(User.username, User.id)).all())
        if who == "inactive":
            session.execute(update(User).where(User.id == ids["clerk1"]).values(is_active=False))
    if who == "twice":
        admin.submit(f"/s/clients/{client}/shares", {"user": str(ids["clerk1"])})
    user = {"nobody": "999999", "garbage": "x", "me": str(ids["boss"])}.get(who, ids["clerk1"])
    response = admin.submit(f"/s/clients/{client}/shares", {"user": str(user)}, headers=HTMX)
    assert response.status_code == 400
    assert message in response.text and 'id="shares"' in response.text
    assert count(db, Share) == (1 if who == "twice" else 0)


def test_shares_of_another_users_document_are_not_found(admin, as_user, db, clock, configured):
    client = new(admin, "clients", {"name": "Private"})
    manager = with_role(as_user, db, clock, "manager1", "manager")
    with db.session() as session:
        manager_id = session.scalar(select(User.id).where(User.username == "manager1"))
    assert (
        manager.submit(f"/s/clients/{client}/shares", {"user": str(manager_id)}).status_code == 404
    )
    assert manager.submit(f"/s/clients/{client}/shares/{manager_id}/delete").status_code == 404
    assert count(db, Share) == 0


def test_reverse_links_use_one_count_per_linking_field(admin, configured, db):
    """The panel's queries do not grow with the number of linked documents."""
    from sqlalchemy import event

    client = new(admin, "clients", {"name": "Busy"})

    def queries_for_card() -> int:
        seen: list[str] = []

        def log(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", log)
        try:
            assert admin.get(f"/s/clients/{client}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", log)
        return len(seen)

    new(admin, "works", {"subject": "First", "client": str(client)})
    few = queries_for_card()
    for number in range(15):
        new(admin, "works", {"subject": f"Job {number}", "client": str(client)})
    assert queries_for_card() == few
    assert re.search(r'<span class="badge">16</span>', admin.get(f"/s/clients/{client}").text)
