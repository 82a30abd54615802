"""The Jinja2 environment shared by every package.

Templates are namespaced per package (``platform/base.html``, ``runtime/card.html``);
partials start with ``_``. Autoescaping is on for every template. Strings are translated with
``{{ _("…") }}`` and ``{% trans %}``, through the request's translator in the context (``t``),
so one environment serves both languages at once. URLs come from ``url("route-name", …)``
and ``static("path")`` — never from string formatting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from potok.platform.i18n import LANGUAGE_NAMES, Translator
from potok.platform.static import StaticFiles

# Jinja's "new style" gettext, without its cost where it does nothing: the translation is
# Markup (autoescape is always on) and formatted with the call's keyword arguments, escaped.
# Jinja formats even a text with no arguments (Markup % {}), which was a sixth of a card's
# rendering; here a text without "%" is returned as it is — the same result.


@pass_context
def _gettext(context: Context, message: str, **variables: Any) -> Markup:
    translator: Translator = context["t"]
    # The catalogs ship with the package: trusted as Jinja's own gettext trusts them.
    text = Markup(translator.gettext(message))  # noqa: S704
    return text % variables if variables or "%" in text else text


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int, **variables: Any) -> Markup:
    translator: Translator = context["t"]
    variables.setdefault("num", count)
    return Markup(translator.ngettext(singular, plural, count)) % variables  # noqa: S704


@pass_context
def _url(context: Context, name: str, **params: Any) -> str:
    return url_path(context["request"].app, name, params)


def url_path(app: Any, name: str, params: Mapping[str, Any]) -> str:
    """The path of the route ``name`` with ``params``.

    Starlette finds a name by walking every route, and a list page builds a link per row. So
    a path is built once per route and set of non-numeric parameters, with a marker in place
    of each whole-number parameter (a document id), and the numbers are put in afterwards.
    """
    fixed: dict[str, Any] = {}
    numbers: list[tuple[str, str]] = []
    for key, value in params.items():
        if type(value) is int and value >= 0:
            fixed[key] = _MARKER + len(numbers)
            numbers.append((str(fixed[key]), str(value)))
        else:
            fixed[key] = value
    cache_key = (name, tuple(sorted(fixed.items())))
    paths: dict[Any, str] | None = getattr(app.state, "url_paths", None)
    if paths is None:
        paths = app.state.url_paths = {}
    try:
        path = paths.get(cache_key)
    except TypeError:  # a parameter that cannot be a cache key
        return str(app.url_path_for(name, **params))
    if path is None:
        path = str(app.url_path_for(name, **fixed))
        if len(paths) >= _KEPT_PATHS:
            paths.clear()
        paths[cache_key] = path
    for marker, value in numbers:
        path = path.replace(marker, value)
    return path


_KEPT_PATHS = 10_000
# A number no real path contains: 19 digits, more than any document id.
_MARKER = 7_919_302_613_577_491_000


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
        # Templates ship with the package and change only with it (and a restart): no stat()
        # of every template file on every render.
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=False
    )
    environment.globals.update(
        url=_url,
        static=static.url,
        language_names=LANGUAGE_NAMES,
    )
    environment.filters.update(datetime=_format_datetime, date=_format_date)
    return environment
