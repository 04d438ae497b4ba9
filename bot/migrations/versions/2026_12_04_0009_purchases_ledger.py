"""purchases ledger

One ledger for Telegram Stars and the school's checkout: a row per payment, unique per source and payment id
(the idempotency key), refunded in place (unique per source and refund id).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:50:30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "source", sa.Enum("stars", "school", name="paymentsource", native_enum=False, length=8), nullable=False
        ),
        sa.Column("payment_id", sa.String(length=128), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installment", sa.Integer(), nullable=True),
        sa.Column("installments", sa.Integer(), nullable=True),
        sa.Column("completes_plan", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_id", sa.String(length=128), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_purchases_enrollment_id_enrollments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["external_identities.id"],
            name=op.f("fk_purchases_identity_id_external_identities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["students.id"], name=op.f("fk_purchases_student_id_students"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("source", "payment_id", name=op.f("uq_purchases_source_payment_id")),
        sa.UniqueConstraint("source", "refund_id", name=op.f("uq_purchases_source_refund_id")),
    )
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchases_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index("ix_purchases_product_paid", ["product_id", "paid_at"], unique=False)
        batch_op.create_index("ix_purchases_student_paid", ["student_id", "paid_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("purchases", schema=None) as batch_op:
        batch_op.drop_index("ix_purchases_student_paid")
        batch_op.drop_index("ix_purchases_product_paid")
        batch_op.drop_index(batch_op.f("ix_purchases_identity_id"))

    op.drop_table("purchases")
