"""curator digest days

One row per local day whose curators' digest was decided (queued, quiet or missed), so a day gets at most
one digest, at DIGEST_TIME, and a quiet day stays quiet.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "curator_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("queued", "quiet", "missed", name="digestdecision", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_curator_digests")),
        sa.UniqueConstraint("chat_id", "day", name=op.f("uq_curator_digests_chat_id_day")),
    )


def downgrade() -> None:
    op.drop_table("curator_digests")
