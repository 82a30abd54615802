"""English and Russian for every screen, from Babel message catalogs.

Source strings are English message ids; ``locale/ru/LC_MESSAGES/messages.po`` holds the
Russian. The catalog is compiled in memory when the app starts (no binary ``.mo`` files in
the repository). ``scripts/i18n`` extracts new strings; a test fails when a string of the UI
has no Russian translation.

A :class:`Translator` is made per language and passed explicitly (to templates as ``_``),
never kept in a global.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import cached_property
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from potok.errors import N_, PotokError
from potok.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def load_translations(language: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``language``; English is the source language itself."""
    po_path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == "en" or not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class ByteSize(int):
    """A number of bytes, shown as KB or MB in the reader's language."""


class Translator:
    """Strings, dates and numbers in one language and time zone."""

    def __init__(
        self, language: str, translations: _gettext.NullTranslations, timezone: str
    ) -> None:
        self.language = language
        self._translations = translations
        self.tz = ZoneInfo(timezone)

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._translations.ngettext(singular, plural, count)

    def format(self, message: str, params: Mapping[str, Any] | None = None) -> str:
        """Translate ``message`` and fill its ``%(name)s`` placeholders; dates, times and
        :class:`ByteSize` values are written the way this language writes them."""
        text = self.gettext(message)
        if not params:
            return text
        return text % {name: self.value(value) for name, value in params.items()}

    def value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.datetime(value, "short")
        if isinstance(value, date):
            return self.date(value)
        if isinstance(value, ByteSize):
            return self.size(value)
        return value

    def size(self, size: int) -> str:
        """A file size for people: bytes below a kilobyte, then KB, then MB."""
        if size < 1024:
            unit = self.gettext(N_("B"))
            return f"{format_decimal(size, locale=self.locale)} {unit}"
        if size >= 1024 * 1024:
            amount, unit = size / 1024 / 1024, self.gettext(N_("MB"))
        else:
            amount, unit = size / 1024, self.gettext(N_("KB"))
        return f"{format_decimal(round(amount, 1), locale=self.locale)} {unit}"

    def error_title(self, error: PotokError) -> str:
        return self.gettext(error.title)

    def error_message(self, error: PotokError) -> str:
        return self.format(error.message, error.params)

    def local(self, moment: datetime) -> datetime:
        """A stored naive-UTC datetime in the configured time zone."""
        return moment.replace(tzinfo=UTC).astimezone(self.tz)

    def datetime(self, moment: datetime | None, style: str = "medium") -> str:
        if moment is None:
            return ""
        return format_datetime(self.local(moment), style, locale=self.locale)

    def date(self, day: date | None, style: str = "medium") -> str:
        if day is None:
            return ""
        return format_date(day, style, locale=self.locale)

    def number(self, value: float | int) -> str:
        return format_decimal(value, locale=self.locale)


class Catalogs:
    """The translators of every supported language, built once per app."""

    def __init__(self, default_language: str, timezone: str) -> None:
        self.default_language = default_language
        self._translators = {
            language: Translator(language, load_translations(language), timezone)
            for language in LANGUAGES
        }

    def translator(self, language: str | None) -> Translator:
        return self._translators.get(language or "", self._translators[self.default_language])

    @staticmethod
    def supported(language: str | None) -> bool:
        return language in LANGUAGES
