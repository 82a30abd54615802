"""What a route transition can fail with, in the project's exception hierarchy.

A refused decision changes nothing (the caller rolls back, and the engine checks everything
before it writes). :class:`RouteRuntimeError` is different: it never reaches the caller of a
transition; the engine puts the instance in "needs attention" with its message instead.
"""

from __future__ import annotations

from typing import Any

from potok.errors import N_, Conflict, PermissionDenied, PotokError, ValidationFailed


class TaskClosed(Conflict):
    message = N_("This task is already closed; nothing was changed.")


class TaskDelegated(Conflict):
    message = N_(
        "This task is with the colleague it was delegated to; it comes back to you when they "
        "are done."
    )


class NotYourTask(PermissionDenied):
    message = N_("This task is not yours to decide.")


class RouteNotRunning(Conflict):
    message = N_("The route of this document is not running; nothing was changed.")


class RouteAlreadyRunning(Conflict):
    message = N_("This route is already running for the document.")


class UnknownDecision(ValidationFailed):
    message = N_("This decision is not possible for this task.")


class CommentRequired(ValidationFailed):
    message = N_("Write a comment to explain this decision.")

    def __init__(self) -> None:
        super().__init__(field_errors={"comment": self.message})


class DelayReasonRequired(ValidationFailed):
    message = N_("The deadline has passed: write the reason for the delay.")

    def __init__(self) -> None:
        super().__init__(field_errors={"delay_reason": self.message})


class SelfApprovalForbidden(PermissionDenied):
    message = N_("You cannot approve your own document at this step.")


class InvalidAssignee(ValidationFailed):
    message = N_("Choose another active user.")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field_errors={"user": message or self.message})


class RouteRuntimeError(PotokError):
    """The route cannot go on (an empty role, a missing field…); the instance needs an
    administrator's attention."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message, params=params)

    @property
    def text(self) -> str:
        return self.message % self.params if self.params else self.message


class RouteVersionCurrent(Conflict):
    message = N_("The document already follows this version of the route; nothing was changed.")


class RouteVersionOlder(ValidationFailed):
    message = N_("Choose a newer version of the route than the one the document follows.")


class StepsMissingInVersion(Conflict):
    message = N_(
        "The newer version of the route lacks the steps the document is at now: %(steps)s. "
        "Nothing was changed."
    )
