"""Indexes the route engine reads by in every transition: a token's tasks, a task's timers.

Without them deciding a task scanned every task (and cancelling its timers every pending
timer), so a transition slowed down as the installation's history grew.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_route_tasks_token", "route_tasks", ["token_id", "parent_id"])
    op.create_index("ix_route_timers_task", "route_timers", ["task_id"])
    op.create_index("ix_route_timers_token", "route_timers", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_route_timers_token", table_name="route_timers")
    op.drop_index("ix_route_timers_task", table_name="route_timers")
    op.drop_index("ix_route_tasks_token", table_name="route_tasks")
