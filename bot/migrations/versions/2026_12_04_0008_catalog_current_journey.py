"""catalog: the student's current journey, one LMS identity per journey

A bot runs several journeys. The student's current journey says which enrollment the step buttons and /progress
act on; the school's LMS enrolls an external student in each journey with its own start link.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_journey_id", sa.String(length=40), nullable=True))
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_external_identities_source_external_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_external_identities_source_external_id_journey_id", ["source", "external_id", "journey_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("external_identities", schema=None) as batch_op:
        batch_op.drop_constraint("uq_external_identities_source_external_id_journey_id", type_="unique")
        batch_op.create_unique_constraint("uq_external_identities_source_external_id", ["source", "external_id"])
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_column("current_journey_id")
