"""assessment: working groups, assessments, notes, weights, settings, pins, net-list versions

Revision ID: 0006_assessment
Revises: 0005_match
Create Date: 2026-12-02

The free-text working group of inputs sent to assessment becomes a working group: one group is
created for each distinct name (trimmed), and each input points at its group.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0006_assessment"
down_revision = "0005_match"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("horizon_months", sa.Float(), nullable=False),
        sa.Column("size_min", sa.Integer(), nullable=False),
        sa.Column("size_max", sa.Integer(), nullable=False),
        sa.Column("budget_hospitals", sa.Float(), nullable=False),
        sa.Column("budget_municipalities", sa.Float(), nullable=False),
        sa.Column("concentration", sa.Float(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_setting")),
    )
    op.create_table(
        "working_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_group")),
        sa.UniqueConstraint("name", name=op.f("uq_working_group_name")),
    )
    op.create_table(
        "netlist_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "approved",
                "published",
                name="netliststatus",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("weights_version", sa.Integer(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("solver", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_netlist_version_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netlist_version")),
        sa.UniqueConstraint("number", name=op.f("uq_netlist_version_number")),
    )
    with op.batch_alter_table("netlist_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_netlist_version_status"), ["status"], unique=False)

    op.create_table(
        "weights_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("clinical_benefit", sa.Float(), nullable=False),
        sa.Column("relief", sa.Float(), nullable=False),
        sa.Column("severity", sa.Float(), nullable=False),
        sa.Column("reuse", sa.Float(), nullable=False),
        sa.Column("time_criticality", sa.Float(), nullable=False),
        sa.Column("need_coverage", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_weights_version_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weights_version")),
        sa.UniqueConstraint("version", name=op.f("uq_weights_version_version")),
    )
    op.create_table(
        "working_group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["working_group.id"],
            name=op.f("fk_working_group_member_group_id_working_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_working_group_member_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_group_member")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_working_group_member_group_id")),
    )
    with op.batch_alter_table("working_group_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_working_group_member_group_id"), ["group_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_working_group_member_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("assessor_id", sa.Integer(), nullable=False),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("clinical_benefit", sa.Integer(), nullable=False),
        sa.Column("relief", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("reuse", sa.Integer(), nullable=False),
        sa.Column("time_criticality", sa.Integer(), nullable=False),
        sa.Column("effort_hospitals", sa.Integer(), nullable=False),
        sa.Column("effort_municipalities", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("benefit_groups", sa.JSON(), nullable=False),
        sa.Column("delivery_months", sa.Float(), nullable=True),
        sa.Column("dpia_needed", sa.Boolean(), nullable=False),
        sa.Column("privacy_minimum_met", sa.Boolean(), nullable=False),
        sa.Column("clinical_safety_minimum_met", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "clinical_benefit BETWEEN 0 AND 4 AND relief BETWEEN 0 AND 4 AND severity BETWEEN 0 "
            "AND 4 AND reuse BETWEEN 0 AND 4 AND time_criticality BETWEEN 0 AND 4",
            name=op.f("ck_assessment_criteria_0_4"),
        ),
        sa.CheckConstraint(
            "confidence IN (0.5, 0.8, 1.0)", name=op.f("ck_assessment_confidence_steps")
        ),
        sa.CheckConstraint(
            "effort_hospitals IN (1, 2, 3, 5, 8) AND effort_municipalities IN (1, 2, 3, 5, 8)",
            name=op.f("ck_assessment_effort_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["assessor_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_assessor_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_assessment_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
        sa.UniqueConstraint(
            "input_id", "assessor_id", "agreed", name=op.f("uq_assessment_input_id")
        ),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_assessor_id"), ["assessor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assessment_input_id"), ["input_id"], unique=False)

    op.create_table(
        "assessment_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_note_author_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_assessment_note_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_note")),
    )
    with op.batch_alter_table("assessment_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_note_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assessment_note_input_id"), ["input_id"], unique=False)

    op.create_table(
        "netlist_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column(
            "pin",
            sa.Enum("in", "out", name="pin", native_enum=False, create_constraint=True, length=40),
            nullable=True,
        ),
        sa.Column("pin_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_netlist_item_input_id_proposal_input"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["netlist_version.id"],
            name=op.f("fk_netlist_item_version_id_netlist_version"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_netlist_item")),
        sa.UniqueConstraint("version_id", "input_id", name="uq_netlist_item_version_input"),
        sa.UniqueConstraint("version_id", "position", name="uq_netlist_item_version_position"),
    )
    with op.batch_alter_table("netlist_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_netlist_item_input_id"), ["input_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_netlist_item_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "proposal_pin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column(
            "pin",
            sa.Enum("in", "out", name="pin", native_enum=False, create_constraint=True, length=40),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_proposal_pin_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["input_id"],
            ["proposal_input.id"],
            name=op.f("fk_proposal_pin_input_id_proposal_input"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_pin")),
        sa.UniqueConstraint("input_id", name=op.f("uq_proposal_pin_input_id")),
    )
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.add_column(sa.Column("working_group_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_proposal_input_working_group_id"), ["working_group_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_proposal_input_working_group_id_working_group"),
            "working_group",
            ["working_group_id"],
            ["id"],
            ondelete="SET NULL",
        )

    _groups_from_names()
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.drop_column("working_group")


def _groups_from_names() -> None:
    bind = op.get_bind()
    inputs = sa.table(
        "proposal_input",
        sa.column("id", sa.Integer),
        sa.column("working_group", sa.String),
        sa.column("working_group_id", sa.Integer),
    )
    groups = sa.table(
        "working_group",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("theme", sa.Text),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    rows = bind.execute(
        sa.select(inputs.c.id, inputs.c.working_group).where(inputs.c.working_group.is_not(None))
    ).all()
    ids: dict[str, int] = {}
    now = datetime.now(UTC)
    for input_id, raw in rows:
        name = raw.strip()
        if not name:
            continue
        if name not in ids:
            bind.execute(sa.insert(groups).values(name=name, theme="", created_at=now))
            ids[name] = bind.execute(
                sa.select(groups.c.id).where(groups.c.name == name)
            ).scalar_one()
        bind.execute(
            sa.update(inputs).where(inputs.c.id == input_id).values(working_group_id=ids[name])
        )


def downgrade() -> None:
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.add_column(sa.Column("working_group", sa.VARCHAR(length=200), nullable=True))
    op.execute(
        "UPDATE proposal_input SET working_group = (SELECT name FROM working_group "
        "WHERE working_group.id = proposal_input.working_group_id)"
    )
    with op.batch_alter_table("proposal_input", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_proposal_input_working_group_id_working_group"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_proposal_input_working_group_id"))
        batch_op.drop_column("working_group_id")

    op.drop_table("proposal_pin")
    with op.batch_alter_table("netlist_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netlist_item_version_id"))
        batch_op.drop_index(batch_op.f("ix_netlist_item_input_id"))

    op.drop_table("netlist_item")
    with op.batch_alter_table("assessment_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_note_input_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_note_author_id"))

    op.drop_table("assessment_note")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_input_id"))
        batch_op.drop_index(batch_op.f("ix_assessment_assessor_id"))

    op.drop_table("assessment")
    with op.batch_alter_table("working_group_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_working_group_member_user_id"))
        batch_op.drop_index(batch_op.f("ix_working_group_member_group_id"))

    op.drop_table("working_group_member")
    op.drop_table("weights_version")
    with op.batch_alter_table("netlist_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_netlist_version_status"))

    op.drop_table("netlist_version")
    op.drop_table("working_group")
    op.drop_table("assessment_setting")
