"""decisions and measures: programmes, measures, milestones, progress, experience, letters

Revision ID: 0007_decisions
Revises: 0006_assessment
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_decisions"
down_revision = "0006_assessment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "delivered",
                "review_due",
                name="noticekind",
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_template")),
        sa.UniqueConstraint("kind", "language", name=op.f("uq_notice_template_kind")),
    )
    op.create_table(
        "programme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme")),
        sa.UniqueConstraint("name", name=op.f("uq_programme_name")),
    )
    op.create_table(
        "measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_organisation_id", sa.Integer(), nullable=True),
        sa.Column("responsible_name", sa.String(length=200), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "in_progress",
                "delivered",
                "stopped",
                name="measurestatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("input_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status != 'stopped' OR stop_reason IS NOT NULL",
            name=op.f("ck_measure_stopped_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_measure_input_id_proposal_input"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_organisation_id"],
            ["organisation.id"],
            name=op.f("fk_measure_owner_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programme.id"], name=op.f("fk_measure_programme_id_programme")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure")),
        sa.UniqueConstraint("input_id", name=op.f("uq_measure_input_id")),
    )
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_owner_organisation_id"), ["owner_organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_measure_programme_id"), ["programme_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_measure_status"), ["status"], unique=False)

    op.create_table(
        "review_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("review_by_date", sa.Date(), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["need.id"],
            name=op.f("fk_review_reminder_need_id_need"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
            name=op.f("fk_review_reminder_outbox_message_id_outbox_message"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_reminder")),
        sa.UniqueConstraint("need_id", "review_by_date", name=op.f("uq_review_reminder_need_id")),
    )
    op.create_table(
        "experience_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=True),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(solution_id IS NULL) != (measure_id IS NULL)",
            name=op.f("ck_experience_note_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_experience_note_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_experience_note_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_experience_note_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["solution.id"],
            name=op.f("fk_experience_note_solution_id_solution"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experience_note")),
    )
    with op.batch_alter_table("experience_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_experience_note_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experience_note_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_experience_note_solution_id"), ["solution_id"], unique=False
        )

    op.create_table(
        "measure_need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_measure_need_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["need_id"], ["need.id"], name=op.f("fk_measure_need_need_id_need"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measure_need")),
        sa.UniqueConstraint("measure_id", "need_id", name=op.f("uq_measure_need_measure_id")),
    )
    with op.batch_alter_table("measure_need", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_measure_need_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_measure_need_need_id"), ["need_id"], unique=False)

    op.create_table(
        "milestone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("done_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_milestone_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
    )
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_measure_id"), ["measure_id"], unique=False)

    op.create_table(
        "progress_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column(
            "rag",
            sa.Enum(
                "green",
                "amber",
                "red",
                name="rag",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("next_milestone", sa.String(length=200), nullable=False),
        sa.Column("reported_by_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["measure.id"],
            name=op.f("fk_progress_report_measure_id_measure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reported_by_id"],
            ["user_account.id"],
            name=op.f("fk_progress_report_reported_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_report")),
    )
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_progress_report_measure_id"), ["measure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_progress_report_reported_at"), ["reported_at"], unique=False
        )

    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_held_on"), ["held_on"], unique=False)

    op.create_table(
        "meeting_attendee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "capacity",
            sa.Enum(
                "member",
                "observer",
                name="capacity",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_attendee_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_meeting_attendee_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendee")),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_attendee_meeting_id")),
    )
    with op.batch_alter_table("meeting_attendee", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_attendee_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "meeting_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_comment_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_meeting_comment_user_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_comment")),
    )
    with op.batch_alter_table("meeting_comment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_comment_meeting_id"), ["meeting_id"], unique=False
        )

    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("netlist_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_agenda_item_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["netlist_version_id"],
            ["netlist_version.id"],
            name=op.f("fk_agenda_item_netlist_version_id_netlist_version"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_item")),
        sa.UniqueConstraint("meeting_id", "position", name=op.f("uq_agenda_item_meeting_id")),
    )
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agenda_item_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "netlist_change_reason",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_netlist_change_reason_input_id_proposal_input"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["netlist_version.id"],
            name=op.f("fk_netlist_change_reason_version_id_netlist_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netlist_change_reason")),
        sa.UniqueConstraint(
            "version_id", "input_id", name=op.f("uq_netlist_change_reason_version_id")
        ),
    )
    with op.batch_alter_table("netlist_change_reason", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_netlist_change_reason_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "netlist_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["user_account.id"],
            name=op.f("fk_netlist_decision_approved_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meeting.id"], name=op.f("fk_netlist_decision_meeting_id_meeting")
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["user_account.id"],
            name=op.f("fk_netlist_decision_published_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["netlist_version.id"],
            name=op.f("fk_netlist_decision_version_id_netlist_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netlist_decision")),
        sa.UniqueConstraint("version_id", name=op.f("uq_netlist_decision_version_id")),
    )
    with op.batch_alter_table("netlist_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_netlist_decision_meeting_id"), ["meeting_id"], unique=False
        )
    _make_published_versions_immutable()


def downgrade() -> None:
    _drop_immutability_triggers()
    with op.batch_alter_table("netlist_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netlist_decision_meeting_id"))

    op.drop_table("netlist_decision")
    with op.batch_alter_table("netlist_change_reason", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netlist_change_reason_version_id"))

    op.drop_table("netlist_change_reason")
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_item_meeting_id"))

    op.drop_table("agenda_item")
    with op.batch_alter_table("meeting_comment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_comment_meeting_id"))

    op.drop_table("meeting_comment")
    with op.batch_alter_table("meeting_attendee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendee_meeting_id"))

    op.drop_table("meeting_attendee")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_held_on"))

    op.drop_table("meeting")
    with op.batch_alter_table("progress_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_progress_report_reported_at"))
        batch_op.drop_index(batch_op.f("ix_progress_report_measure_id"))

    op.drop_table("progress_report")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_measure_id"))

    op.drop_table("milestone")
    with op.batch_alter_table("measure_need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_need_need_id"))
        batch_op.drop_index(batch_op.f("ix_measure_need_measure_id"))

    op.drop_table("measure_need")
    with op.batch_alter_table("experience_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experience_note_solution_id"))
        batch_op.drop_index(batch_op.f("ix_experience_note_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_experience_note_measure_id"))

    op.drop_table("experience_note")
    op.drop_table("review_reminder")
    with op.batch_alter_table("measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_measure_status"))
        batch_op.drop_index(batch_op.f("ix_measure_programme_id"))
        batch_op.drop_index(batch_op.f("ix_measure_owner_organisation_id"))

    op.drop_table("measure")
    op.drop_table("programme")
    op.drop_table("notice_template")


IMMUTABLE = "published net list versions are immutable"

#: Tables whose rows belong to a net-list version through ``version_id``.
_VERSION_CHILDREN = ("netlist_item", "netlist_decision", "netlist_change_reason")


def _make_published_versions_immutable() -> None:
    """Refuse, in the database itself, any change to a published version and what it holds.

    The version row may leave draft and approved (that is how it gets published) but once its
    status is 'published' no UPDATE or DELETE touches it; its items, decision and change
    reasons can then be neither inserted, updated nor deleted.
    """
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION netlist_version_guard() RETURNS trigger AS $$
            BEGIN
                IF OLD.status = 'published' THEN
                    RAISE EXCEPTION '{IMMUTABLE}';
                END IF;
                IF TG_OP = 'DELETE' THEN
                    RETURN OLD;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER netlist_version_published BEFORE UPDATE OR DELETE ON netlist_version "
            "FOR EACH ROW EXECUTE FUNCTION netlist_version_guard()"
        )
        op.execute(
            """
            CREATE FUNCTION netlist_version_child_guard() RETURNS trigger AS $$
            BEGIN
                -- Nested IFs: OLD is unset on INSERT and NEW on DELETE.
                IF TG_OP <> 'INSERT' THEN
                    IF EXISTS (SELECT 1 FROM netlist_version
                               WHERE id = OLD.version_id AND status = 'published') THEN
                        RAISE EXCEPTION 'published net list versions are immutable';
                    END IF;
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    IF EXISTS (SELECT 1 FROM netlist_version
                               WHERE id = NEW.version_id AND status = 'published') THEN
                        RAISE EXCEPTION 'published net list versions are immutable';
                    END IF;
                    RETURN NEW;
                END IF;
                RETURN OLD;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _VERSION_CHILDREN:
            op.execute(
                f"CREATE TRIGGER {table}_published BEFORE INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION netlist_version_child_guard()"
            )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER netlist_version_published_{event.lower()} BEFORE {event} "
            "ON netlist_version WHEN OLD.status = 'published' "
            f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
        )
    published = "(SELECT status FROM netlist_version WHERE id = {row}.version_id) = 'published'"
    for table in _VERSION_CHILDREN:
        for event, rows in (("INSERT", ["NEW"]), ("UPDATE", ["OLD", "NEW"]), ("DELETE", ["OLD"])):
            condition = " OR ".join(published.format(row=row) for row in rows)
            op.execute(
                f"CREATE TRIGGER {table}_published_{event.lower()} BEFORE {event} ON {table} "
                f"WHEN {condition} BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
            )


def _drop_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _VERSION_CHILDREN:
            op.execute(f"DROP TRIGGER {table}_published ON {table}")
        op.execute("DROP TRIGGER netlist_version_published ON netlist_version")
        op.execute("DROP FUNCTION netlist_version_child_guard()")
        op.execute("DROP FUNCTION netlist_version_guard()")
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER netlist_version_published_{event}")
    for table in _VERSION_CHILDREN:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_published_{event}")
