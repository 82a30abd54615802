"""Working with documents in a real browser, on streams built from metadata in the test:
register, edit with the card's rules applied as one types, link, search (in the list and from
the top bar), filter a list, attach, download and view a file, move to the trash and restore
— in English and Russian, on a desktop and on a 375-px phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Console, LiveServer, screenshot
from tests.browser.test_shell import log_in, switch_language
from tests.builders import Publisher, dictionary, field, labels, stream

RU = {"clients": "Клиенты", "deals": "Сделки"}


def clients() -> dict:
    return stream(
        "clients",
        field(
            "name",
            required=True,
            searchable=True,
            in_list=True,
            sortable=True,
            labels=labels("Name", "Наименование"),
        ),
        field("inn", "requisite", requisite="inn", in_list=True, labels=labels("INN", "ИНН")),
        field(
            "region",
            "dictionary",
            dictionary="regions",
            in_list=True,
            filterable=True,
            labels=labels("Region", "Регион"),
        ),
        field("employees", "integer", min=0, labels=labels("Employees", "Сотрудников")),
        field(
            "notes",
            "long_text",
            visible_when={">": [{"var": "employees"}, 100]},
            labels=labels("Notes for large clients", "Заметки о крупном клиенте"),
        ),
        numbering={"template": "CL-{counter:4}"},
        labels=labels("Clients", RU["clients"]),
    )


def deals() -> dict:
    return stream(
        "deals",
        field(
            "subject",
            required=True,
            searchable=True,
            in_list=True,
            labels=labels("Subject", "Тема"),
        ),
        field("client", "link", stream="clients", in_list=True, labels=labels("Client", "Клиент")),
        field(
            "items",
            "table",
            labels=labels("Items", "Позиции"),
            totals=["total"],
            columns=[
                field("product", required=True, labels=labels("Product", "Товар")),
                field("quantity", "integer", labels=labels("Quantity", "Количество")),
                field("price", "money", labels=labels("Price", "Цена")),
                field(
                    "total",
                    "money",
                    formula="quantity * price",
                    readonly=True,
                    labels=labels("Total", "Сумма"),
                ),
            ],
        ),
        numbering={"template": "D-{counter}"},
        labels=labels("Deals", RU["deals"]),
    )


@pytest.fixture
def sales(publisher: Publisher, create_user: Callable[..., int]) -> None:
    create_user("boss", admin=True, full_name="Alexandra Konstantinopolskaya")
    publisher.publish(dictionary("regions", "moscow", "kazan"), clients(), deals())


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def start(page: Page, live_server: LiveServer, size: str, language: str) -> str:
    """Log in at the window size and in the language of the run; the screenshots' suffix."""
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    page.goto(live_server("/login"))
    switch_language(page, language)
    log_in(page, live_server)
    expect(page).to_have_url(live_server("/"))
    return f"{size}-{language}"


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_register_edit_link_search_trash_and_restore(
    page: Page, live_server: LiveServer, sales: None, console: Console, size: str, language: str
):
    shot = start(page, live_server, size, language)

    # Register a client; the notes field appears only once the client is large.
    page.goto(live_server("/s/clients/new"))
    no_sideways_scroll(page)
    notes = page.locator('[data-field="notes"]')
    expect(notes).to_be_hidden()
    page.fill("#f-name", "Ромашка Trading")
    page.fill("#f-inn", "7707083893")
    page.select_option("#f-region", label="Kazan")
    page.fill("#f-employees", "150")
    expect(notes).to_be_visible()
    page.fill("#f-notes", "Key account")
    screenshot(page, f"{shot}-document-new")
    page.click("form.card-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Ромашка Trading")
    expect(page.locator(".doc-number")).to_have_text("CL-0001")
    expect(page.locator(".card-section")).to_contain_text("Key account")
    no_sideways_scroll(page)
    client_url = page.url

    # Bad input is refused with the message by the field, and the input is kept.
    page.locator(".page-head .actions a").first.click()
    expect(page).to_have_url(client_url + "/edit")
    page.fill("#f-inn", "1234567890")
    page.fill("#f-name", "Ромашка Holding")
    page.click("form.card-form button[type=submit]")
    expect(page.locator('[data-field="inn"] .field-error')).to_be_visible()
    expect(page.locator("#f-name")).to_have_value("Ромашка Holding")
    screenshot(page, f"{shot}-document-errors")
    page.fill("#f-inn", "7707083893")
    page.click("form.card-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Ромашка Holding")

    # A deal linked to the client, chosen by typing part of its name; totals as one types.
    page.goto(live_server("/s/deals/new"))
    page.fill("#f-subject", "Supply of chairs")
    page.fill("#f-client", "Ромаш")
    page.locator(".picker-choices [data-pick-value]").first.click()
    expect(page.locator('input[name="client"]')).not_to_have_value("")
    page.click("[data-add-row]")
    page.fill('input[name="items.0.product"]', "Chair")
    page.fill('input[name="items.0.quantity"]', "4")
    page.fill('input[name="items.0.price"]', "250")
    expect(page.locator('[data-cell="total"]').first).to_contain_text("1")
    expect(page.locator('[data-total="total"]')).to_contain_text("000")
    screenshot(page, f"{shot}-document-table")
    page.click("form.card-form button[type=submit]")
    expect(page.locator(".doc-number")).to_have_text("D-1")
    page.locator(".card-section a", has_text="Ромашка Holding").click()
    expect(page).to_have_url(client_url)

    # Search the list as one types.
    page.goto(live_server("/s/deals/"))
    page.fill("#list-search", "chairs")
    expect(page.locator("#document-list")).to_contain_text("D-1")
    page.fill("#list-search", "tables")
    expect(page.locator("#document-list")).not_to_contain_text("D-1")
    screenshot(page, f"{shot}-document-list")
    no_sideways_scroll(page)

    # To the trash and back.
    page.goto(client_url)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click(".danger-zone button[type=submit]")
    expect(page).to_have_url(live_server("/s/clients/"))
    expect(page.locator("#document-list")).not_to_contain_text("CL-0001")
    page.goto(client_url)
    expect(page.locator(".notice-warning")).to_be_visible()
    page.click("form.restore-form button[type=submit]")
    expect(page.locator(".notice-warning")).to_have_count(0)
    expect(page.locator("h1")).to_contain_text("Ромашка Holding")
    assert console.unexpected(400) == []


def register_client(page: Page, live_server: LiveServer, name: str, region: str) -> str:
    page.goto(live_server("/s/clients/new"))
    page.fill("#f-name", name)
    page.select_option("#f-region", label=region)
    page.click("form.card-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text(name)
    return page.url


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_filter_a_list_attach_download_and_view_a_file(
    page: Page, live_server: LiveServer, sales: None, console: Console, size: str, language: str
):
    shot = start(page, live_server, size, language)

    # The top bar's search box is on every page and leads to the global search.
    search = page.locator(".topbar-search input[type=search]")
    expect(search).to_be_visible()
    register_client(page, live_server, "Alpha Trading", "Moscow")
    card_url = register_client(page, live_server, "Beta Holding", "Kazan")
    page.locator(".topbar-search input[type=search]").fill("Beta")
    page.locator(".topbar-search input[type=search]").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=Beta$"))
    expect(page.locator("main")).to_contain_text("Beta Holding")
    expect(page.locator("main")).not_to_contain_text("Alpha Trading")
    no_sideways_scroll(page)

    # The list narrows to the region chosen in its filters, and the address keeps the filter.
    page.goto(live_server("/s/clients/"))
    rows = page.locator("#document-list")
    expect(rows).to_contain_text("Alpha Trading")
    expect(rows).to_contain_text("Beta Holding")
    page.click("details.list-filter-panel > summary")
    page.select_option("#filter-region", label="Kazan")
    expect(rows).not_to_contain_text("Alpha Trading")
    expect(rows).to_contain_text("Beta Holding")
    expect(page).to_have_url(re.compile(r"f\.region=\d+"))
    screenshot(page, f"{shot}-list-filtered")
    no_sideways_scroll(page)
    page.reload()  # the filtered address alone gives the same list
    expect(rows).not_to_contain_text("Alpha Trading")
    expect(rows).to_contain_text("Beta Holding")

    # A file attached on the card is listed, downloads as it was and opens for viewing.
    page.goto(card_url)
    content = "Договор № 7, итог 100 ₽\n".encode()
    page.locator(".file-upload input[type=file]").set_input_files(
        {"name": "contract.txt", "mimeType": "text/plain", "buffer": content}
    )
    page.click(".file-upload button[type=submit]")
    listed = page.locator(".file-list .file")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("contract.txt")
    screenshot(page, f"{shot}-card-file")
    no_sideways_scroll(page)
    with page.expect_download() as download_info:
        listed.locator("a[download]").click()
    download = download_info.value
    assert download.suggested_filename == "contract.txt"
    assert Path(download.path()).read_bytes() == content
    with page.context.expect_page() as preview_info:
        listed.locator("a[target=_blank]").click()
    preview = preview_info.value
    preview.wait_for_load_state()
    expect(preview.locator("body")).to_contain_text("Договор № 7, итог 100 ₽")
    preview.close()

    # The history tells what happened, in the page's language.
    page.goto(card_url + "/history")
    attached = {"en": "File attached", "ru": "Прикреплён файл"}[language]
    expect(page.locator(".history-entry").first).to_contain_text(attached)
    expect(page.locator(".history-entry").first).to_contain_text("contract.txt")
    assert console.unexpected() == []
