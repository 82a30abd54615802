"""The metadata package's system tables (on the platform's declarative base, migrated by the
platform's Alembic history): versioned metadata objects, what each published stream has
become in the database, dictionary items, registration counters, attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from potok.platform.models import Base


class MetaObject(Base):
    """One metadata object (kind + key): its draft and which version is published."""

    __tablename__ = "meta_objects"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft_updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    draft_author: Mapped[str] = mapped_column(String(64), default="")
    published_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("kind", "key"),)


class MetaVersion(Base):
    """A published version. Versions are never changed; a rollback publishes a new one."""

    __tablename__ = "meta_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    comment: Mapped[str] = mapped_column(String(500), default="")

    __table_args__ = (UniqueConstraint("kind", "key", "version"),)


class StreamTable(Base):
    """A published stream's table and its full-text set-up."""

    __tablename__ = "stream_tables"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63), unique=True)
    search_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class StreamColumn(Base):
    """Where a field's values live: a column of the stream table (or of a table field's
    child table), or a whole association/child table. A removed field's slot stays, hidden,
    with its data; re-adding the field shows it again."""

    __tablename__ = "stream_columns"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40), index=True)
    field: Mapped[str] = mapped_column(String(80))  # "amount", or "stages.amount" in a table
    table_name: Mapped[str] = mapped_column(String(63))
    column_name: Mapped[str] = mapped_column(String(63), default="")  # "" for a whole table
    signature: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    indexed: Mapped[bool] = mapped_column(Boolean, default=False)
    unique: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("table_name", "column_name"),)


class DictionaryItem(Base):
    __tablename__ = "dictionary_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    dictionary: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    labels: Mapped[dict[str, Any]] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("dictionary_items.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("dictionary", "code"),
        Index("ix_dictionary_items_order", "dictionary", "parent_id", "position"),
    )


class NumberCounter(Base):
    """The last registration number given in a stream, per period ("" or the year)."""

    __tablename__ = "number_counters"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Attachment(Base):
    """A stored file; documents refer to attachments from their file fields."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
