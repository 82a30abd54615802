"""The bell on a 375-px phone, in English and Russian: it sits in the top bar beside the
language switch with the number of unread notifications, opens the list, and a notification
opened goes to its task and is read after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from potok.platform.db import Database
from potok.platform.models import RouteTask
from tests.browser.conftest import DESKTOP, PHONE, Console, LiveServer, screenshot
from tests.browser.test_inbox import contracts_world
from tests.browser.test_shell import horizontal_overflow, log_in, switch_language
from tests.builders import Publisher
from tests.conftest import PASSWORD, FakeClock


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_bell_and_the_notifications_on_a_phone(
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
    world.start("visa", world.document(title="Supply of 40 pumps"), now=clock())
    world.start("visa", world.document(title="Lease of the warehouse"), now=clock())

    page.set_viewport_size(PHONE)
    log_in(page, live_server, "lawyer", PASSWORD)
    expect(page.locator("#main")).to_be_visible()
    if language == "ru":
        switch_language(page, "ru")
    bell = page.locator("a.topbar-bell")
    expect(bell).to_be_visible()
    expect(bell.locator(".topbar-bell-count")).to_have_text("2")
    if language == "en":
        expect(bell).to_have_accessible_name("Notifications (2)")
    box, brand = bell.bounding_box(), page.locator(".brand").bounding_box()
    assert box is not None and brand is not None
    assert box["x"] + box["width"] <= PHONE["width"]  # on the screen
    assert abs((box["y"] + box["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 8
    expect(page.locator("#main-nav a.topbar-bell")).to_have_count(0)  # not in the menu
    assert horizontal_overflow(page) == 0
    screenshot(page, f"bell-phone-{language}")

    bell.click()
    rows = page.locator(".notification-row")
    expect(rows).to_have_count(2)
    expect(page.locator(".notification-unread")).to_have_count(2)
    step = "Юридическая виза" if language == "ru" else "Legal review"
    expect(rows.first).to_contain_text(step)
    expect(rows.first).to_contain_text("Lease of the warehouse")  # the newest first
    expect(rows.nth(1)).to_contain_text("Supply of 40 pumps")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"notifications-phone-{language}")

    rows.nth(1).locator("a.notification-link").click()
    expect(page.locator("form.task-decision")).to_be_visible()
    expect(page.locator(".task-document")).to_contain_text("Supply of 40 pumps")
    expect(page.locator(".topbar-bell-count")).to_have_text("1")
    page.locator("a.topbar-bell").click()
    expect(page.locator(".notification-unread")).to_have_count(1)
    expect(page.locator(".notification-unread")).to_contain_text("Lease of the warehouse")

    page.locator("form[action='/notifications/read'] button").click()
    expect(page.locator(".notification-unread")).to_have_count(0)
    expect(page.locator(".topbar-bell-count")).to_have_count(0)
    screenshot(page, f"notifications-read-phone-{language}")
    if language == "en":
        page.set_viewport_size(DESKTOP)
        desktop = page.locator("a.topbar-bell").bounding_box()
        switch = page.locator(".language-switch").bounding_box()
        assert desktop is not None and switch is not None
        assert desktop["x"] > switch["x"]  # at the right end of the bar
        screenshot(page, "notifications-desktop-en")
    assert console.unexpected() == []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_the_controller_view_on_a_phone(
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
        db, publisher, create_user, clock, {"chief": ("staff",), "lawyer": ("staff", "legal")}
    )
    world.department("Legal", "chief", "lawyer")
    late = world.start(
        "visa", world.document("chief", title="Supply of 40 pumps"), by="chief", now=clock()
    )
    world.start(
        "visa", world.document("chief", title="Lease of the warehouse"), by="chief", now=clock()
    )
    with db.session(write=True) as session:
        session.execute(
            update(RouteTask)
            .where(RouteTask.instance_id == late)
            .values(deadline=clock() - timedelta(days=3))
        )

    page.set_viewport_size(PHONE)
    log_in(page, live_server, "chief", PASSWORD)
    expect(page.locator("#main")).to_be_visible()
    if language == "ru":
        switch_language(page, "ru")
    page.goto(live_server("/inbox"))
    link = page.locator("a.inbox-control-link")
    expect(link).to_be_visible()
    assert horizontal_overflow(page) == 0
    screenshot(page, f"inbox-control-link-phone-{language}")
    link.click()
    rows = page.locator(".control-list .inbox-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Supply of 40 pumps")
    expect(rows.first).to_contain_text("Lawyer")
    expect(rows.first).to_contain_text("3 дня" if language == "ru" else "3 days")
    assert horizontal_overflow(page) == 0
    screenshot(page, f"control-phone-{language}")
    rows.first.locator("a.inbox-link").click()
    expect(page.locator("form.task-handover, details.task-handover").first).to_be_visible()
    assert console.unexpected() == []
