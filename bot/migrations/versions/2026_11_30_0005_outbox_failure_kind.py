"""outbox failure kind

Why a row was given up, as the one classifier of Telegram's errors saw it (blocked, chat gone, thread gone…).
Broadcast reports and the desk's topic repair read this instead of matching `last_error` strings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "blocked",
    "chat_gone",
    "thread_gone",
    "not_modified",
    "message_gone",
    "query_expired",
    "retry_after",
    "transient",
    "refused",
    "internal",
)


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failure", sa.Enum(*KINDS, name="telegramfailure", native_enum=False, length=16), nullable=True)
        )
    # rows given up before this column existed, classified by the words the sender stored then
    outbox = sa.table("outbox", sa.column("failure", sa.String), sa.column("last_error", sa.String))
    for kind, pattern in (
        ("blocked", "TelegramForbiddenError%"),
        ("blocked", "chat unreachable%"),
        ("chat_gone", "%chat not found%"),
        ("thread_gone", "%thread not found%"),
        ("thread_gone", "%TOPIC_DELETED%"),
        ("thread_gone", "%TOPIC_ID_INVALID%"),
    ):
        op.execute(
            outbox.update().where(outbox.c.failure.is_(None), outbox.c.last_error.like(pattern)).values(failure=kind)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("failure")
