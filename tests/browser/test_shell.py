"""The application shell in a real browser: logging in and out, the language switch, the
phone layout, htmx under the Content-Security-Policy, and screenshots of the main screens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette

from potok.app import services_of
from potok.platform import org
from potok.platform.audit import Actor
from tests.browser.conftest import DESKTOP, PHONE, Console, LiveServer, screenshot
from tests.conftest import PASSWORD, FakeClock

ADMIN = "boss"


@pytest.fixture
def admin_user(create_user: Callable[..., int]) -> int:
    return create_user(ADMIN, admin=True, full_name="Alexandra Konstantinopolskaya")


def log_in(page: Page, server: LiveServer, username: str = ADMIN, password: str = PASSWORD) -> None:
    if not page.url.startswith(server("/login")):
        page.goto(server("/login"))
    page.fill("#field-username", username)
    page.fill("#field-password", password)
    page.click(".login-panel button[type=submit]")


def switch_language(page: Page, language: str) -> None:
    page.click(f".language-switch button[value={language}]")
    expect(page.locator("html")).to_have_attribute("lang", language)


def horizontal_overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


# Logging in and out -----------------------------------------------------------------------


def test_log_in_through_the_form(
    page: Page, live_server: LiveServer, admin_user: int, console: Console
):
    page.goto(live_server("/"))
    expect(page).to_have_url(live_server("/login?next=%2F"))
    log_in(page, live_server)
    expect(page).to_have_url(live_server("/"))
    expect(page.locator("h1")).to_have_text("Welcome, Alexandra Konstantinopolskaya")
    expect(page.locator(".nav-logout button")).to_have_text("Log out")
    assert console.unexpected() == []


def test_a_wrong_password_shows_the_error(
    page: Page, live_server: LiveServer, admin_user: int, console: Console
):
    log_in(page, live_server, password="not-the-password")
    expect(page.locator("#login-error")).to_have_text("The username or password is not correct.")
    expect(page).to_have_url(live_server("/login"))
    expect(page.locator("#field-username")).to_have_value(ADMIN)
    assert console.unexpected(400) == []


def test_log_out(page: Page, live_server: LiveServer, admin_user: int, console: Console):
    log_in(page, live_server)
    page.click(".nav-logout button")
    expect(page).to_have_url(live_server("/login"))
    expect(page.locator("#messages .notice")).to_have_text("You have logged out.")
    screenshot(page, "desktop-en-logged-out")
    page.goto(live_server("/admin/"))
    expect(page).to_have_url(live_server("/login?next=%2Fadmin%2F"))
    assert console.unexpected() == []


# Language ---------------------------------------------------------------------------------


def test_switch_to_russian_and_back(
    page: Page, live_server: LiveServer, admin_user: int, console: Console
):
    page.goto(live_server("/login"))
    switch_language(page, "ru")
    expect(page.locator(".login-panel button[type=submit]")).to_have_text("Войти")
    expect(page.locator(".language-switch button[value=ru]")).to_have_attribute(
        "aria-pressed", "true"
    )
    log_in(page, live_server)
    expect(page).to_have_url(live_server("/"))
    expect(page.locator(".nav-logout button")).to_have_text("Выйти")

    switch_language(page, "en")
    expect(page).to_have_url(live_server("/"))
    expect(page.locator(".nav-logout button")).to_have_text("Log out")
    expect(page.locator(".language-switch button[value=en]")).to_have_attribute(
        "aria-pressed", "true"
    )
    assert console.unexpected() == []


# Phone --------------------------------------------------------------------------------------


def test_phone_layout_does_not_scroll_sideways_and_the_menu_opens(
    page: Page, live_server: LiveServer, admin_user: int, console: Console
):
    page.set_viewport_size(PHONE)
    page.goto(live_server("/login"))
    assert horizontal_overflow(page) == 0
    log_in(page, live_server)
    for path in ("/", "/admin/users"):
        page.goto(live_server(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide"

    logout = page.locator(".nav-logout button")
    expect(page.locator("#main-nav")).to_be_hidden()
    page.click(".menu-toggle")
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav")).to_be_visible()
    expect(logout).to_be_visible()
    screenshot(page, "phone-en-menu-open")
    page.click(".menu-toggle")
    expect(page.locator("#main-nav")).to_be_hidden()

    page.click(".menu-toggle")
    logout.click()
    expect(page).to_have_url(live_server("/login"))
    assert console.unexpected() == []


# htmx under the CSP -------------------------------------------------------------------------


def test_typing_in_the_search_box_filters_users_without_a_reload(
    page: Page,
    live_server: LiveServer,
    admin_user: int,
    create_user: Callable[..., int],
    console: Console,
):
    create_user("olga", full_name="Olga Smirnova")
    create_user("ivan", full_name="Ivan Petrov")
    log_in(page, live_server)
    page.goto(live_server("/admin/users"))
    rows = page.locator("#users-table tbody tr")
    expect(rows).to_have_count(4)  # and the built-in administrator
    page.evaluate("window.potokTestMarker = 'still the same page'")

    page.locator("#users-search").press_sequentially("smir", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Olga Smirnova")
    expect(page).to_have_url(live_server("/admin/users?q=smir&show=all"))
    assert page.evaluate("window.potokTestMarker") == "still the same page"

    page.locator("#users-search").fill("")
    expect(rows).to_have_count(4)
    page.select_option("#users-show", "active")
    expect(page).to_have_url(live_server("/admin/users?q=&show=active"))
    assert page.evaluate("window.potokTestMarker") == "still the same page"
    assert console.unexpected() == []


# Screenshots ----------------------------------------------------------------------------------


@pytest.fixture
def demo_org(app: Starlette, admin_user: int, create_user: Callable[..., int], clock: FakeClock):
    """A few people, departments and deputies, so the screens show what they are for."""
    people = {
        name: create_user(name, full_name=full_name)
        for name, full_name in [
            ("olga", "Olga Smirnova"),
            ("ivan", "Иван Петров-Водкин"),
            ("maria", "Maria Konstantinopolskaya-Rimskaya"),
        ]
    }
    services = services_of(app)
    with services.db.session(write=True) as session:
        head = org.create_department(
            session,
            Actor.system(),
            org.DepartmentInput(name="Head office", code="HQ", head_id=str(admin_user)),
            now=clock(),
        )
        sales = org.create_department(
            session,
            Actor.system(),
            org.DepartmentInput(
                name="Отдел продаж и работы с ключевыми клиентами",
                code="SALES",
                parent_id=str(head.id),
                head_id=str(people["olga"]),
            ),
            now=clock(),
        )
        org.create_department(
            session,
            Actor.system(),
            org.DepartmentInput(name="Regional sales", parent_id=str(sales.id)),
            now=clock(),
        )
        today = clock().date()
        org.create_deputy(
            session,
            Actor.system(),
            org.DeputyInput(
                principal_id=str(people["olga"]),
                deputy_id=str(people["ivan"]),
                starts_on=today.isoformat(),
                ends_on=(today + timedelta(days=14)).isoformat(),
                reason="Vacation",
            ),
            now=clock(),
        )


SCREENS = [
    ("home", "/"),
    ("admin", "/admin/"),
    ("users", "/admin/users"),
    ("roles", "/admin/roles"),
    ("departments", "/admin/departments"),
    ("deputies", "/admin/deputies"),
    ("audit", "/admin/audit"),
    ("system", "/admin/system"),
    ("account", "/account"),
    ("not-found", "/no-such-page"),
]


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screens_fit_and_are_captured(
    page: Page,
    live_server: LiveServer,
    demo_org: None,
    console: Console,
    size: str,
    language: str,
):
    viewport = DESKTOP if size == "desktop" else PHONE
    page.set_viewport_size(viewport)
    overflowing: dict[str, int] = {}

    def capture(name: str) -> None:
        if overflow := horizontal_overflow(page):
            overflowing[name] = overflow
        screenshot(page, f"{size}-{language}-{name}")

    page.goto(live_server("/login"))
    switch_language(page, language)
    capture("login")
    log_in(page, live_server, password="wrong-password")
    expect(page.locator("#login-error")).to_be_visible()
    capture("login-error")
    log_in(page, live_server)
    expect(page).to_have_url(live_server("/"))

    for name, path in SCREENS:
        page.goto(live_server(path))
        expect(page.locator("html")).to_have_attribute("lang", language)
        capture(name)

    page.goto(live_server("/admin/users/new"))
    page.fill("#field-username", "Not A Valid Name")
    page.fill("#field-password", "short")
    page.click("#main form.form button[type=submit]")
    expect(page.locator(".field-invalid").first).to_be_visible()
    capture("user-form-errors")

    assert overflowing == {}, "these screens scroll sideways"
    assert console.unexpected(400, 404) == []
