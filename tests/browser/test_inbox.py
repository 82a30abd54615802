"""A contract approved from the inbox on a 375-px phone, in English and Russian: the inbox
lists the task with its document, the task opens with the decision form above the card's
fields, the approval answers in place and the inbox is empty after."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from potok.platform.db import Database
from potok.platform.models import Role, RouteInstance, user_roles
from tests.browser.conftest import DESKTOP, PHONE, Console, LiveServer, screenshot
from tests.browser.test_shell import horizontal_overflow, log_in, switch_language
from tests.builders import Publisher, field, labels, stream
from tests.conftest import PASSWORD, FakeClock
from tests.runtime.routing.conftest import World, chain, node

CONTRACTS = stream(
    "contracts",
    field("title", required=True, searchable=True, labels=labels("Title", "Название")),
    field("amount", "money", labels=labels("Amount", "Сумма")),
    field("subject", "long_text", labels=labels("Subject", "Предмет")),
    title_field="title",
    numbering={"template": "K-{counter:3}"},
    labels=labels("Contracts", "Договоры"),
    access={"grants": [{"role": "staff", "read": "all", "create": True}]},
)
VISA = chain(
    "visa",
    node("legal", "approval", executors=[{"role": "legal"}])
    | {"labels": labels("Legal review", "Юридическая виза")},
)


def contracts_world(
    db: Database,
    publisher: Publisher,
    create_user: Callable[..., int],
    clock: FakeClock,
    people: dict[str, tuple[str, ...]],
) -> World:
    """The contracts stream and its visa route published, and ``people`` (name -> role
    keys) created with their roles."""
    world = World(db, publisher)
    publisher.publish(CONTRACTS, VISA)
    world.published = True
    for name, roles in people.items():
        world.users[name] = create_user(name, full_name=name.title())
        with db.session(write=True) as session:
            for key in roles:
                role = session.scalar(select(Role).where(Role.key == key))
                if role is None:
                    role = Role(key=key, labels=labels(key), created_at=clock(), updated_at=clock())
                    session.add(role)
                    session.flush()
                session.execute(
                    insert(user_roles).values(user_id=world.users[name], role_id=role.id)
                )
    return world


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_contract_is_approved_from_the_inbox_on_a_phone(
    page: Page,
    live_server: LiveServer,
    db: Database,
    publisher: Publisher,
    create_user: Callable[..., int],
    clock: FakeClock,
    console: Console,
    language: str,
) -> None:
    world = contracts_world(
        db, publisher, create_user, clock, {"author": ("staff",), "lawyer": ("staff", "legal")}
    )
    contract = world.document(
        title="Supply of 40 pumps",
        amount=Decimal("750000"),
        subject="Pumps, installation and two years of service",
    )
    instance = world.start("visa", contract, now=clock())

    page.set_viewport_size(PHONE)
    log_in(page, live_server, "lawyer", PASSWORD)
    expect(page.locator("#main")).to_be_visible()
    if language == "ru":
        switch_language(page, "ru")
    page.goto(live_server("/inbox"))
    row = page.locator(".inbox-row").first
    expect(row).to_contain_text("Supply of 40 pumps")
    expect(row).to_contain_text("K-001")
    expect(row).to_contain_text("Юридическая виза" if language == "ru" else "Legal review")
    expect(row).to_contain_text("Договоры" if language == "ru" else "Contracts")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"inbox-phone-{language}")

    row.locator("a.inbox-link").click()
    form = page.locator("form.task-decision")
    expect(form).to_be_visible()
    document = page.locator(".task-document")
    expect(document).to_contain_text("Pumps, installation and two years of service")
    # On a phone the decision comes first, the card's fields below it.
    assert form.bounding_box()["y"] < document.bounding_box()["y"]  # type: ignore[index]
    assert horizontal_overflow(page) == 0
    if language == "en":  # on a desktop: the decision beside the card
        page.set_viewport_size(DESKTOP)
        assert form.bounding_box()["x"] < document.bounding_box()["x"]  # type: ignore[index]
        side = page.locator(".task-side").bounding_box()
        assert side is not None and abs(side["y"] - document.bounding_box()["y"]) < 5  # type: ignore[index]
        screenshot(page, "task-desktop-en")
        page.set_viewport_size(PHONE)
    page.fill("#task-comment", "Условия в порядке" if language == "ru" else "Terms are fine")
    screenshot(page, f"task-phone-{language}")
    page.click("button[name=action][value=approve]")
    expect(page.locator("#task .notice-success")).to_be_visible()
    expect(page.locator("form.task-decision")).to_have_count(0)
    screenshot(page, f"task-approved-phone-{language}")

    with db.session() as session:
        state = session.get(RouteInstance, instance)
        assert state is not None and state.status == "finished"
    page.goto(live_server("/inbox"))
    expect(page.locator(".inbox-row")).to_have_count(0)
    expect(page.locator(".empty")).to_be_visible()
    assert console.unexpected() == []
