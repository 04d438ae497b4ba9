"""offer states, check-ins asked, lead alerts

What each enrollment was offered (shown, clicked, dismissed, reminded, a lead raised) and which outcome
check-ins it was asked; the enrollment's indexed due time for both; alerts get a kind (a stall or a sales
lead), one unresolved per enrollment and kind.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:23:16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = sa.text("status != 'resolved'")


def upgrade() -> None:
    op.create_table(
        "checkin_asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_checkin_asks_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_asks")),
        sa.UniqueConstraint("enrollment_id", "checkin_id", name=op.f("uq_checkin_asks_enrollment_id_checkin_id")),
    )
    op.create_table(
        "offer_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=False),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lead_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_offer_states_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_states")),
        sa.UniqueConstraint("enrollment_id", "offer_id", name=op.f("uq_offer_states_enrollment_id_offer_id")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum("stall", "lead", name="alertkind", native_enum=False, length=8),
                server_default="stall",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("offer_id", sa.String(length=64), nullable=True))
        batch_op.drop_index("uq_alerts_one_unresolved", sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED)
        batch_op.create_index(
            "uq_alerts_one_unresolved",
            ["enrollment_id", "kind"],
            unique=True,
            sqlite_where=UNRESOLVED,
            postgresql_where=UNRESOLVED,
        )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_offer_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrollments_next_offer_at"), ["next_offer_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollments_next_offer_at"))
        batch_op.drop_column("next_offer_at")
    # a second unresolved alert of another kind would break the old index: the leads go with their kind
    op.execute("DELETE FROM alerts WHERE kind != 'stall'")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_one_unresolved", sqlite_where=UNRESOLVED, postgresql_where=UNRESOLVED)
        batch_op.create_index(
            "uq_alerts_one_unresolved",
            ["enrollment_id"],
            unique=True,
            sqlite_where=UNRESOLVED,
            postgresql_where=UNRESOLVED,
        )
        batch_op.drop_column("offer_id")
        batch_op.drop_column("kind")
    op.drop_table("offer_states")
    op.drop_table("checkin_asks")
