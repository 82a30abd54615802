"""Inbox indexes: the tasks a deputy does for an absent owner, and the tasks a user decided
(newest first).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 15:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_route_tasks_original",
        "route_tasks",
        ["original_assignee_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_route_tasks_decided",
        "route_tasks",
        ["decided_by_id", "decided_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_route_tasks_decided", table_name="route_tasks")
    op.drop_index("ix_route_tasks_original", table_name="route_tasks")
