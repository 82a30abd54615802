"""The search box in the top bar: a plain GET form to the global search, with a label for
screen readers, shown only to someone logged in — in English and Russian."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.conftest import Client
from tests.platform.test_i18n import to_russian


class _TopbarSearch(HTMLParser):
    """The attributes of the top bar's search form, its inputs and its labels."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict[str, str | None] | None = None
        self.inputs: list[dict[str, str | None]] = []
        self.labels: dict[str, str] = {}  # for -> text
        self._inside = False
        self._label_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and "topbar-search" in (found.get("class") or "").split():
            self.form, self._inside = found, True
        elif self._inside and tag == "input":
            self.inputs.append(found)
        elif self._inside and tag == "label":
            self._label_for = found.get("for") or ""
            self.labels[self._label_for] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "label":
            self._label_for = None

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self.labels[self._label_for] += data


def topbar_search(html: str) -> _TopbarSearch:
    parser = _TopbarSearch()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    ("language", "label", "placeholder"),
    [
        pytest.param("en", "Search in all documents", "Search documents", id="en"),
        pytest.param("ru", "Поиск по всем документам", "Поиск документов", id="ru"),
    ],
)
def test_a_logged_in_user_gets_a_labelled_search_box(
    admin: Client, language: str, label: str, placeholder: str
):
    if language == "ru":
        to_russian(admin)
    found = topbar_search(admin.get("/").text)
    assert found.form is not None
    assert found.form["method"] == "get" and found.form["action"] == "/search"
    [box] = [item for item in found.inputs if item.get("name") == "q"]
    assert box["type"] == "search" and box["placeholder"] == placeholder
    assert found.labels[box["id"] or ""].strip() == label
    # The form leads to the global search, which answers what was typed.
    page = admin.get(found.form["action"] or "", params={"q": "Romashka"})
    assert page.status_code == 200 and 'value="Romashka"' in page.text


def test_no_search_box_before_logging_in(client: Client):
    page = client.get("/login")
    assert page.status_code == 200
    assert topbar_search(page.text).form is None and "/search" not in page.text
