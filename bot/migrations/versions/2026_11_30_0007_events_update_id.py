"""events update id

An event learned from a Telegram update (the student blocked or unblocked the bot: my_chat_member) keeps the
update's id, unique, so an update delivered twice is applied and recorded once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("update_id", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint("uq_events_update_id", ["update_id"])


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("uq_events_update_id", type_="unique")
        batch_op.drop_column("update_id")
