"""The Jinja2 environment shared by every package.

Templates are namespaced per package (``platform/base.html``, ``runtime/card.html``);
partials start with ``_``. Autoescaping is on for every template. Strings are translated with
``{{ _("…") }}`` and ``{% trans %}``, through the request's translator in the context (``t``),
so one environment serves both languages at once. URLs come from ``url("route-name", …)``
and ``static("path")`` — never from string formatting.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context

from potok.platform.i18n import LANGUAGE_NAMES, Translator
from potok.platform.static import StaticFiles


@pass_context
def _gettext(context: Context, message: str) -> str:
    translator: Translator = context["t"]
    return translator.gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    translator: Translator = context["t"]
    return translator.ngettext(singular, plural, count)


@pass_context
def _url(context: Context, name: str, **params: Any) -> str:
    return str(context["request"].app.url_path_for(name, **params))


@pass_context
def _format_datetime(context: Context, moment: datetime | None, style: str = "medium") -> str:
    translator: Translator = context["t"]
    return translator.datetime(moment, style)


@pass_context
def _format_date(context: Context, day: date | None, style: str = "medium") -> str:
    translator: Translator = context["t"]
    return translator.date(day, style)


def make_environment(template_dirs: Iterable[Path], static: StaticFiles) -> Environment:
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(path)) for path in template_dirs]),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    environment.globals.update(
        url=_url,
        static=static.url,
        language_names=LANGUAGE_NAMES,
    )
    environment.filters.update(datetime=_format_datetime, date=_format_date)
    return environment
