"""One exception hierarchy for everything a request can fail with; the HTTP status is on
the class, and ``potok.platform.web.errors`` renders every one of them in one place (a page,
an htmx fragment or JSON, in the user's language).

::

    PotokError                     500  unexpected failure
     +-- BadRequest                400  malformed input
     |    +-- ValidationFailed     400  input that breaks a rule; carries per-field messages
     +-- NotAuthenticated          401  login needed (pages redirect to /login)
     +-- PermissionDenied          403  the user may not do this
     |    +-- CsrfFailed           403  the form's security token is missing or wrong
     +-- NotFound                  404  no such page or object (also for objects one may not see)
     +-- MethodNotAllowed          405
     +-- Conflict                  409  someone changed the object meanwhile, or a duplicate
     +-- PayloadTooLarge           413  request body over POTOK_MAX_REQUEST_BYTES
     +-- TooManyRequests           429  throttled (e.g. too many failed logins)
     +-- ServiceUnavailable        503  the database does not answer

    SettingsError                        a POTOK_* variable has a bad value (CLI, start-up)

Messages are English message ids (marked with ``N_`` for the catalog extractor) with
``%(name)s`` placeholders filled from ``params`` after translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def N_(message: str) -> str:
    """Mark a string for translation without translating it now."""
    return message


class SettingsError(Exception):
    """A ``POTOK_*`` setting has a value Potok cannot use."""


class PotokError(Exception):
    status = 500
    title = N_("Something went wrong")
    message = N_("An unexpected error happened. It has been logged; please try again.")

    def __init__(
        self,
        message: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        field_errors: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        self.params: dict[str, Any] = dict(params or {})
        self.field_errors: dict[str, str] = dict(field_errors or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message % self.params if self.params else self.message)


class BadRequest(PotokError):
    status = 400
    title = N_("The request could not be understood")
    message = N_("The request was malformed. Please go back and try again.")


class ValidationFailed(BadRequest):
    title = N_("Please correct the highlighted fields")
    message = N_("Some values are not valid; nothing was saved.")


class NotAuthenticated(PotokError):
    status = 401
    title = N_("Please log in")
    message = N_("Your session has ended or you are not logged in.")


class PermissionDenied(PotokError):
    status = 403
    title = N_("Access denied")
    message = N_("You do not have permission to do this.")


class CsrfFailed(PermissionDenied):
    title = N_("The form has expired")
    message = N_(
        "The form's security token was missing or wrong, so nothing was changed. "
        "Reload the page and submit the form again."
    )


class NotFound(PotokError):
    status = 404
    title = N_("Page not found")
    message = N_("There is nothing at this address. It may have been moved or deleted.")


class MethodNotAllowed(PotokError):
    status = 405
    title = N_("Method not allowed")
    message = N_("This address does not accept that kind of request.")


class Conflict(PotokError):
    status = 409
    title = N_("Conflicting change")
    message = N_("Someone else changed this at the same time; nothing was saved.")


class PayloadTooLarge(PotokError):
    status = 413
    title = N_("Too much data")
    message = N_("The request is larger than the %(limit)s this server accepts; nothing was saved.")


class TooManyRequests(PotokError):
    status = 429
    title = N_("Too many attempts")
    message = N_("Too many attempts. Please wait and try again.")


class ServiceUnavailable(PotokError):
    status = 503
    title = N_("Service unavailable")
    message = N_(
        "The database is not answering, so nothing could be read or saved. "
        "Please try again in a minute; if it persists, tell your administrator."
    )


STATUS_CLASSES: dict[int, type[PotokError]] = {
    cls.status: cls
    for cls in (
        PotokError,
        BadRequest,
        NotAuthenticated,
        PermissionDenied,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        TooManyRequests,
        ServiceUnavailable,
    )
}


def error_for_status(status: int) -> PotokError:
    """The error instance that stands for a bare HTTP status (e.g. Starlette's own 404)."""
    return STATUS_CLASSES.get(status, BadRequest if 400 <= status < 500 else PotokError)()
