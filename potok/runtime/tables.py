"""The runtime's system tables (on the platform's declarative base, migrated by the
platform's Alembic history): document history, ad-hoc links, comments, shares, saved list
filters and per-user list settings, and the files attached to documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from potok.platform.models import Base


class HistoryEntry(Base):
    """One change of a document: who, when, what (field -> [old, new], rows, links, files)."""

    __tablename__ = "document_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    user_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_document_history_doc", "stream", "doc_id", "id"),)


class DocumentLink(Base):
    """An ad-hoc link between two documents, of a kind ("related", "based on", …)."""

    __tablename__ = "document_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_stream: Mapped[str] = mapped_column(String(40))
    from_id: Mapped[int] = mapped_column(Integer)
    to_stream: Mapped[str] = mapped_column(String(40))
    to_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40), default="related")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("from_stream", "from_id", "to_stream", "to_id", "kind"),
        Index("ix_document_links_to", "to_stream", "to_id"),
    )


class Comment(Base):
    __tablename__ = "document_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime)
    text: Mapped[str] = mapped_column(Text)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_document_comments_doc", "stream", "doc_id", "id"),)


class Share(Base):
    """A document made readable to one more user."""

    __tablename__ = "document_shares"

    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_document_shares_user", "user_id", "stream"),)


class DocumentFile(Base):
    """A file attached to a document (outside any file field); versions chain by name."""

    __tablename__ = "document_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    doc_id: Mapped[int] = mapped_column(Integer)
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_document_files_doc", "stream", "doc_id"),)


class SavedFilter(Base):
    """A list filter kept by its owner, or shared with everyone (owner None)."""

    __tablename__ = "saved_filters"

    id: Mapped[int] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    condition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_saved_filters_stream", "stream", "owner_id"),)


class ListPreference(Base):
    """A user's choice of columns and sort for a stream's list."""

    __tablename__ = "list_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    stream: Mapped[str] = mapped_column(String(40), primary_key=True)
    columns: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sort: Mapped[list[Any]] = mapped_column(JSON, default=list)
