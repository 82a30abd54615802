"""The card's route panel in a real browser, on a 375-px phone in Russian: the steps with the
current one marked, the timeline, and starting the route by hand without sideways scrolling."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE, Console, LiveServer, screenshot
from tests.browser.test_shell import ADMIN, horizontal_overflow, log_in, switch_language
from tests.builders import Publisher, field, labels, stream


def test_the_route_panel_on_a_phone_in_russian(
    page: Page,
    live_server: LiveServer,
    publisher: Publisher,
    create_user: Callable[..., int],
    console: Console,
) -> None:
    create_user(ADMIN, admin=True, full_name="Alexandra Konstantinopolskaya")
    steps = [
        ("start", "start", "Начало"),
        ("legal", "approval", "Юридическая проверка договора поставки"),
        ("finance", "approval", "Согласование финансового директора"),
        ("end", "end", "Согласован"),
    ]
    head = {"user": ADMIN}
    publisher.publish(
        stream(
            "deals",
            field("title", required=True, labels=labels("Title", "Название")),
            labels=labels("Deals", "Сделки"),
            routes={"default": "visa", "start": "manual"},
        ),
        {
            "kind": "route",
            "key": "visa",
            "labels": labels("Visa", "Согласование сделки"),
            "stream": "deals",
            "nodes": [
                {"key": key, "type": kind, "labels": labels(key.title(), ru)}
                | ({"executors": [head]} if kind == "approval" else {})
                for key, kind, ru in steps
            ],
            "edges": [{"from": a[0], "to": b[0]} for a, b in itertools.pairwise(steps)],
        },
    )
    page.set_viewport_size(PHONE)
    log_in(page, live_server)
    switch_language(page, "ru")
    page.goto(live_server("/s/deals/new"))
    page.fill('[name="title"]', "Поставка оборудования для склада")
    page.click("form.card-form button[type=submit], main form button[type=submit]")
    panel = page.locator("#route")
    expect(panel).to_be_visible()
    panel.locator("button[type=submit]").first.click()
    current = panel.locator('[aria-current="step"]')
    expect(current).to_contain_text("Юридическая проверка договора поставки")
    expect(panel.locator(".route-my-tasks a")).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, "route-panel-phone-ru")
    assert console.unexpected() == []
