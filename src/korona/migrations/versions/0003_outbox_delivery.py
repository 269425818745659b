"""outbox delivery: status, claim, schedule and Message-ID of every e-mail

Revision ID: 0003_outbox
Revises: 0002
Create Date: 2026-12-01

Existing rows become 'sent' (sent_at set), 'queued' and due now (fewer than 5 attempts), or
'queued' with no automatic attempt planned (5 or more attempts: waiting for a person).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = ("queued", "sending", "sent", "failed", "uncertain")
# A copy of notify.service.MAX_AUTOMATIC_ATTEMPTS when this revision was written.
MAX_AUTOMATIC_ATTEMPTS = 5


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=40), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200)))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=64)))
        batch_op.add_column(sa.Column("message_id", sa.String(length=300)))
        batch_op.create_index("ix_outbox_message_due", ["status", "next_attempt_at"], unique=False)

    outbox = sa.table(
        "outbox_message",
        sa.column("status", sa.String),
        sa.column("sent_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.column("attempts", sa.Integer),
    )
    op.execute(outbox.update().where(outbox.c.sent_at.is_not(None)).values(status="sent"))
    op.execute(
        outbox.update()
        .where(outbox.c.sent_at.is_(None), outbox.c.attempts < MAX_AUTOMATIC_ATTEMPTS)
        .values(next_attempt_at=outbox.c.created_at)
    )

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_outbox_message_outboxstatus"),
            "status IN (" + ", ".join(f"'{status}'" for status in STATUSES) + ")",
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_message_outboxstatus"), type_="check")
        batch_op.drop_index("ix_outbox_message_due")
        batch_op.drop_column("message_id")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("status")
