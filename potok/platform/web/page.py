"""What every rendered page needs: the translator, the user, navigation, the CSRF token and
flash messages. Shared by views (through ``Ctx.render``) and by the error renderer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.types import Scope

from potok.platform.auth import CurrentUser
from potok.platform.csrf import SCOPE_KEY as CSRF_SCOPE_KEY
from potok.platform.csrf import CsrfState
from potok.platform.i18n import Translator

if TYPE_CHECKING:
    from potok.platform.services import Services

USER_KEY = "potok.user"
LANG_KEY = "potok.lang"
EXPIRED_KEY = "potok.session_expired"
# A session cookie not looked up yet: a callable ``(scope, session | None) -> None`` that fills
# USER_KEY, EXPIRED_KEY and LANG_KEY (see ``middleware.SessionMiddleware``).
PENDING_KEY = "potok.session_pending"
LANG_COOKIE = "potok_lang"
FLASH_COOKIE = "potok_flash"


def resolve_session(scope: Scope, session: Any = None) -> None:
    """Look up the session cookie now if nobody has yet — in the caller's thread and, when
    given, in the caller's database session (a view's), so a request asks only once."""
    pending = scope.pop(PENDING_KEY, None)
    if pending is not None:
        pending(scope, session)


def current_user(scope: Scope, session: Any = None) -> CurrentUser | None:
    resolve_session(scope, session)
    user = scope.get(USER_KEY)
    return user if isinstance(user, CurrentUser) else None


def translator_for(services: Services, scope: Scope) -> Translator:
    resolve_session(scope)
    return services.catalogs.translator(scope.get(LANG_KEY))


def csrf_token(scope: Scope) -> str:
    state = scope.get(CSRF_SCOPE_KEY)
    return state.token if isinstance(state, CsrfState) else ""


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_json(request: Request) -> bool:
    if request.url.path.startswith(("/api/", "/healthz")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def flash_serializer(services: Services) -> URLSafeSerializer:
    return URLSafeSerializer(services.secret_key, salt="potok.flash")


def read_flashes(services: Services, request: Request) -> list[dict[str, Any]]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = flash_serializer(services).loads(raw)
    except BadSignature:
        return []
    translator = translator_for(services, request.scope)
    return [
        {"kind": kind, "text": translator.format(message, params)}
        for kind, message, params in items
        if isinstance(message, str)
    ]


def base_context(
    services: Services, request: Request, *, session: Any = None, nav: bool = True
) -> dict[str, Any]:
    """What every page's layout needs. ``nav=False`` for an htmx fragment, which has no
    navigation to draw; ``session`` lets the navigation reuse the request's."""
    user = current_user(request.scope)
    translator = translator_for(services, request.scope)
    return {
        "request": request,
        "t": translator,
        "lang": translator.language,
        "user": user,
        "nav": services.nav_for(user, session) if user and nav else [],
        "csrf_token": csrf_token(request.scope),
        "hx_headers": json.dumps({"X-CSRF-Token": csrf_token(request.scope)}),
        "flashes": read_flashes(services, request),
        "current_path": request.url.path,
    }
