"""surveillance e-mail: subscriptions, report and alert deliveries, outbox HTML and attachments

Revision ID: 0009_subscriptions
Revises: 0008_situation
Create Date: 2026-12-02

Existing outbox messages keep a plain-text body only (html_body and unsubscribe_url NULL, no
attachments).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_subscriptions"
down_revision = "0008_situation"
branch_labels = None
depends_on = None

KINDS = ("weekly_report", "alerts")


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("unsubscribe_url", sa.String(length=1000), nullable=True))
    op.create_table(
        "outbox_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_outbox_attachment_outbox_message_id_outbox_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_attachment")),
    )
    op.create_index(
        op.f("ix_outbox_attachment_outbox_message_id"), "outbox_attachment", ["outbox_message_id"]
    )
    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("location_code", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")",
            name=op.f("ck_subscription_subscriptionkind"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_subscription_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
        sa.UniqueConstraint(
            "user_id", "location_code", "kind", name=op.f("uq_subscription_user_id")
        ),
    )
    op.create_index(op.f("ix_subscription_user_id"), "subscription", ["user_id"])
    for table, column, width in (
        ("report_delivery", "iso_week", 8),
        ("alert_delivery", "signal_key", 200),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column(column, sa.String(length=width), nullable=False),
            sa.Column("outbox_message_id", sa.Integer(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ["outbox_message_id"],
                ["outbox_message.id"],
                name=op.f(f"fk_{table}_outbox_message_id_outbox_message"),
                ondelete="SET NULL",
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["user_account.id"],
                name=op.f(f"fk_{table}_user_id_user_account"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("user_id", column, name=op.f(f"uq_{table}_user_id")),
        )


def downgrade() -> None:
    op.drop_table("alert_delivery")
    op.drop_table("report_delivery")
    op.drop_index(op.f("ix_subscription_user_id"), table_name="subscription")
    op.drop_table("subscription")
    op.drop_index(op.f("ix_outbox_attachment_outbox_message_id"), table_name="outbox_attachment")
    op.drop_table("outbox_attachment")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("unsubscribe_url")
        batch_op.drop_column("html_body")
