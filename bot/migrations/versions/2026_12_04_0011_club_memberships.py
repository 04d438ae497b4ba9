"""club memberships

The graduate club: one membership per student (access until, what pays for it, the personal invite link and
the lifecycle's due time), and the club group's standing (since when the bot lacks its admin rights).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 20:26:39
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "club_chats",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("rights_lost_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_club_chats")),
    )
    op.create_table(
        "club_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("active", "revoked", "removed", name="clubstatus", native_enum=False, length=8),
            nullable=False,
        ),
        sa.Column("access_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "source",
            sa.Enum("stars_subscription", "stars", "school", name="clubsource", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("charge_id", sa.String(length=128), nullable=True),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invite_link", sa.String(length=128), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_for", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("winback_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["purchase_id"],
            ["purchases.id"],
            name=op.f("fk_club_memberships_purchase_id_purchases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_club_memberships_student_id_students"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_club_memberships")),
        sa.UniqueConstraint("student_id", name=op.f("uq_club_memberships_student_id")),
    )
    with op.batch_alter_table("club_memberships", schema=None) as batch_op:
        batch_op.create_index("ix_club_memberships_next_check_at", ["next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("club_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_club_memberships_next_check_at")

    op.drop_table("club_memberships")
    op.drop_table("club_chats")
