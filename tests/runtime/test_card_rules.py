"""The card's rules mirrored while the user types (POST /s/<stream>/rules), and new cards
filled in from the query string or from the document they are based on."""

from __future__ import annotations

import re

import pytest

from tests.builders import Publisher, dictionary, field, stream
from tests.runtime.test_screens import GRANTS, card_id, clients_stream, role_user


def orders_stream():
    return stream(
        "orders",
        field("subject", required=True, copy_on_base=True),
        field("amount", "money", min=0, copy_on_base=True),
        field("rate", "integer", min=0, max=100),
        field("vat", "computed", formula="round(amount * rate / 100, 2)", result="money"),
        field("rush", "boolean"),
        field("reason", "long_text", visible_when={"==": [{"var": "rush"}, True]}),
        field("deadline", "date", required_when={"==": [{"var": "rush"}, True]}),
        field("frozen", readonly_when={">": [{"var": "amount"}, 1000]}),
        field("client", "link", stream="clients", copy_on_base=True),
        field(
            "items",
            "table",
            columns=[
                field("product", required=True),
                field("quantity", "integer"),
                field("price", "money"),
                field("total", "money", formula="quantity * price", readonly=True),
            ],
            totals=["total"],
            copy_on_base=True,
        ),
        numbering={"template": "O-{counter}"},
    )


@pytest.fixture
def orders(publisher: Publisher):
    publisher.publish(
        dictionary("industries", "retail"), clients_stream(access=GRANTS), orders_stream()
    )


def rules(client, data, doc=None):
    url = "/s/orders/rules" + (f"?doc={doc}" if doc else "")
    response = client.submit(url, data)
    assert response.status_code == 200, response.text
    return response.json()


def test_rules_follow_the_values_typed_so_far(admin, orders):
    calm = rules(admin, {"subject": "A", "rush": "false", "amount": "10"})
    assert calm["fields"]["reason"]["visible"] is False
    assert calm["fields"]["deadline"]["required"] is False
    assert calm["fields"]["frozen"]["locked"] is False
    assert calm["fields"]["subject"]["required"] is True
    rushed = rules(admin, {"subject": "A", "rush": "true", "amount": "5000"})
    assert rushed["fields"]["reason"]["visible"] is True
    assert rushed["fields"]["deadline"]["required"] is True
    assert rushed["fields"]["frozen"]["locked"] is True


def test_computed_fields_formula_columns_and_totals_are_recalculated(admin, orders):
    answer = rules(
        admin,
        {
            "amount": "1000",
            "rate": "20",
            "items.__present": "1",
            "items.0.product": "Chairs",
            "items.0.quantity": "3",
            "items.0.price": "10.50",
            "items.1.product": "",
            "items.1.quantity": "",
            "items.2.product": "Desk",
            "items.2.quantity": "2",
            "items.2.price": "100",
        },
    )
    assert "200.00" in answer["computed"]["vat"]
    rows = answer["tables"]["items"]["rows"]
    assert len(rows) == 3  # one answer per row shown, the empty one too
    assert rows[0]["total"].startswith("31.50") or "31.5" in rows[0]["total"]
    assert rows[1]["total"] == ""
    assert "200" in rows[2]["total"]
    assert "231.50" in answer["tables"]["items"]["totals"]["total"]


def test_bad_values_while_typing_give_states_not_errors(admin, orders):
    answer = rules(admin, {"amount": "not a number", "rate": "999", "items.__present": "1"})
    assert answer["computed"]["vat"] == "—"
    assert set(answer["fields"]) >= {"subject", "amount", "reason"}


def test_the_form_marks_fields_for_the_rules(admin, orders):
    page = admin.get("/s/orders/new")
    assert page.status_code == 200
    assert 'data-rules-url="/s/orders/rules"' in page.text
    # Hidden by a rule but present, so that it can appear as the user types.
    assert 'data-field="reason" hidden' in page.text
    assert 'data-computed="vat"' in page.text
    assert 'data-total="total"' in page.text


def test_rules_need_the_right_to_create_or_edit(as_user, create_user, db, clock, admin, orders):
    viewer = role_user(as_user, create_user, db, clock, "vera", "viewer")
    # viewer has no grant at all on orders: the stream does not exist for them
    assert viewer.submit("/s/orders/rules", {"subject": "x"}).status_code == 404
    doc = card_id(admin.submit("/s/orders/new", {"subject": "Mine", "amount": "10"}))
    assert viewer.submit(f"/s/orders/rules?doc={doc}", {}).status_code == 404
    assert admin.submit("/s/orders/rules?doc=abc", {}).status_code == 404
    assert admin.submit("/s/orders/rules?doc=99999999999999999999", {}).status_code == 404
    assert rules(admin, {"amount": "5"}, doc=doc)["fields"]["frozen"]["locked"] is False


def test_rules_without_the_csrf_token_are_refused(admin, orders):
    assert admin.post("/s/orders/rules", data={"subject": "x"}).status_code == 403


def test_a_new_card_takes_fields_from_the_query_string(admin, orders):
    client = card_id(admin.submit("/s/clients/new", {"name": "Romashka"}))
    page = admin.get(f"/s/orders/new?client={client}&subject=Hello&rate=abc")
    assert page.status_code == 200
    assert f'name="client" value="{client}"' in page.text
    assert 'value="CL-0001 · Romashka"' in page.text
    assert 'name="subject" type="text" value="Hello"' in page.text
    assert 'name="rate" type="text" inputmode="numeric" value=""' in page.text  # bad: dropped


def test_a_link_the_user_may_not_read_is_not_filled_in(
    as_user, create_user, db, clock, admin, publisher
):
    publisher.publish(
        dictionary("industries", "retail"),
        clients_stream(access=GRANTS),
        stream(
            "deals",
            field("client", "link", stream="clients"),
            access={"grants": [{"role": "manager", "read": "own", "create": True}]},
        ),
    )
    secret = card_id(admin.submit("/s/clients/new", {"name": "Secret Client"}))
    manager = role_user(as_user, create_user, db, clock, "mila", "manager")
    page = manager.get(f"/s/deals/new?client={secret}")
    assert page.status_code == 200
    assert "Secret Client" not in page.text
    assert f'value="{secret}"' not in page.text


def test_based_on_copies_the_chosen_fields_only(admin, orders):
    client = card_id(admin.submit("/s/clients/new", {"name": "Romashka"}))
    source = card_id(
        admin.submit(
            "/s/orders/new",
            {
                "subject": "Original",
                "amount": "150",
                "rate": "20",
                "frozen": "keep me out",
                "client": str(client),
                "items.__present": "1",
                "items.0.product": "Chairs",
                "items.0.quantity": "2",
                "items.0.price": "5",
            },
        )
    )
    page = admin.get(f"/s/orders/new?based_on={source}")
    assert page.status_code == 200
    text = page.text
    assert 'value="Original"' in text and 'value="150.00"' in text
    assert "Romashka" in text and "Chairs" in text
    assert "keep me out" not in text  # not marked "copy on base"
    assert 'name="rate" type="text" inputmode="numeric" value=""' in text
    # the copied rows are new rows: no ids of the source document's rows
    assert 'name="items.0.id" value=""' in text
    saved = admin.submit(
        "/s/orders/new",
        {
            "subject": "Copy",
            "items.__present": "1",
            "items.0.id": "",
            "items.0.product": "Chairs",
            "items.0.quantity": "2",
            "items.0.price": "5",
        },
    )
    assert saved.status_code == 303


def test_based_on_a_document_the_user_may_not_read_copies_nothing(
    as_user, create_user, db, clock, admin, orders
):
    source = card_id(admin.submit("/s/clients/new", {"name": "Hidden Ltd"}))
    manager = role_user(as_user, create_user, db, clock, "mila", "manager")
    page = manager.get(f"/s/clients/new?based_on={source}")
    assert page.status_code == 200
    assert "Hidden Ltd" not in page.text
    assert manager.get("/s/clients/new?based_on=notanumber").status_code == 200


def test_copy_on_base_is_refused_for_fields_that_are_never_copied(publisher):
    from potok.metadata.store import InvalidConfiguration

    bad = stream("bad", field("num", "registration_number", copy_on_base=True))
    with pytest.raises(InvalidConfiguration) as caught:
        publisher.publish(bad)
    assert "never copied" in str(caught.value.problems)


def test_refused_input_is_shown_as_typed_not_replaced(admin, orders):
    doc = card_id(admin.submit("/s/orders/new", {"subject": "Kept", "amount": "10"}))
    page = admin.get(f"/s/orders/{doc}/edit")
    version = re.search(r'name="_version" value="(\d+)"', page.text).group(1)
    response = admin.submit(
        f"/s/orders/{doc}/edit",
        {
            "_version": version,
            "subject": "Changed",
            "amount": "ten roubles",
            "items.__present": "1",
            "items.0.product": "Chair",
            "items.0.quantity": "many",
        },
    )
    assert response.status_code == 400
    assert 'value="ten roubles"' in response.text
    assert 'value="Changed"' in response.text
    assert 'value="many"' in response.text and 'value="Chair"' in response.text
