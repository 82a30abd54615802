"""The tasks a user controls, by index: a controller may read the documents of those tasks,
and lists find them through it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_route_tasks_controller", "route_tasks", ["controller_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_route_tasks_controller", table_name="route_tasks")
