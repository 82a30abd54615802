"""The versioned metadata store: drafts, publishing, history, diff and rollback.

Business users edit a *draft* of an object; publishing validates the whole configuration
that would result, plans the schema evolution of every stream it changes (shown to the user
first), then — in one transaction — changes the database, writes a new immutable version per
object and clears the drafts. A rollback publishes an old version's body again, as a new
version. Dictionary items travel with a dictionary in a configuration folder but live in
``dictionary_items`` (they are data: documents refer to them by id); roles travel in a folder
too but live in the platform's ``roles`` table (see :mod:`potok.metadata.roles`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from potok.errors import N_, NotFound, ValidationFailed
from potok.metadata import dictionaries, evolution, roles, schema_changes
from potok.metadata.schema import Problem, check_document
from potok.metadata.tables import MetaObject, MetaVersion, StreamTable
from potok.metadata.validate import check_configuration

Key = tuple[str, str]
Documents = dict[Key, dict[str, Any]]
# Kinds published in this order, so a stream exists before the layouts and routes of it.
ORDER = ("dictionary", "stream", "layout", "route", "report", "rule", "webform")


class InvalidConfiguration(ValidationFailed):
    """Publishing or importing was refused; ``problems`` says why, object by object."""

    message = N_("The configuration has problems; nothing was published.")

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__()


def published(session: Session) -> Documents:
    """The body of every object's published version."""
    rows = session.execute(
        select(MetaVersion.kind, MetaVersion.key, MetaVersion.body).join(
            MetaObject,
            (MetaObject.kind == MetaVersion.kind)
            & (MetaObject.key == MetaVersion.key)
            & (MetaObject.published_version == MetaVersion.version),
        )
    )
    return {(kind, key): body for kind, key, body in rows}


def drafts(session: Session) -> Documents:
    rows = session.execute(
        select(MetaObject.kind, MetaObject.key, MetaObject.draft).where(
            MetaObject.draft.is_not(None)
        )
    )
    return {(kind, key): body for kind, key, body in rows if body is not None}


def _object(session: Session, kind: str, key: str) -> MetaObject | None:
    return session.scalar(select(MetaObject).where(MetaObject.kind == kind, MetaObject.key == key))


def save_draft(
    session: Session, document: Mapping[str, Any], *, author: str, now: datetime
) -> MetaObject:
    """Keep ``document`` as the draft of its object; its shape must fit the schema."""
    problems = check_document(document)
    if problems:
        raise InvalidConfiguration(problems)
    kind, key = str(document["kind"]), str(document["key"])
    row = _object(session, kind, key)
    if row is None:
        row = MetaObject(kind=kind, key=key, created_at=now)
        session.add(row)
    row.draft = copy.deepcopy(dict(document))
    row.draft_updated_at = now
    row.draft_author = author[:64]
    session.flush()
    return row


def discard_draft(session: Session, kind: str, key: str) -> None:
    row = _object(session, kind, key)
    if row is None or row.draft is None:
        raise NotFound()
    if row.published_version is None:
        session.delete(row)
    else:
        row.draft = None
        row.draft_updated_at = None


def history(session: Session, kind: str, key: str) -> list[MetaVersion]:
    return list(
        session.scalars(
            select(MetaVersion)
            .where(MetaVersion.kind == kind, MetaVersion.key == key)
            .order_by(MetaVersion.version.desc())
        )
    )


def version_body(session: Session, kind: str, key: str, version: int) -> dict[str, Any]:
    body = session.scalar(
        select(MetaVersion.body).where(
            MetaVersion.kind == kind, MetaVersion.key == key, MetaVersion.version == version
        )
    )
    if body is None:
        raise NotFound()
    return dict(body)


@dataclass
class PublishPlan:
    """What publishing would do; show it, then pass it to :func:`publish`."""

    changed: list[Key]
    documents: Documents  # the configuration in effect after publishing
    problems: list[Problem] = field(default_factory=list)
    streams: dict[str, evolution.StreamPlan] = field(default_factory=dict)
    new_streams: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # roles to create or rename, by key

    @property
    def blocked(self) -> list[evolution.Step]:
        return [step for plan in self.streams.values() for step in plan.blocked]

    @property
    def unconvertible(self) -> int:
        return sum(plan.unconvertible for plan in self.streams.values())

    @property
    def can_publish(self) -> bool:
        return not self.problems and not self.blocked


def plan_publish(
    session: Session,
    keys: Iterable[Key] | None = None,
    *,
    documents: Mapping[Key, Mapping[str, Any]] | None = None,
) -> PublishPlan:
    """Plan publishing the drafts of ``keys`` (all drafts by default), or the given
    ``documents`` (a configuration folder being imported)."""
    current = published(session)
    incoming = {
        k: dict(v) for k, v in (documents if documents is not None else drafts(session)).items()
    }
    if keys is not None:
        wanted = set(keys)
        missing = wanted - set(incoming)
        incoming = {k: v for k, v in incoming.items() if k in wanted}
        if missing:
            raise NotFound()
    candidate = {**current, **incoming}
    changed = sorted(
        (
            k
            for k, body in incoming.items()
            if k[0] != "role"
            and (
                current.get(k) != _without_items(body) or (k[0] == "dictionary" and "items" in body)
            )
        ),
        key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]),
    )
    plan = PublishPlan(changed=changed, documents=candidate)
    plan.roles = roles.changed(session, incoming)
    plan.problems = check_configuration(candidate)
    if plan.problems:
        return plan
    recorded = {row.stream: row for row in session.scalars(select(StreamTable))}
    workspace = schema_changes.Workspace(session, datetime.min, _streams(candidate))
    metadata, _ = workspace.compile()
    for kind, key in changed:
        if kind != "stream":
            continue
        if key not in recorded:
            plan.new_streams.append(key)
            continue
        slots = [evolution.SlotState.of(row) for row in schema_changes.load_slots(session, key)]
        stream_plan = evolution.plan_stream(
            current.get((kind, key)),
            candidate[(kind, key)],
            slots,
            search_before=recorded[key].search_fields,
        )
        plan.streams[key] = evolution.dry_run(session.connection(), metadata, stream_plan)
    return plan


def _streams(documents: Mapping[Key, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {key: body for (kind, key), body in documents.items() if kind == "stream"}


def _without_items(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if name != "items"}


def publish(
    session: Session,
    plan: PublishPlan,
    *,
    author: str,
    now: datetime,
    clear_unconvertible: bool = False,
    comment: str = "",
) -> list[MetaVersion]:
    """Carry out ``plan`` in the caller's transaction; returns the new versions."""
    if plan.problems:
        raise InvalidConfiguration(plan.problems)
    if plan.blocked:
        raise InvalidConfiguration(
            [
                Problem(f"stream {step.field}", step.blocked or "", tuple(step.params.items()))
                for step in plan.blocked
            ]
        )
    if plan.unconvertible and not clear_unconvertible:
        raise InvalidConfiguration(
            [
                Problem(
                    "",
                    N_(
                        "Some values would not convert to their new type: choose to clear "
                        "them or cancel."
                    ),
                )
            ]
        )
    roles.sync(session, plan.documents, plan.roles, author=author, now=now)
    workspace = schema_changes.Workspace(session, now, _streams(plan.documents))
    for kind, key in plan.changed:
        if kind == "dictionary" and "items" in plan.documents[(kind, key)]:
            dictionaries.sync_items(session, key, plan.documents[(kind, key)]["items"], now=now)
    for key in plan.new_streams:
        schema_changes.record_new_stream(workspace, plan.documents[("stream", key)])
    if plan.new_streams:
        schema_changes.create_stream_tables(workspace, plan.new_streams)
    for stream_plan in plan.streams.values():
        schema_changes.apply_steps(workspace, stream_plan, clear_unconvertible=clear_unconvertible)
    versions = []
    for kind, key in plan.changed:
        row = _object(session, kind, key)
        if row is None:
            row = MetaObject(kind=kind, key=key, created_at=now)
            session.add(row)
        last = session.scalar(
            select(func.max(MetaVersion.version)).where(
                MetaVersion.kind == kind, MetaVersion.key == key
            )
        )
        version = MetaVersion(
            kind=kind,
            key=key,
            version=(last or 0) + 1,
            body=_without_items(plan.documents[(kind, key)]),
            author=author[:64],
            created_at=now,
            comment=comment[:500],
        )
        session.add(version)
        row.published_version = version.version
        row.draft = None
        row.draft_updated_at = None
        versions.append(version)
    session.flush()
    return versions


def rollback_plan(session: Session, kind: str, key: str, version: int) -> PublishPlan:
    """Plan publishing an old version again (as a new version)."""
    body = version_body(session, kind, key, version)
    return plan_publish(session, documents={(kind, key): body})


def in_effect(session: Session, kind: str, key: str) -> dict[str, Any]:
    body = published(session).get((kind, key))
    if body is None:
        raise NotFound()
    return body


def export_documents(session: Session) -> Documents:
    """The published configuration as a folder holds it (dictionaries with their items,
    and the roles)."""
    documents = {key: dict(body) for key, body in published(session).items()}
    documents.update(roles.documents(session))
    for (kind, key), body in documents.items():
        if kind == "dictionary":
            found = dictionaries.as_documents(session, key)
            if found:
                body["items"] = found
    return documents


def import_documents(
    session: Session,
    documents: Mapping[Key, Mapping[str, Any]],
    *,
    author: str,
    now: datetime,
    clear_unconvertible: bool = False,
) -> PublishPlan:
    """Publish a whole folder's objects, all or nothing (the caller's transaction)."""
    plan = plan_publish(session, documents=documents)
    publish(
        session,
        plan,
        author=author,
        now=now,
        clear_unconvertible=clear_unconvertible,
        comment="imported",
    )
    return plan
