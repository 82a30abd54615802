"""Runtime tables: document history, links, comments, shares, files, saved filters, list settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:27:22.534680
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_document_comments_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_comments")),
    )
    op.create_index(
        "ix_document_comments_doc", "document_comments", ["stream", "doc_id", "id"], unique=False
    )
    op.create_table(
        "document_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_document_history_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_history")),
    )
    op.create_index(
        "ix_document_history_doc", "document_history", ["stream", "doc_id", "id"], unique=False
    )
    op.create_table(
        "document_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_stream", sa.String(length=40), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("to_stream", sa.String(length=40), nullable=False),
        sa.Column("to_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_document_links_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_links")),
        sa.UniqueConstraint(
            "from_stream",
            "from_id",
            "to_stream",
            "to_id",
            "kind",
            name=op.f("uq_document_links_from_stream"),
        ),
    )
    op.create_index("ix_document_links_to", "document_links", ["to_stream", "to_id"], unique=False)
    op.create_table(
        "document_shares",
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by_id"],
            ["users.id"],
            name=op.f("fk_document_shares_granted_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_document_shares_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("stream", "doc_id", "user_id", name=op.f("pk_document_shares")),
    )
    op.create_index(
        "ix_document_shares_user", "document_shares", ["user_id", "stream"], unique=False
    )
    op.create_table(
        "list_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("sort", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_list_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "stream", name=op.f("pk_list_preferences")),
    )
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("condition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_saved_filters_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
    )
    op.create_index(
        "ix_saved_filters_stream", "saved_filters", ["stream", "owner_id"], unique=False
    )
    op.create_table(
        "document_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("doc_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_document_files_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_files")),
    )
    op.create_index("ix_document_files_doc", "document_files", ["stream", "doc_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_document_files_doc", table_name="document_files")
    op.drop_table("document_files")
    op.drop_index("ix_saved_filters_stream", table_name="saved_filters")
    op.drop_table("saved_filters")
    op.drop_table("list_preferences")
    op.drop_index("ix_document_shares_user", table_name="document_shares")
    op.drop_table("document_shares")
    op.drop_index("ix_document_links_to", table_name="document_links")
    op.drop_table("document_links")
    op.drop_index("ix_document_history_doc", table_name="document_history")
    op.drop_table("document_history")
    op.drop_index("ix_document_comments_doc", table_name="document_comments")
    op.drop_table("document_comments")
