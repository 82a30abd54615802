"""An assignee accepts an assignment before completing it: when, on the task.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("route_tasks") as batch:
        batch.add_column(sa.Column("accepted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("route_tasks") as batch:
        batch.drop_column("accepted_at")
