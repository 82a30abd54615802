"""The list of a stream (``/s/<stream>/``) around the rows: filters by each kind of field,
the condition language in ``cond=``, saved filters, the group counts panel, each user's
columns, actions on the selected rows, and keyset pages that lose and repeat nothing."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from itertools import pairwise
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from potok.metadata.dictionaries import items
from potok.platform.auth import CurrentUser
from potok.platform.models import User
from potok.runtime import listing
from potok.runtime.streams import Streams
from potok.runtime.tables import ListPreference, SavedFilter
from tests.builders import Publisher, dictionary, field, labels, stream
from tests.helpers import follow, list_count
from tests.runtime.test_screens import card_id, register, role_user

GRANTS = {
    "grants": [
        {"role": "manager", "read": "own", "edit": "own", "create": True},
        {"role": "clerk", "read": "all", "edit": "own", "delete": "own", "create": True},
        {"role": "head", "read": "all", "edit": "all", "delete": "all", "create": True},
        {"role": "chief", "read": "all", "edit": "all", "create": True, "configure": True},
        {"role": "viewer", "read": "all"},
    ],
    "fields": [{"role": "viewer", "field": "qty", "access": "hidden"}],
}


def deals_stream():
    return stream(
        "deals",
        field("title", required=True, searchable=True, in_list=True, filterable=True),
        field("amount", "money", in_list=True, filterable=True),
        field("qty", "integer", filterable=True),
        field("signed", "date", in_list=True, filterable=True),
        field("met_at", "datetime", filterable=True, labels=labels("Met at")),
        field("stage", "dictionary", dictionary="stages", in_list=True, filterable=True),
        field("manager", "user", in_list=True, filterable=True),
        field("urgent", "boolean", filterable=True),
        field(
            "kind",
            "choice",
            filterable=True,
            options=[
                {"value": "sale", "labels": labels("Sale")},
                {"value": "rent", "labels": labels("Rent")},
            ],
        ),
        field("client", "link", stream="clients", filterable=True),
        field("notes"),
        numbering={"template": "D-{counter:3}"},
        owner_field="manager",
        access=GRANTS,
    )


@pytest.fixture
def ids(publisher: Publisher, db):
    """The stages' ids by code."""
    publisher.publish(
        dictionary("stages", "lead", "won", "lost"),
        stream(
            "clients",
            field("name", required=True, searchable=True, in_list=True),
            numbering={"template": "C-{counter}"},
            access={"grants": [{"role": "clerk", "read": "all"}]},
        ),
        deals_stream(),
    )
    with db.session() as session:
        found = {item.code: item.id for item in items(session, "stages")}
        return found


def user_id(db, username: str) -> int:
    with db.session() as session:
        return session.scalar(select(User.id).where(User.username == username))


def numbers(page: str) -> list[str]:
    """The registration numbers of the rows shown, in order."""
    return re.findall(r'data-label="Number"><a href="/s/\w+/\d+">([^<]+)</a>', page)


def notices(page: str, kind: str = "warning|error") -> list[str]:
    """The messages shown above the list (warnings and errors by default)."""
    found = re.findall(
        rf'<div class="notice notice-(?:{kind})" role="status">(.*?)</div>', page, re.S
    )
    return [html.unescape(text.strip()) for text in found]


def headers(page: str) -> list[str]:
    """The column headers of the list."""
    found = re.findall(r'<th scope="col">(?:<a [^>]*>)?([^<]+)', page)
    return [text.strip(" ↑↓") for text in found]


def groups(page: str) -> dict[str, int]:
    """The group panel: label -> count."""
    found = re.findall(
        r'<span class="group-label">([^<]*)</span> <span class="group-count">(\d+)</span>', page
    )
    return {html.unescape(label): int(count) for label, count in found}


def deal(user, **values: str) -> int:
    """Register a deal through the form as ``user``; returns its id."""
    response = register(user, {"title": "Deal", **values}, "deals")
    assert response.status_code == 303, response.text
    return card_id(response)


def listed(user, query: str = "") -> list[str]:
    """The numbers a list URL shows, sorted (the filters decide which, not in what order)."""
    response = user.get("/s/deals/?" + query)
    assert response.status_code == 200, response.text
    return sorted(numbers(response.text))


# Filters ------------------------------------------------------------------------------------


@pytest.fixture
def four(admin, ids, create_user, db):
    """Four deals (D-001…D-004) whose values each filter below tells apart; ``ids`` has the
    users' and clients' ids too."""
    create_user("mila", full_name="Mila Orlova")
    found = dict(ids, mila=user_id(db, "mila"), boss=user_id(db, "boss"))
    for name in ("Romashka", "Vasilek"):
        assert register(admin, {"name": name}, "clients").status_code == 303
    found["romashka"], found["vasilek"] = 1, 2
    deal(
        admin,
        title="Alpha supply",
        amount="100.50",
        qty="3",
        signed="2026-03-01",
        met_at="2026-03-10T23:30",
        stage=str(ids["lead"]),
        manager=str(found["boss"]),
        urgent="true",
        kind="sale",
        client="1",
    )
    deal(
        admin,
        title="Beta service",
        amount="200",
        qty="7",
        signed="31.03.2026",
        met_at="2026-03-11T00:00",
        stage=str(ids["won"]),
        manager=str(found["mila"]),
        urgent="false",
        kind="rent",
        client="2",
    )
    deal(
        admin,
        title="Gamma supply",
        amount="1000",
        qty="10",
        signed="2026-04-01",
        stage=str(ids["won"]),
        manager=str(found["mila"]),
        urgent="true",
        kind="sale",
        notes="secret",
    )
    deal(admin, title="Delta", urgent="false")
    return found


FILTERS = [
    ("f.title=supply", ["D-001", "D-003"]),
    ("f.title=SUPPLY", ["D-001", "D-003"]),
    ("f.title=alpha&f.title=beta", ["D-001", "D-002"]),
    ("f.amount.from=150", ["D-002", "D-003"]),
    ("f.amount.from=100.50&f.amount.to=200", ["D-001", "D-002"]),
    ("f.amount.from=100,50&f.amount.to=200.00", ["D-001", "D-002"]),
    ("f.amount=200", ["D-002"]),
    ("f.qty.to=7", ["D-001", "D-002"]),
    ("f.qty.from=4&f.qty.to=10", ["D-002", "D-003"]),
    ("f.signed.from=2026-03-31", ["D-002", "D-003"]),
    ("f.signed.to=31.03.2026", ["D-001", "D-002"]),
    ("f.signed.from=2026-03-02&f.signed.to=2026-03-31", ["D-002"]),
    ("f.signed=2026-04-01", ["D-003"]),
    ("f.met_at.from=2026-03-10&f.met_at.to=2026-03-10", ["D-001"]),  # the whole day, no more
    ("f.met_at.from=2026-03-11", ["D-002"]),
    ("f.met_at=2026-03-11", ["D-002"]),
    ("f.stage=<lead>", ["D-001"]),
    ("f.stage=<lead>&f.stage=<won>", ["D-001", "D-002", "D-003"]),
    ("f.manager=<mila>", ["D-002", "D-003"]),
    ("f.manager=<boss>", ["D-001"]),
    ("f.urgent=true", ["D-001", "D-003"]),
    ("f.urgent=false", ["D-002", "D-004"]),
    ("f.urgent=нет", ["D-002", "D-004"]),
    ("f.kind=rent", ["D-002"]),
    ("f.kind=sale&f.kind=rent", ["D-001", "D-002", "D-003"]),
    ("f.client=<romashka>", ["D-001"]),
    ("f.client=<vasilek>&f.client=<romashka>", ["D-001", "D-002"]),
    ("f.title=supply&f.urgent=true&f.stage=<won>", ["D-003"]),
    ("f.stage=<won>&f.amount.to=500", ["D-002"]),
    ("q=supply&f.stage=<lead>", ["D-001"]),
    ("q=supply&f.urgent=false", []),
    ("q=D-002&f.urgent=false", ["D-002"]),
    ("cond=" + json.dumps({">=": [{"var": "qty"}, 7]}), ["D-002", "D-003"]),
    ("cond=" + json.dumps({"empty": [{"var": "client"}]}) + "&f.urgent=false", ["D-004"]),
    ("cond=" + json.dumps({"==": [{"var": "notes"}, "secret"]}), ["D-003"]),
    ("q=supply&cond=" + json.dumps({"!=": [{"var": "stage"}, "<lead>"]}), ["D-003"]),
    ("f.title=&f.amount.from=&f.stage=", ["D-001", "D-002", "D-003", "D-004"]),  # empty: no filter
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[q for q, _ in FILTERS])
def test_filters_by_each_kind_of_field(admin, four, query, expected):
    url = re.sub(r'"?<(\w+)>"?', lambda found: str(four[found.group(1)]), query)
    page = admin.get("/s/deals/?" + url)
    assert page.status_code == 200
    assert notices(page.text) == []
    assert sorted(numbers(page.text)) == expected
    if not expected:
        assert "Nothing found." in page.text
    assert list_count(admin, page) == f"Documents: {len(expected)}"


def test_the_filter_form_shows_what_is_applied(admin, four):
    page = admin.get(
        f"/s/deals/?f.title=supply&f.amount.from=150&f.stage={four['won']}&f.urgent=true"
        f"&f.client={four['romashka']}"
    ).text
    assert '<details class="list-filter-panel" open>' in page
    assert 'name="f.title" value="supply"' in page
    assert 'name="f.amount.from" value="150"' in page
    assert f'<option value="{four["won"]}" selected>Won</option>' in page
    assert '<option value="true" selected>' in page
    # A link filter shows the chosen document by its name, checked.
    assert f'name="f.client" value="{four["romashka"]}" checked> C-1 · Romashka' in page
    # Fields not flagged filterable get no widget.
    assert 'name="f.notes"' not in page
    assert 'name="f.title"' in admin.get("/s/deals/").text


BAD_FILTERS = [
    ("f.amount.from=abc", "Amount: Enter a number."),
    ("f.amount.to=1e400", "Amount: The number is too large."),
    ("f.qty.from=1.5", "Qty: Enter a whole number."),
    ("f.qty.to=99999999999999999999", "Qty: The number is too large."),
    ("f.qty=seven", "Qty: Enter a number."),
    ("f.signed.from=31.02.2026", "Signed: Enter a date like 2026-03-31 or 31.03.2026."),
    ("f.signed=yesterday", "Signed: Enter a date like 2026-03-31 or 31.03.2026."),
    ("f.signed.from=0001-01-01", "Signed: Enter a date between 1800 and 2200."),
    ("f.met_at.to=9999-12-31", "Met at: Enter a date between 1800 and 2200."),
    ("f.met_at=9999-12-31", "Met at: Enter a date between 1800 and 2200."),
    ("f.urgent=maybe", "Urgent: Choose yes or no."),
    ("f.kind=barter", "Kind: Choose a value from the list."),
    ("f.stage=abc", "Stage: Choose a value from the list."),
    ("f.stage=99999999999", "Stage: Choose a value from the list."),
    ("f.manager=0", "Manager: Choose a value from the list."),
    ("f.client=1.5", "Client: Choose a value from the list."),
    ("f.title=a%00b", "Title: This value cannot be used in a filter."),
    ("f.notes=secret", "There is no filter “notes” here; it is left out."),
    ("f.ghost=1", "There is no filter “ghost” here; it is left out."),
    ("f.title.from=a", "There is no filter “title” here; it is left out."),
    ("f.qty.between=1", "There is no filter “qty” here; it is left out."),
    ("f.=1", "There is no filter “” here; it is left out."),
    ("cond={", "The condition is not valid JSON."),
    ("cond=%00", "The condition is not valid JSON."),
    ("cond=[]", "The condition is not valid: expected a condition"),
    ("cond=" + json.dumps({"in": [{"var": "qty"}, ["abc"]]}), "The condition is not valid:"),
    ("cond=" + json.dumps({"==": [{"var": "ghost"}, 1]}), "The condition is not valid:"),
    ("cond=" + json.dumps({"<": [{"var": "title"}, "b"]}), "The condition is not valid:"),
    ("cond=" + "[" * 2500 + "]" * 2500, "The condition is too long."),
]


@pytest.mark.parametrize(("query", "message"), BAD_FILTERS, ids=[q[:40] for q, _ in BAD_FILTERS])
def test_a_bad_filter_is_left_out_with_a_message(admin, four, query, message):
    page = admin.get("/s/deals/?" + query)
    assert page.status_code == 200
    shown = notices(page.text)
    assert len(shown) == 1 and shown[0].startswith(message), shown
    assert sorted(numbers(page.text)) == ["D-001", "D-002", "D-003", "D-004"]


def test_a_bad_filter_does_not_drop_the_good_ones(admin, four):
    page = admin.get(f"/s/deals/?f.amount.from=abc&f.urgent=true&f.stage={four['won']}")
    assert page.status_code == 200
    assert notices(page.text) == ["Amount: Enter a number."]
    assert numbers(page.text) == ["D-003"]
    both = admin.get("/s/deals/?f.ghost=1&f.kind=barter&q=supply").text
    assert notices(both) == [
        "There is no filter “ghost” here; it is left out.",
        "Kind: Choose a value from the list.",
    ]
    assert sorted(numbers(both)) == ["D-001", "D-003"]


def test_filters_too_complex_together_are_left_out_with_a_message(admin, four):
    # As deep as a condition may be on its own; with another filter beside it, deeper.
    cond: dict = {">": [{"var": "qty"}, 5]}
    for _ in range(30):
        cond = {"not": cond}
    alone = admin.get(f"/s/deals/?cond={json.dumps(cond)}")
    assert notices(alone.text) == [] and sorted(numbers(alone.text)) == ["D-002", "D-003"]
    page = admin.get(f"/s/deals/?cond={json.dumps(cond)}&f.urgent=true")
    assert page.status_code == 200
    assert notices(page.text) == ["The filters are too complex; they are left out."]
    assert len(numbers(page.text)) == 4


def test_hidden_fields_cannot_be_filtered_on(admin, four, as_user, create_user, db, clock):
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    page = viewer.get("/s/deals/?f.qty.from=5")
    assert page.status_code == 200
    assert notices(page.text) == ["There is no filter “qty” here; it is left out."]
    assert len(numbers(page.text)) == 4
    assert 'name="f.qty.from"' not in page.text and 'name="f.amount.from"' in page.text
    by_condition = viewer.get("/s/deals/?cond=" + json.dumps({">": [{"var": "qty"}, 5]}))
    assert notices(by_condition.text)[0].startswith("The condition is not valid:")
    assert len(numbers(by_condition.text)) == 4  # nothing learnt about the hidden field


def test_a_user_filter_never_shows_documents_beyond_the_scope(
    admin, ids, as_user, create_user, db, clock
):
    anna = role_user(as_user, create_user, db, clock, "anna", "manager")
    mine = deal(anna, title="Anna's", stage=str(ids["won"]))
    deal(admin, title="Boss's", stage=str(ids["won"]))
    assert listed(anna, f"f.stage={ids['won']}") == ["D-001"]
    assert listed(anna, "cond=" + json.dumps({"not_empty": [{"var": "stage"}]})) == ["D-001"]
    assert listed(admin, f"f.stage={ids['won']}") == ["D-001", "D-002"]
    assert mine == 1


# Saved filters ------------------------------------------------------------------------------


def save(user, name: str, query: str, *, shared: bool = False):
    data = {"name": name, "query": query}
    if shared:
        data["shared"] = "1"
    return user.submit("/s/deals/filters", data)


def chips(page: str) -> list[tuple[str, bool]]:
    """The saved filters shown: (name, shared)."""
    found = re.findall(
        r'<li class="chip[^"]*">\s*<a href="[^"]*"[^>]*>([^<]*)</a>\s*(<span class="badge[^"]*">'
        r"shared</span>)?",
        page,
    )
    return [(html.unescape(name), bool(badge)) for name, badge in found]


def chip_href(page: str, name: str) -> str:
    found = re.search(
        rf'<li class="chip[^"]*">\s*<a href="([^"]*)"[^>]*>{re.escape(name)}</a>', page
    )
    assert found, name
    return html.unescape(found.group(1))


def saved_ids(db) -> dict[str, int]:
    with db.session() as session:
        return {row.name: row.id for row in session.scalars(select(SavedFilter))}


@pytest.fixture
def people(four, as_user, create_user, db, clock):
    return {
        "chief": role_user(as_user, create_user, db, clock, "cora", "chief"),
        "clerk": role_user(as_user, create_user, db, clock, "carl", "clerk"),
        "viewer": role_user(as_user, create_user, db, clock, "vera", "viewer"),
    }


def test_saved_filters_personal_and_shared(four, people, db):
    chief, clerk = people["chief"], people["clerk"]
    saved = save(chief, "Urgent ones", "f.urgent=true&q=supply&sort=amount&dir=desc")
    assert saved.status_code == 303
    assert saved.headers["location"] == "/s/deals/?f.urgent=true&q=supply&sort=amount&dir=desc"
    page = follow(chief, saved).text
    assert "The filter “Urgent ones” is saved." in notices(page, "success")
    assert save(chief, "Won", f"f.stage={four['won']}", shared=True).status_code == 303
    mine = chief.get("/s/deals/").text
    assert chips(mine) == [("Won", True), ("Urgent ones", False)]  # shared first
    applied = chief.get(chip_href(mine, "Urgent ones")).text
    assert numbers(applied) == ["D-003", "D-001"]  # by amount, descending, as saved
    assert 'aria-current="true">Urgent ones</a>' in applied
    assert sorted(numbers(chief.get(chip_href(mine, "Won")).text)) == ["D-002", "D-003"]
    # Another user sees the shared filter, not the personal one; and the other way round.
    theirs = clerk.get("/s/deals/").text
    assert chips(theirs) == [("Won", True)]
    assert save(clerk, "Mine", "f.kind=rent").status_code == 303
    assert chips(clerk.get("/s/deals/").text) == [("Won", True), ("Mine", False)]
    assert ("Mine", False) not in chips(chief.get("/s/deals/").text)
    assert sorted(numbers(clerk.get(chip_href(clerk.get("/s/deals/").text, "Mine")).text)) == [
        "D-002"
    ]


def test_only_those_who_configure_the_stream_share_filters(four, people, db):
    chief, clerk = people["chief"], people["clerk"]
    assert 'name="shared"' in chief.get("/s/deals/?f.urgent=true").text
    page = clerk.get("/s/deals/?f.urgent=true").text
    assert "Save this filter" in page and 'name="shared"' not in page
    assert save(clerk, "Everyone's", "f.urgent=true", shared=True).status_code == 403
    assert saved_ids(db) == {}


def test_saving_the_same_name_replaces_the_filter(four, people, db):
    chief = people["chief"]
    save(chief, "Mine", "f.urgent=true")
    save(chief, "Mine", "f.kind=rent")
    save(chief, "Mine", "f.kind=sale", shared=True)  # a shared one is another filter
    with db.session() as session:
        rows = session.scalars(select(SavedFilter).order_by(SavedFilter.id)).all()
        assert [(row.name, row.owner_id is None) for row in rows] == [
            ("Mine", False),
            ("Mine", True),
        ]
        assert rows[0].condition == {"params": {"f.kind": ["rent"]}}


def test_deleting_saved_filters(four, people, db):
    chief, clerk = people["chief"], people["clerk"]
    save(chief, "Personal", "f.urgent=true")
    save(chief, "Shared", "f.kind=rent", shared=True)
    save(clerk, "Clerks", "f.kind=sale")
    found = saved_ids(db)
    # Not one's own, or not there at all: as if absent. Shared: only for those who configure.
    assert clerk.submit(f"/s/deals/filters/{found['Personal']}/delete").status_code == 404
    assert clerk.submit(f"/s/deals/filters/{found['Shared']}/delete").status_code == 403
    for forged in ("424242", "99999999999", "0"):
        assert clerk.submit(f"/s/deals/filters/{forged}/delete").status_code == 404
    assert clerk.submit("/s/deals/filters/abc/delete").status_code in (404, 405)
    assert clerk.submit(f"/s/clients/filters/{found['Clerks']}/delete").status_code == 404
    assert saved_ids(db).keys() == {"Personal", "Shared", "Clerks"}
    page = clerk.get("/s/deals/").text
    assert f"/s/deals/filters/{found['Clerks']}/delete" in page
    assert f"/s/deals/filters/{found['Shared']}/delete" not in page  # not offered either
    deleted = clerk.submit(
        f"/s/deals/filters/{found['Clerks']}/delete", {"query": "f.kind=sale&csrf_token=x"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/s/deals/?f.kind=sale"
    assert "The filter “Clerks” is deleted." in notices(follow(clerk, deleted).text, "success")
    assert chief.submit(f"/s/deals/filters/{found['Shared']}/delete").status_code == 303
    assert chief.submit(f"/s/deals/filters/{found['Personal']}/delete").status_code == 303
    assert saved_ids(db) == {}
    assert chips(clerk.get("/s/deals/").text) == []


@pytest.mark.parametrize(
    ("name", "query", "message", "kept"),
    [
        ("", "f.urgent=true", "Give the filter a name.", None),
        (" \t\n ", "f.urgent=true", "Give the filter a name.", None),
        ("\x01\x02", "f.urgent=true", "Give the filter a name.", None),
        ("Bad", "f.amount.from=abc", "Fix the filters before saving them.", None),
        ("Bad", "f.ghost=1", "Fix the filters before saving them.", None),
        ("Bad", "cond={", "Fix the filters before saving them.", None),
        ("Two  words\x00here", "f.urgent=true", "", "Two words here"),
        ("x" * 500, "f.urgent=true", "", "x" * 200),
    ],
    ids=["empty", "spaces", "control", "bad-number", "unknown-field", "bad-cond", "nul", "long"],
)
def test_bad_names_and_filters_are_not_saved(four, people, db, name, query, message, kept):
    chief = people["chief"]
    response = save(chief, name, query)
    assert response.status_code == 303
    page = follow(chief, response).text
    if message:
        assert notices(page, "error") == [message]
        assert saved_ids(db) == {}
    else:
        assert list(saved_ids(db)) == [kept]


def test_a_saved_filter_naming_a_removed_field_still_opens(four, people, db, clock):
    chief = people["chief"]
    with db.session(write=True) as session:
        session.add(
            SavedFilter(
                stream="deals",
                owner_id=None,
                name="Old",
                condition={"params": {"f.gone": ["1"], "f.urgent": ["true"], "x": "junk"}},
                created_at=clock(),
            )
        )
    page = chief.get("/s/deals/").text
    applied = chief.get(chip_href(page, "Old"))
    assert applied.status_code == 200
    assert notices(applied.text) == ["There is no filter “gone” here; it is left out."]
    assert sorted(numbers(applied.text)) == ["D-001", "D-003"]


# Group counts -------------------------------------------------------------------------------


def test_group_counts_by_a_dictionary_respect_the_scope(
    admin, ids, as_user, create_user, db, clock
):
    anna = role_user(as_user, create_user, db, clock, "anna", "manager")
    boris = role_user(as_user, create_user, db, clock, "boris", "manager")
    head = role_user(as_user, create_user, db, clock, "hugo", "head")
    for stage in ("lead", "lead", "won"):
        deal(anna, stage=str(ids[stage]))
    deal(anna)  # no stage: not counted
    for stage in ("won", "lost"):
        deal(boris, stage=str(ids[stage]))
    deal(admin, stage=str(ids["lost"]))
    # Boris's deal reassigned to Anna becomes hers (the owner field says so).
    deal(boris, stage=str(ids["lost"]), manager=str(user_id(db, "anna")))
    assert groups(anna.get("/s/deals/?group=stage").text) == {"Lead": 2, "Won": 1, "Lost": 1}
    assert groups(boris.get("/s/deals/?group=stage").text) == {"Won": 1, "Lost": 2}
    assert groups(head.get("/s/deals/?group=stage").text) == {"Lost": 3, "Lead": 2, "Won": 2}
    # Under the other filters and the search, not under the group's own filter.
    assert groups(anna.get(f"/s/deals/?group=stage&f.stage={ids['lead']}").text) == {
        "Lead": 2,
        "Won": 1,
        "Lost": 1,
    }
    assert groups(head.get("/s/deals/?group=stage&q=D-00").text) == {"Lead": 2, "Won": 2, "Lost": 3}
    assert groups(head.get("/s/deals/?group=stage&q=D-001").text) == {"Lead": 1}


def test_the_group_panel_filters_and_counts_by_users_and_links(admin, four):
    page = admin.get("/s/deals/?group=stage").text
    assert groups(page) == {"Won": 2, "Lead": 1}
    won = re.search(r'<a href="([^"]*)"><span class="group-label">Won</span>', page)
    chosen = admin.get(html.unescape(won.group(1))).text
    assert sorted(numbers(chosen)) == ["D-002", "D-003"]
    assert 'aria-current="true"><span class="group-label">Won' in chosen
    assert "Show all" in chosen
    assert groups(admin.get("/s/deals/?group=manager").text) == {"Mila Orlova": 2, "Boss": 1}
    by_client = admin.get("/s/deals/?group=client").text
    assert groups(by_client) == {"C-1 · Romashka": 1, "C-2 · Vasilek": 1}
    assert groups(admin.get("/s/deals/?group=stage&f.urgent=true").text) == {"Lead": 1, "Won": 1}
    assert groups(admin.get("/s/deals/?group=stage&f.title=nothing").text) == {}
    assert "No values." in admin.get("/s/deals/?group=stage&f.title=nothing").text


@pytest.mark.parametrize("group", ["title", "amount", "notes", "ghost", "qty", "%00", "x" * 500])
def test_grouping_by_a_field_that_cannot_be_grouped_shows_no_counts(admin, four, group):
    page = admin.get(f"/s/deals/?group={group}")
    assert page.status_code == 200
    assert groups(page.text) == {} and len(numbers(page.text)) == 4


# Columns ------------------------------------------------------------------------------------


def test_each_user_chooses_their_columns(four, people, admin, db):
    clerk = people["clerk"]
    assert headers(clerk.get("/s/deals/").text) == [
        "Number",
        "Title",
        "Amount",
        "Signed",
        "Stage",
        "Manager",
    ]
    form = clerk.get("/s/deals/columns?back=f.urgent%3Dtrue")
    assert form.status_code == 200
    assert 'name="columns" value="title" checked' in form.text
    assert 'name="columns" value="qty">' in form.text
    saved = clerk.submit(
        "/s/deals/columns",
        {
            "columns": ["qty", "title", "ghost", "notes", "", "x" * 300],
            "sort": "qty",
            "dir": "desc",
            "back": "f.urgent=true",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/s/deals/?f.urgent=true"
    page = follow(clerk, saved).text
    assert "Your columns are saved." in notices(page, "success")
    assert headers(page) == ["Number", "Title", "Qty", "Notes"]  # in the stream's order
    assert numbers(page) == ["D-003", "D-001"]  # by quantity, descending
    assert numbers(clerk.get("/s/deals/").text) == ["D-003", "D-002", "D-001", "D-004"]
    with db.session() as session:
        found = session.scalars(select(ListPreference)).all()
        assert [(row.columns, row.sort) for row in found] == [
            (["title", "qty", "notes"], ["qty", True])
        ]
    # Only for this user: the others keep the stream's columns.
    assert headers(admin.get("/s/deals/").text)[1:] == [
        "Title",
        "Amount",
        "Signed",
        "Stage",
        "Manager",
    ]
    assert headers(people["chief"].get("/s/deals/").text)[1:3] == ["Title", "Amount"]
    # The URL's sort still wins over the saved one.
    assert numbers(clerk.get("/s/deals/?sort=qty&dir=asc").text)[:3] == ["D-001", "D-002", "D-003"]
    reset = clerk.submit("/s/deals/columns", {"reset": "1", "back": ""})
    assert reset.status_code == 303
    assert "The list shows the default columns again." in notices(
        follow(clerk, reset).text, "success"
    )
    assert headers(clerk.get("/s/deals/").text)[1:] == [
        "Title",
        "Amount",
        "Signed",
        "Stage",
        "Manager",
    ]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ListPreference)) == 0


def test_unknown_and_hidden_columns_are_not_kept(four, people, db):
    viewer = people["viewer"]
    assert 'value="qty"' not in viewer.get("/s/deals/columns").text
    response = viewer.submit(
        "/s/deals/columns", {"columns": ["qty", "ghost"], "sort": "qty", "back": ""}
    )
    assert response.status_code == 303
    page = viewer.get("/s/deals/").text
    assert headers(page)[1:] == ["Title", "Amount", "Signed", "Stage", "Manager"]  # the default
    assert "Qty" not in headers(page)
    with db.session() as session:
        assert [(row.columns, row.sort) for row in session.scalars(select(ListPreference))] == [
            ([], [])
        ]
    picked = viewer.submit("/s/deals/columns", {"columns": ["qty", "urgent"], "back": ""})
    assert picked.status_code == 303
    assert headers(viewer.get("/s/deals/").text) == ["Number", "Urgent"]
    # A hidden column saved earlier (the rule came later) is never shown.
    with db.session(write=True) as session:
        row = session.scalars(select(ListPreference)).one()
        row.columns = ["qty", "title"]
        row.sort = ["qty", True]
    page = viewer.get("/s/deals/")
    assert page.status_code == 200 and headers(page.text) == ["Number", "Title"]


# Bulk actions -------------------------------------------------------------------------------


@pytest.fixture
def mixed(admin, ids, as_user, create_user, db, clock):
    """Two deals of the clerk Carl (ids 1, 2) and two of the administrator (3, 4); three
    clients, so client 6 is no deal's id."""
    clerk = role_user(as_user, create_user, db, clock, "carl", "clerk")
    create_user("mila", full_name="Mila Orlova")
    for _ in range(2):
        deal(clerk, title="Carl's", stage=str(ids["lead"]))
    for _ in range(2):
        deal(admin, title="Boss's", stage=str(ids["lead"]))
    for name in ("A", "B", "C", "D", "E", "F"):
        register(admin, {"name": name}, "clients")
    return clerk


def bulk(user, action: str, chosen: list[str], **values: str):
    return user.submit(
        "/s/deals/bulk", {"action": action, "ids": chosen, "back": "f.title=deal", **values}
    )


def flashes(user, response) -> tuple[list[str], list[str]]:
    page = follow(user, response).text
    return notices(page, "success"), notices(page, "error")


FORGED = ["abc", "99999999999", "424242", "6", "-1", "0", "1e3", ""]


def test_bulk_change_of_a_field_only_where_the_user_may(admin, ids, mixed, db):
    response = bulk(
        mixed,
        "set",
        ["1", "2", "3", "4", *FORGED],
        field="stage",
        **{"value.stage": str(ids["won"])},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/s/deals/?f.title=deal"
    done, errors = flashes(mixed, response)
    assert done == ["Changed: 2, skipped: 10."] and errors == []
    assert listed(admin, f"f.stage={ids['won']}") == ["D-001", "D-002"]
    assert listed(admin, f"f.stage={ids['lead']}") == ["D-003", "D-004"]
    assert admin.get("/s/clients/6").status_code == 200  # another stream's document untouched
    history = admin.get("/s/deals/1/history").text
    assert "Lead → Won" in history


def test_bulk_by_one_who_may_change_all(admin, ids, mixed):
    response = bulk(
        admin, "set", ["1", "2", "3", "4", "2"], field="urgent", **{"value.urgent": "true"}
    )
    assert flashes(admin, response) == (["Changed: 4, skipped: 0."], [])
    assert listed(admin, "f.urgent=true") == ["D-001", "D-002", "D-003", "D-004"]
    response = bulk(admin, "set", ["1", "3"], field="stage", **{"value.stage": ""})
    assert flashes(admin, response) == (["Changed: 2, skipped: 0."], [])
    assert listed(admin, f"f.stage={ids['lead']}") == ["D-002", "D-004"]


def test_bulk_reassign_only_where_the_user_may(admin, db, mixed):
    mila = user_id(db, "mila")
    response = bulk(mixed, "owner", ["4", "1", "3", "2", *FORGED], owner=str(mila))
    assert flashes(mixed, response) == (["Changed: 2, skipped: 10."], [])
    assert listed(admin, f"f.manager={mila}") == ["D-001", "D-002"]
    bad = bulk(mixed, "owner", ["1"], owner="abc")
    assert flashes(mixed, bad) == ([], ["Choose a value from the list."])
    gone = bulk(admin, "owner", ["3"], owner="424242")
    done, errors = flashes(admin, gone)
    assert done == ["Changed: 0, skipped: 0."]
    assert len(errors) == 1 and errors[0].startswith(
        "Not changed because of errors (D-003): Manager:"
    )
    assert listed(admin, f"f.manager={mila}") == ["D-001", "D-002"]


def test_bulk_trash_only_where_the_user_may(admin, mixed):
    response = bulk(mixed, "delete", ["1", "3", "4", *FORGED])
    assert flashes(mixed, response) == (["Changed: 1, skipped: 10."], [])
    assert listed(admin) == ["D-002", "D-003", "D-004"]
    # Already in the trash: skipped, not an error.
    again = bulk(admin, "delete", ["1", "2"])
    assert flashes(admin, again) == (["Changed: 1, skipped: 1."], [])
    assert listed(admin) == ["D-003", "D-004"]
    trash = admin.get("/s/deals/trash").text
    assert ">D-001<" in trash and ">D-002<" in trash and ">D-003<" not in trash


def test_bulk_errors_are_reported_and_change_nothing(admin, ids, mixed):
    cases = [
        (
            {"action": "set", "field": "stage", "value.stage": "abc"},
            "Choose a value from the list.",
        ),
        ({"action": "set", "field": "signed", "value.signed": "31.02.2026"}, "Enter a date"),
        ({"action": "set", "field": "notes", "value.notes": "x"}, "Choose a field to change."),
        ({"action": "set", "field": "ghost"}, "Choose a field to change."),
        ({"action": "set"}, "Choose a field to change."),
        ({"action": "explode"}, "Choose what to do with the selected documents."),
        ({"action": ""}, "Choose what to do with the selected documents."),
    ]
    for values, message in cases:
        response = admin.submit("/s/deals/bulk", {"ids": ["1", "3"], "back": "", **values})
        assert response.status_code == 303, values
        done, errors = flashes(admin, response)
        assert done == [] and len(errors) == 1 and errors[0].startswith(message), (values, errors)
    nothing = admin.submit("/s/deals/bulk", {"action": "delete", "ids": ["abc", "0"], "back": ""})
    assert flashes(admin, nothing) == ([], ["Select documents first."])
    many = admin.submit(
        "/s/deals/bulk", {"action": "delete", "ids": [str(n) for n in range(1, 502)], "back": ""}
    )
    assert flashes(admin, many) == ([], ["Select at most 500 documents at once."])
    missing = admin.submit(
        "/s/deals/bulk",
        {"action": "set", "field": "stage", "value.stage": "424242", "ids": ["1", "3"], "back": ""},
    )
    done, errors = flashes(admin, missing)
    assert done == ["Changed: 0, skipped: 0."]
    assert len(errors) == 1 and errors[0].startswith(
        "Not changed because of errors (D-001, D-003): Stage:"
    )
    assert listed(admin, f"f.stage={ids['lead']}") == ["D-001", "D-002", "D-003", "D-004"]


def test_bulk_needs_the_right_and_the_csrf_token(
    admin, ids, mixed, as_user, create_user, db, clock
):
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    assert "bulk-form" not in viewer.get("/s/deals/").text
    assert bulk(viewer, "delete", ["1", "3"]).status_code == 403
    forged = admin.post("/s/deals/bulk", data={"action": "delete", "ids": ["1", "3"]})
    assert forged.status_code == 403
    wrong = admin.post(
        "/s/deals/bulk", data={"csrf_token": "x" * 43, "action": "delete", "ids": ["1", "3"]}
    )
    assert wrong.status_code == 403
    assert listed(admin) == ["D-001", "D-002", "D-003", "D-004"]
    # The page's own form carries the token that the client's ``submit`` adds.
    page = admin.get("/s/deals/").text
    form = page[page.index('<form id="bulk-form"') :]
    assert f'name="csrf_token" value="{admin.csrf_token}"' in form[: form.index("</form>")]


def test_bulk_back_link_keeps_only_list_parameters(admin, mixed):
    response = admin.submit(
        "/s/deals/bulk",
        {
            "action": "delete",
            "ids": ["4"],
            "back": "f.urgent=true&q=x&sort=amount&dir=desc&group=stage&after=abc&evil=1",
        },
    )
    assert response.headers["location"] == (
        "/s/deals/?f.urgent=true&q=x&sort=amount&dir=desc&group=stage"
    )


# Keyset pages -------------------------------------------------------------------------------


def walk(user, url: str) -> tuple[list[int], int]:
    """Every page from ``url`` on, following "Show more": the ids in order, and the pages."""
    seen: list[int] = []
    pages = 0
    while url and pages < 20:
        response = user.get(url)
        assert response.status_code == 200
        pages += 1
        seen += [
            int(doc) for doc in re.findall(r'"Number"><a href="/s/deals/(\d+)"', response.text)
        ]
        more = re.search(r'<tr id="list-more">.*?href="([^"]+)"', response.text, re.S)
        url = html.unescape(more.group(1)) if more else ""
    return seen, pages


@pytest.fixture
def many(admin, ids, clock):
    """130 deals with many ties and empty values in each sort key: id -> (amount, signed)."""
    values: dict[int, tuple[Decimal | None, str | None]] = {}
    amounts = [None, "10", "10", "20.50", "10"]
    days = ["2026-03-01", None, "2026-03-02", "2026-03-01"]
    for number in range(130):
        amount, signed = amounts[number % 5], days[number % 4]
        if number % 40 == 0:
            clock.advance(seconds=1)  # a few distinct creation times, the rest tied
        doc = deal(admin, title=f"Deal {number:03d}", amount=amount or "", signed=signed or "")
        values[doc] = (Decimal(amount) if amount else None, signed)
    return values


def ordered(values: list, descending: bool) -> bool:
    """Non-empty values in order, empty ones last."""
    present = [value for value in values if value is not None]
    empties = values[len(present) :]
    return all(value is None for value in empties) and present == sorted(
        present, reverse=descending
    )


SORTS = [
    ("amount", False),
    ("amount", True),
    ("signed", False),
    ("signed", True),
    ("created_at", True),
    ("created_at", False),
    ("reg_number", False),
    ("title", True),
]


def test_keyset_pages_cover_every_document_once(admin, many):
    for sort, descending in SORTS:
        direction = "desc" if descending else "asc"
        seen, pages = walk(admin, f"/s/deals/?sort={sort}&dir={direction}")
        assert pages == 3, sort
        assert sorted(seen) == sorted(many) and len(seen) == len(set(seen)), (sort, direction)
        if sort in ("amount", "signed"):
            column = 0 if sort == "amount" else 1
            assert ordered([many[doc][column] for doc in seen], descending), (sort, direction)
            # Ties are broken by id, in the sort's direction.
            for first, second in pairwise(seen):
                if many[first][column] == many[second][column]:
                    assert (first > second) if descending else (first < second)
        else:  # creation times (many tied), numbers and titles all follow the ids
            assert seen == sorted(many, reverse=descending), (sort, direction)
    # Under a filter and a search too.
    expected = sorted(doc for doc, (amount, _) in many.items() if amount == Decimal("10"))
    seen, pages = walk(admin, "/s/deals/?f.amount=10&q=deal&sort=signed&dir=desc")
    assert pages == 2 and sorted(seen) == expected and len(seen) == len(set(seen))


@pytest.mark.parametrize("window", [1, 7, 60], ids=["window-1", "window-7", "window-60"])
def test_a_page_found_among_the_nearest_rows_is_the_page(db, many, clock, window):
    """On SQLite a filtered page first looks among the next ``window`` rows in sort order
    (listing.page); whether that finds the page or falls back, the pages are the same."""
    boss = CurrentUser(
        id=user_id(db, "boss"),
        username="boss",
        full_name="Boss",
        email="",
        language="en",
        department_id=None,
        capabilities=frozenset(),
        session_id="",
        roles=frozenset(),
        superuser=True,
    )
    tens = {"==": [{"var": "amount"}, 10]}
    dated = {"and": [tens, {"!=": [{"var": "signed"}, None]}]}
    with db.session() as session:
        runtime = Streams().get(session, "deals")

        def walk_pages(sort: listing.Sort, condition, window: int) -> list[int]:
            seen, after = [], ""
            while True:
                found = listing.page(
                    session,
                    boss,
                    runtime,
                    ["amount"],
                    sort=sort,
                    condition=condition,
                    after=after,
                    now=clock(),
                    size=9,
                    counted=False,
                    window=window,
                )
                seen += [row["id"] for row in found.rows]
                if found.next_after is None:
                    return seen
                after = found.next_after

        for key, descending in SORTS:
            for condition in (tens, dated):
                sort = listing.Sort(key, descending)
                expected = walk_pages(sort, condition, 0)
                assert expected, (key, condition)
                assert walk_pages(sort, condition, window) == expected, (key, descending)


def test_show_more_as_a_fragment_appends_rows(admin, many):
    first = admin.get("/s/deals/?sort=amount&dir=asc").text
    more = re.search(r'hx-get="([^"]+)"', first.split('id="list-more"')[1]).group(1)
    fragment = admin.get(html.unescape(more), headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.text.lstrip().startswith("<tr>")
    shown = re.findall(r'href="/s/deals/(\d+)"', fragment.text)
    assert len(shown) == 50 and not set(shown) & set(re.findall(r'href="/s/deals/(\d+)"', first))


@pytest.mark.parametrize(
    "token",
    [
        "junk",
        "%00",
        "W3RydWUsIG51bGwsICJ4Il0",
        "WyJ4IiwgMSwgMV0",
        "W2ZhbHNlLCAiYWJjIiwgMV0",
        "x" * 600,
    ],
    ids=["junk", "nul", "bad-id", "bad-null", "bad-value", "long"],
)
def test_a_bad_page_token_starts_from_the_beginning(admin, four, token):
    response = admin.get(f"/s/deals/?sort=amount&after={token}")
    assert response.status_code == 200
    assert len(numbers(response.text)) == 4


def test_an_unknown_sort_falls_back_to_the_default(admin, four):
    for sort in ("ghost", "notes", "stage%00", "id"):
        response = admin.get(f"/s/deals/?sort={sort}&dir=sideways")
        assert response.status_code == 200
        assert numbers(response.text) == ["D-004", "D-003", "D-002", "D-001"]  # newest first


def test_the_query_string_is_kept_safely_in_links(admin, four):
    response = admin.get("/s/deals/?q=%22%3E%3Cscript%3Ex&f.title=%3Cb%3E")
    assert response.status_code == 200
    assert "<script>x" not in response.text and "<b>" not in response.text
    assert urlencode({"q": '"><script>x'}) in html.unescape(response.text)
