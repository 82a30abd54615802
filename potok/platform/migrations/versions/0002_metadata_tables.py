"""Metadata tables: versioned objects, compiled streams, dictionary items, counters, attachments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:58:04.538427
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dictionary_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dictionary", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["dictionary_items.id"],
            name=op.f("fk_dictionary_items_parent_id_dictionary_items"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dictionary_items")),
        sa.UniqueConstraint("dictionary", "code", name=op.f("uq_dictionary_items_dictionary")),
    )
    op.create_index(
        "ix_dictionary_items_order",
        "dictionary_items",
        ["dictionary", "parent_id", "position"],
        unique=False,
    )
    op.create_index(
        op.f("ix_dictionary_items_parent_id"), "dictionary_items", ["parent_id"], unique=False
    )
    op.create_table(
        "meta_objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=True),
        sa.Column("draft_updated_at", sa.DateTime(), nullable=True),
        sa.Column("draft_author", sa.String(length=64), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meta_objects")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_meta_objects_kind")),
    )
    op.create_table(
        "meta_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("comment", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meta_versions")),
        sa.UniqueConstraint("kind", "key", "version", name=op.f("uq_meta_versions_kind")),
    )
    op.create_table(
        "number_counters",
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("stream", "period", name=op.f("pk_number_counters")),
    )
    op.create_table(
        "stream_columns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=80), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("column_name", sa.String(length=63), nullable=False),
        sa.Column("signature", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("indexed", sa.Boolean(), nullable=False),
        sa.Column("unique", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stream_columns")),
        sa.UniqueConstraint("table_name", "column_name", name=op.f("uq_stream_columns_table_name")),
    )
    op.create_index(op.f("ix_stream_columns_stream"), "stream_columns", ["stream"], unique=False)
    op.create_table(
        "stream_tables",
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("table_name", sa.String(length=63), nullable=False),
        sa.Column("search_fields", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream", name=op.f("pk_stream_tables")),
        sa.UniqueConstraint("table_name", name=op.f("uq_stream_tables_table_name")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_attachments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )


def downgrade() -> None:
    op.drop_table("attachments")
    op.drop_table("stream_tables")
    op.drop_index(op.f("ix_stream_columns_stream"), table_name="stream_columns")
    op.drop_table("stream_columns")
    op.drop_table("number_counters")
    op.drop_table("meta_versions")
    op.drop_table("meta_objects")
    op.drop_index(op.f("ix_dictionary_items_parent_id"), table_name="dictionary_items")
    op.drop_index("ix_dictionary_items_order", table_name="dictionary_items")
    op.drop_table("dictionary_items")
