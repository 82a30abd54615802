"""Every string of the UI has a Russian translation, and the screens come out in Russian.

The strings are extracted here exactly as ``scripts/i18n`` extracts them (the method map of
``babel.cfg``, the keywords the script passes), so a failing test names the strings the script
would add or drop: run ``scripts/i18n`` and translate the empty ``msgstr`` entries of
``potok/platform/locale/ru/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from potok.platform.i18n import LOCALE_DIR, Translator, load_translations
from tests.conftest import Client, FakeClock

ROOT = Path(__file__).resolve().parents[2]
CATALOG_PATH = LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po"
RUSSIAN_PLURALS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)
PLACEHOLDER = re.compile(r"%\((\w+)\)")

MessageId = str | tuple[str, ...]


# The source and the catalog ---------------------------------------------------------------


def source_messages() -> dict[MessageId, list[str]]:
    """Every message id of the source tree, with the files it is used in."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    script = (ROOT / "scripts" / "i18n").read_text(encoding="utf-8")
    keywords = parse_keywords(re.findall(r"--keyword=(\S+)", script))
    assert keywords, "scripts/i18n passes no --keyword options"
    found: dict[MessageId, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[MessageId, list[str]]:
    messages = source_messages()
    assert len(messages) > 100, "the extractor found almost nothing; is babel.cfg right?"
    return messages


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    with CATALOG_PATH.open("rb") as po_file:
        return read_po(po_file, locale="ru")


def entries(catalog: Catalog) -> Iterator[Message]:
    return (message for message in catalog if message.id)


def forms(message: Message) -> tuple[str, ...]:
    """The translated text of a message: one string, or one per plural form."""
    string = message.string
    return tuple(string) if isinstance(string, list | tuple) else (string,)


def singular(message_id: MessageId) -> str:
    """The key of a message in a catalog: its id, or the singular of a plural message."""
    return message_id if isinstance(message_id, str) else message_id[0]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def listing(items: dict[MessageId, list[str]] | list[MessageId]) -> str:
    lines = []
    for message_id in sorted(items, key=str):
        where = f"  ({', '.join(items[message_id][:3])})" if isinstance(items, dict) else ""
        lines.append(f"  {message_id!r}{where}")
    return "\n".join(lines)


# The catalog --------------------------------------------------------------------------------


def test_every_string_of_the_ui_has_a_russian_translation(
    extracted: dict[MessageId, list[str]], catalog: Catalog
):
    missing = {}
    for message_id, places in extracted.items():
        message = catalog.get(message_id)
        if (
            message is None
            or message.fuzzy
            or not all(text.strip() for text in forms(message))
            or (message.pluralizable and len(forms(message)) != catalog.num_plurals)
        ):
            missing[message_id] = places
    assert not missing, (
        f"{len(missing)} strings have no Russian translation; run scripts/i18n and "
        f"translate them in {CATALOG_PATH.relative_to(ROOT)}:\n{listing(missing)}"
    )


def test_translations_keep_the_placeholders_of_their_message(catalog: Catalog):
    broken = []
    for message in entries(catalog):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        expected = set().union(*(placeholders(text) for text in ids))
        for text in forms(message):
            if text and placeholders(text) != expected:
                broken.append(f"  {message.id!r}: {text!r}")
                continue
            if expected:
                try:
                    text % dict.fromkeys(expected, 1)
                except (TypeError, ValueError, KeyError) as error:
                    broken.append(f"  {message.id!r}: {text!r} ({error})")
    assert not broken, "translations whose %(name)s placeholders differ:\n" + "\n".join(broken)


def test_the_catalog_holds_no_strings_the_source_no_longer_uses(
    extracted: dict[MessageId, list[str]], catalog: Catalog
):
    in_use = {singular(message_id) for message_id in extracted}
    unused = [message.id for message in entries(catalog) if singular(message.id) not in in_use]
    unused += [message.id for message in catalog.obsolete.values()]
    assert not unused, (
        "the Russian catalog has strings no longer in the source; run scripts/i18n:\n"
        + listing(unused)
    )


def test_the_catalog_has_no_fuzzy_entries_and_russian_plural_forms(catalog: Catalog):
    fuzzy = [message.id for message in entries(catalog) if message.fuzzy]
    assert not fuzzy, "fuzzy entries are not used by the app; check and unmark:\n" + listing(fuzzy)
    header_block = CATALOG_PATH.read_text(encoding="utf-8").split("\n\n", 1)[0]
    header = "".join(re.findall(r'^"(.*)"$', header_block, re.MULTILINE)).split("\\n")
    assert f"Plural-Forms: {RUSSIAN_PLURALS}" in header
    translations = load_translations("ru")
    plural: Callable[[int], int] = translations.plural  # type: ignore[attr-defined]
    assert [plural(n) for n in (1, 2, 5, 11, 21, 22, 25, 111)] == [0, 1, 2, 2, 0, 1, 2, 2]


# Dates, numbers and messages through the Translator -----------------------------------------


@pytest.fixture
def russian() -> Translator:
    return Translator("ru", load_translations("ru"), "Europe/Moscow")


def test_the_translator_writes_dates_and_numbers_the_russian_way(russian: Translator):
    def plain(text: str) -> str:  # CLDR puts (narrow) no-break spaces in these
        return text.replace("\u202f", " ").replace("\xa0", " ")

    assert plain(russian.date(date(2024, 3, 5))) == "5 мар. 2024 г."
    assert plain(russian.date(date(2024, 3, 5), "long")) == "5 марта 2024 г."
    # Stored times are naive UTC and shown in the configured zone (Moscow is UTC+3).
    assert russian.datetime(datetime(2024, 3, 5, 21, 30), "short") == "06.03.2024, 00:30"
    assert plain(russian.number(1234567.5)) == "1 234 567,5"
    assert russian.date(None) == "" and russian.datetime(None) == ""
    assert [plain(russian.size(n)) for n in (0, 30, 1023, 1536, 5 * 1024 * 1024)] == [
        "0 Б",
        "30 Б",
        "1 023 Б",
        "1,5 КБ",
        "5 МБ",
    ]


def test_the_translator_translates_and_fills_placeholders(russian: Translator):
    assert russian.gettext("Log in") == "Войти"
    assert russian("Users") == "Пользователи"
    assert russian.format("Welcome, %(name)s", {"name": "Анна"}) == "Добро пожаловать, Анна"
    english = Translator("en", load_translations("en"), "UTC")
    assert english.format("Welcome, %(name)s", {"name": "Ann"}) == "Welcome, Ann"
    assert english.number(1234567.5) == "1,234,567.5"


# Pages ------------------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """The text a person sees or hears on a page: text nodes and labelling attributes.

    Left out: scripts, ``<code>`` (role keys, setting names, audit action codes) and the
    details of audit entries, which are data recorded as it was, not text of the UI.
    """

    ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-label", "data-confirm")
    SKIPPED_TAGS = ("script", "style", "code")
    SKIPPED_CLASSES = ("audit-details",)
    VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr")

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if not self._skip_depth:
            self.chunks += [str(values[name]) for name in self.ATTRIBUTES if values.get(name)]
        if tag in self.VOID:
            return
        classes = str(values.get("class") or "").split()
        if (
            self._skip_depth
            or tag in self.SKIPPED_TAGS
            or any(name in classes for name in self.SKIPPED_CLASSES)
        ):
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth and tag not in self.VOID:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and data.strip():
            self.chunks.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.chunks


def english_left_over(html: str, catalog: Catalog) -> set[str]:
    """English UI strings (those the catalog translates differently) still on a page."""
    text = "\n".join(visible_text(html))
    left = set()
    for message in entries(catalog):
        for english in message.id if isinstance(message.id, tuple) else (message.id,):
            if english in forms(message):
                continue
            pattern = r"(?<!\w)" + PLACEHOLDER.sub(r"\\w+", re.escape(english)) + r"(?!\w)"
            if re.search(pattern, text):
                left.add(english)
    return left


def to_russian(client: Client, next_url: str = "/") -> None:
    response = client.submit("/language", {"language": "ru", "next": next_url})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == next_url


def test_the_login_page_switches_to_russian_and_back(client: Client):
    page = client.get("/login").text
    assert '<html lang="en">' in page and ">Log in<" in page

    to_russian(client, "/login")
    page = client.get("/login").text
    assert '<html lang="ru">' in page
    assert "<h1>Вход в Potok</h1>" in page and ">Войти</button>" in page
    assert ">Имя пользователя<" in page and ">Пароль<" in page
    assert "Log in" not in page and "Username" not in page

    response = client.submit("/language", {"language": "en", "next": "/login"})
    assert response.status_code == 303
    page = client.get("/login").text
    assert '<html lang="en">' in page and ">Log in<" in page and "Войти" not in page


def test_a_failed_login_says_so_in_russian(client: Client, create_user: Callable[..., int]):
    create_user("ann")
    to_russian(client, "/login")
    response = client.submit("/login", {"username": "ann", "password": "wrong-password"})
    assert "Неверное имя пользователя или пароль." in response.text


@pytest.fixture
def russian_admin(
    admin: Client, create_user: Callable[..., int], clock: FakeClock
) -> Iterator[Client]:
    """The administrator in Russian, with a department and a deputy so that lists have rows."""
    ann = create_user("ann", full_name="Анна Петрова")
    bob = create_user("bob", full_name="Борис Иванов")
    to_russian(admin)
    response = admin.submit(
        "/admin/departments/new", {"name": "Продажи", "code": "SALES", "head_id": str(ann)}
    )
    assert response.status_code == 303, response.text
    page = admin.get(response.headers["location"]).text
    assert "Подразделение «Продажи» создано." in page
    today = clock().date()
    response = admin.submit(
        "/admin/deputies",
        {
            "principal_id": str(ann),
            "deputy_id": str(bob),
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "reason": "отпуск",
        },
    )
    assert response.status_code == 303, response.text
    assert "Заместитель назначен." in admin.get(response.headers["location"]).text
    yield admin


ADMIN_PAGES = [
    pytest.param("/", ("Welcome, %(name)s", {"name": "Boss"}), id="home"),
    pytest.param("/admin/", ("Administration", {}), id="admin"),
    pytest.param("/admin/users", ("Users", {}), id="users"),
    pytest.param("/admin/users/new", ("New user", {}), id="user-new"),
    pytest.param("/admin/roles", ("Roles", {}), id="roles"),
    pytest.param("/admin/roles/new", ("New role", {}), id="role-new"),
    pytest.param("/admin/departments", ("Departments", {}), id="departments"),
    pytest.param("/admin/departments/new", ("New department", {}), id="department-new"),
    pytest.param("/admin/deputies", ("Deputies", {}), id="deputies"),
    pytest.param("/admin/audit", ("Audit log", {}), id="audit"),
    pytest.param("/admin/system", ("System", {}), id="system"),
    pytest.param("/account", ("My account", {}), id="account"),
    pytest.param("/logout", ("Log out of Potok?", {}), id="logout"),
]


@pytest.mark.parametrize(("path", "heading"), ADMIN_PAGES)
def test_pages_are_in_russian_with_no_english_left(
    russian_admin: Client, catalog: Catalog, path: str, heading: tuple[str, dict[str, Any]]
):
    response = russian_admin.get(path)
    assert response.status_code == 200, response.text
    page = response.text
    assert '<html lang="ru">' in page
    message, params = heading
    title = catalog.get(message).string % params
    assert title != message % params
    assert f"<h1>{title}</h1>" in page
    assert not english_left_over(page, catalog)


def test_the_user_page_with_history_is_in_russian(russian_admin: Client, catalog: Catalog):
    users = russian_admin.get("/admin/users").text
    user_path = re.findall(r'href="(/admin/users/\d+)">Анна Петрова<', users)[0]
    page = russian_admin.get(user_path).text
    assert "<h1>Анна Петрова</h1>" in page and "Сеансы" in page and "История" in page
    assert not english_left_over(page, catalog)


def test_form_errors_are_in_russian(russian_admin: Client):
    response = russian_admin.submit("/admin/users/new", {"username": "", "password": "x"})
    assert response.status_code == 400
    assert "Исправьте отмеченные поля; изменения не сохранены." in response.text
    assert "Введите имя пользователя." in response.text


def test_an_error_page_is_in_russian_for_a_russian_user(admin: Client, catalog: Catalog):
    to_russian(admin)
    response = admin.get("/no-such-page")
    assert response.status_code == 404
    assert '<html lang="ru">' in response.text
    assert "<h1>Страница не найдена</h1>" in response.text
    assert "На главную" in response.text
    assert not english_left_over(response.text, catalog)


def test_json_errors_carry_russian_text(client: Client):
    to_russian(client)
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {
        "error": "Страница не найдена",
        "detail": "По этому адресу ничего нет. Возможно, страница была перемещена или удалена.",
        "status": 404,
    }
    response = client.submit(
        "/language", {"language": "xx"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "Выберите язык из списка."
