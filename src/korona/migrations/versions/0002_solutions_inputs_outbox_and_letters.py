"""solutions, inputs, outbox and letter templates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Also seeds the submitters' letter templates in Norwegian and English.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


# The letter templates the portfolio started with; a copy, so later code changes do not alter
# history: (letter, language, subject, body).
LETTERS = (
    (
        "receipt",
        "nb",
        "Kvittering for innspill {reference}",
        (
            "Hei {contact_name},\n\nTakk for innspillet «{title}». Vi har mottatt det med "
            "referansenummer {reference}.\n\nDu kan følge saken og lese alle meldinger fra "
            "oss her:\n{status_url}\n\nVennlig hilsen\nkoronaporteføljen, porteføljekontoret"
        ),
    ),
    (
        "receipt",
        "en",
        "Receipt for input {reference}",
        (
            'Hello {contact_name},\n\nThank you for the input "{title}". We have received it '
            "with reference number {reference}.\n\nYou can follow it and read every message "
            "from us here:\n{status_url}\n\nKind regards\nThe koronaportefølje portfolio office"
        ),
    ),
    (
        "covered",
        "nb",
        "Innspill {reference}: dekket av eksisterende løsning",
        (
            "Hei {contact_name},\n\nTakk for innspillet «{title}». Behovet ser ut til å være "
            "dekket av en eksisterende, kvalitetssikret løsning: {solution} "
            "({solution_url}).\n\nBegrunnelse: {reason}\n\nVi anbefaler å ta i bruk denne "
            "løsningen før noe nytt utvikles.\n\nStatus: {status_url}\n\nVennlig "
            "hilsen\nkoronaporteføljen, porteføljekontoret"
        ),
    ),
    (
        "covered",
        "en",
        "Input {reference}: covered by an existing solution",
        (
            'Hello {contact_name},\n\nThank you for the input "{title}". The need appears to '
            "be covered by an existing, quality-assured solution: {solution} "
            "({solution_url}).\n\nWhy: {reason}\n\nWe recommend using this solution before "
            "anything new is built.\n\nStatus: {status_url}\n\nKind regards\nThe "
            "koronaportefølje portfolio office"
        ),
    ),
    (
        "duplicate",
        "nb",
        "Innspill {reference}: slått sammen med {kept_reference}",
        (
            "Hei {contact_name},\n\nInnspillet «{title}» handler om det samme som innspill "
            "{kept_reference} «{kept_title}», og vi har slått dem sammen. Begge beholder "
            "sin historikk, og innspillet ditt blir vurdert sammen med "
            "{kept_reference}.\n\n{reason}\n\nStatus: {status_url}\n\nVennlig "
            "hilsen\nkoronaporteføljen, porteføljekontoret"
        ),
    ),
    (
        "duplicate",
        "en",
        "Input {reference}: merged with {kept_reference}",
        (
            'Hello {contact_name},\n\nThe input "{title}" is about the same as input '
            '{kept_reference} "{kept_title}", and we have merged them. Both keep their '
            "history, and your input will be assessed together with "
            "{kept_reference}.\n\n{reason}\n\nStatus: {status_url}\n\nKind regards\nThe "
            "koronaportefølje portfolio office"
        ),
    ),
    (
        "in_assessment",
        "nb",
        "Innspill {reference}: sendt til vurdering",
        (
            "Hei {contact_name},\n\nInnspillet «{title}» er sendt til arbeidsgruppen "
            "{working_group} for vurdering. Du hører fra oss når vurderingen er "
            "ferdig.\n\nStatus: {status_url}\n\nVennlig hilsen\nkoronaporteføljen, "
            "porteføljekontoret"
        ),
    ),
    (
        "in_assessment",
        "en",
        "Input {reference}: sent for assessment",
        (
            'Hello {contact_name},\n\nThe input "{title}" has been sent to the working group '
            "{working_group} for assessment. You will hear from us when the assessment is "
            "done.\n\nStatus: {status_url}\n\nKind regards\nThe koronaportefølje portfolio "
            "office"
        ),
    ),
    (
        "declined",
        "nb",
        "Innspill {reference}: ikke videreført",
        (
            "Hei {contact_name},\n\nTakk for innspillet «{title}». Vi har vurdert det og "
            "viderefører det ikke.\n\nBegrunnelse: {reason}\n\nStatus: {status_url}\n\nVennlig "
            "hilsen\nkoronaporteføljen, porteføljekontoret"
        ),
    ),
    (
        "declined",
        "en",
        "Input {reference}: not taken further",
        (
            'Hello {contact_name},\n\nThank you for the input "{title}". We have considered '
            "it and will not take it further.\n\nWhy: {reason}\n\nStatus: {status_url}\n\nKind "
            "regards\nThe koronaportefølje portfolio office"
        ),
    ),
)


def upgrade() -> None:
    op.create_table(
        "letter_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "letter",
            sa.Enum(
                "receipt",
                "covered",
                "duplicate",
                "in_assessment",
                "declined",
                name="letterkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letter_template")),
        sa.UniqueConstraint("letter", "language", name=op.f("uq_letter_template_letter")),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_message_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_message_sent_at"), ["sent_at"], unique=False)

    op.create_table(
        "solution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "in_operation",
                "pilot",
                "planned",
                name="solutionstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("quality_assured", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_solution")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_solution_external_ref")),
    )
    op.create_table(
        "proposal_input",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "idea",
                "proposal",
                "offer",
                name="inputkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("organisation_name", sa.String(length=200), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("commercial", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column(
            "effort_hospitals",
            sa.Enum(
                "low",
                "medium",
                "high",
                "unknown",
                name="effort_hospitals",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column(
            "effort_municipalities",
            sa.Enum(
                "low",
                "medium",
                "high",
                "unknown",
                name="effort_municipalities",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("token_salt", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "in_assessment",
                "covered",
                "duplicate",
                "declined",
                name="inputstatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("covered_by_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("working_group", sa.String(length=200), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["covered_by_id"],
            ["solution.id"],
            name=op.f("fk_proposal_input_covered_by_id_solution"),
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"],
            ["proposal_input.id"],
            name=op.f("fk_proposal_input_duplicate_of_id_proposal_input"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_proposal_input_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["user_account.id"],
            name=op.f("fk_proposal_input_submitted_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_input")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_proposal_input_external_ref")),
        sa.UniqueConstraint("reference", name=op.f("uq_proposal_input_reference")),
    )
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_proposal_input_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_proposal_input_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_proposal_input_submitted_by_id"), ["submitted_by_id"], unique=False
        )

    op.create_table(
        "input_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_input_attachment_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_attachment")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_input_attachment_storage_name")),
    )
    with op.batch_alter_table("input_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_input_attachment_input_id"), ["input_id"], unique=False
        )

    op.create_table(
        "input_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column(
            "letter",
            sa.Enum(
                "receipt",
                "covered",
                "duplicate",
                "in_assessment",
                "declined",
                name="letterkind",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_input_message_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_input_message_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_message")),
    )
    with op.batch_alter_table("input_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_input_message_input_id"), ["input_id"], unique=False)

    op.create_table(
        "input_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_input_need_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_input_need_need_id_need"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_input_need")),
        sa.UniqueConstraint("input_id", "need_id", name=op.f("uq_input_need_input_id")),
    )
    with op.batch_alter_table("input_need", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_input_need_input_id"), ["input_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_input_need_need_id"), ["need_id"], unique=False)

    _seed_letter_templates()


def _seed_letter_templates() -> None:
    table = sa.table(
        "letter_template",
        sa.column("letter", sa.String),
        sa.column("language", sa.String),
        sa.column("subject", sa.String),
        sa.column("body", sa.Text),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {
                "letter": letter,
                "language": language,
                "subject": subject,
                "body": body,
                "updated_at": now,
            }
            for letter, language, subject, body in LETTERS
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("input_need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_input_need_need_id"))
        batch_op.drop_index(batch_op.f("ix_input_need_input_id"))

    op.drop_table("input_need")
    with op.batch_alter_table("input_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_input_message_input_id"))

    op.drop_table("input_message")
    with op.batch_alter_table("input_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_input_attachment_input_id"))

    op.drop_table("input_attachment")
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_input_submitted_by_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_input_status"))
        batch_op.drop_index(batch_op.f("ix_proposal_input_received_at"))

    op.drop_table("proposal_input")
    op.drop_table("solution")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_sent_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_message_created_at"))

    op.drop_table("outbox_message")
    op.drop_table("letter_template")
