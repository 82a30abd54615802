"""Automatic steps: set a field, create a linked document, send an e-mail.

Each action is registered by its type, the way a plugin would add one. An action writes
through ``potok.runtime.documents`` (so the history records it and every rule of the card
holds) and its e-mail goes through the outbox in the same transaction. What cannot be done
(a value the field refuses, a missing address) raises :class:`RouteRuntimeError`.
Starting another route is handled by the engine itself (it needs the engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from potok.errors import N_, PotokError
from potok.metadata.routes import Action, Executor
from potok.metadata.types import FieldValueError
from potok.platform import mail
from potok.platform.audit import Actor
from potok.platform.i18n import Catalogs
from potok.platform.models import RouteInstance, User
from potok.runtime import documents
from potok.runtime.routing import executors
from potok.runtime.routing.errors import RouteRuntimeError
from potok.runtime.streams import StreamRuntime, Streams

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Context:
    session: Session
    streams: Streams
    runtime: StreamRuntime
    instance: RouteInstance
    values: Mapping[str, Any]
    actor: Actor
    now: datetime
    catalogs: Catalogs | None


Handler = Callable[[Context, Mapping[str, Any]], None]
ACTIONS: dict[str, Handler] = {}


def register(name: str) -> Callable[[Handler], Handler]:
    def add(handler: Handler) -> Handler:
        ACTIONS[name] = handler
        return handler

    return add


def run(
    session: Session,
    streams: Streams,
    runtime: StreamRuntime,
    action: Action,
    instance: RouteInstance,
    values: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    catalogs: Catalogs | None,
) -> None:
    handler = ACTIONS.get(action.type)
    if handler is None:
        raise RouteRuntimeError(N_("Unknown automatic action %(action)s."), action=action.type)
    context = Context(session, streams, runtime, instance, values, actor, now, catalogs)
    try:
        handler(context, action.spec)
    except RouteRuntimeError:
        raise
    except (PotokError, FieldValueError) as error:
        raise RouteRuntimeError(
            N_("The automatic action %(action)s failed: %(error)s"),
            action=action.type,
            error=_describe(error),
        ) from error


def _describe(error: Exception) -> str:
    if isinstance(error, documents.InvalidValues):
        return "; ".join(f"{path}: {item}" for path, item in error.errors.items())
    return str(error)


def _readable(_stream: str, _doc_id: int) -> bool:
    return True  # the route acts for the organisation, not for one user


def _change(
    context: Context, runtime: StreamRuntime, doc_id: int, values: Mapping[str, Any]
) -> None:
    current = documents.load(context.session, runtime, doc_id)
    documents.change(
        context.session,
        runtime,
        doc_id,
        values,
        expected_version=current.version,
        actor=context.actor,
        now=context.now,
        link_readable=_readable,
    )


def _parse(runtime: StreamRuntime, key: str, value: Any) -> Any:
    item = next((f for f in runtime.stream.fields if f.key == key), None)
    if item is None:
        raise RouteRuntimeError(N_("The document has no field %(field)s."), field=key)
    if value is None:
        return None
    parsed = item.field_type.parse(item.spec, value)
    item.field_type.check(item.spec, parsed)
    return parsed


@register("set_field")
def set_field(context: Context, spec: Mapping[str, Any]) -> None:
    key = str(spec["field"])
    _change(
        context,
        context.runtime,
        context.instance.doc_id,
        {key: _parse(context.runtime, key, spec["value"])},
    )


@register("create_linked")
def create_linked(context: Context, spec: Mapping[str, Any]) -> None:
    target = context.streams.get(context.session, str(spec["stream"]))
    values: dict[str, Any] = {}
    for target_key, source_key in spec["fields"].items():
        value = context.values.get(str(source_key))
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [{k: v for k, v in row.items() if k != "id"} for row in value]
        values[str(target_key)] = value
    created = documents.create(
        context.session,
        target,
        values,
        actor=context.actor,
        now=context.now,
        link_readable=_readable,
    )
    if "link_field" in spec:
        _change(
            context, context.runtime, context.instance.doc_id, {str(spec["link_field"]): created.id}
        )


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``{field}`` placeholders replaced by the document's values (unknown ones: empty)."""

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1))
        return "" if found is None else str(found)

    return PLACEHOLDER.sub(value, template)


@register("send_email")
def send_email(context: Context, spec: Mapping[str, Any]) -> None:
    to = spec["to"]
    language = context.catalogs.default_language if context.catalogs else "en"
    if "address_field" in to:
        address = context.values.get(str(to["address_field"]))
    else:
        user = context.session.get(
            User,
            executors.person(context.session, Executor.parse(to), context.instance, context.values),
        )
        address = user.email if user else None
        language = (user.language if user else None) or language
    if not address:
        raise RouteRuntimeError(N_("There is no e-mail address to send to."))
    subject = spec["subject"].get(language) or spec["subject"]["en"]
    body = (spec.get("body") or {}).get(language) or (spec.get("body") or {}).get("en", "")
    mail.queue(
        context.session,
        to=[str(address)],
        subject=fill(subject, context.values),
        text=fill(body, context.values),
        now=context.now,
    )
