"""Pipelines and stages (with the default pipeline), deals, stage history, follow-ups,
interactions, feedback and events.

Revision ID: 0002_sales
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm_cli.store.types import UTCDateTime

revision = "0002_sales"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

DEFAULT_STAGES = [
    ("lead", 10, "open"),
    ("qualified", 25, "open"),
    ("proposal", 50, "open"),
    ("negotiation", 75, "open"),
    ("won", 100, "won"),
    ("lost", 0, "lost"),
]


def upgrade() -> None:
    op.create_table(
        "pipeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pipeline_id", "name", name="uq_stage_pipeline_name"),
    )
    op.create_index(op.f("ix_stage_pipeline_id"), "stage", ["pipeline_id"], unique=False)
    op.create_table(
        "deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=True),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("lost_reason", sa.String(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("stage_entered_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipeline.id"],
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["stage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_deal_company_id"), "deal", ["company_id"], unique=False)
    op.create_index(op.f("ix_deal_contact_id"), "deal", ["contact_id"], unique=False)
    op.create_index(op.f("ix_deal_expected_close"), "deal", ["expected_close"], unique=False)
    op.create_index(op.f("ix_deal_external_id"), "deal", ["external_id"], unique=False)
    op.create_index("ix_deal_live_updated", "deal", ["deleted_at", "updated_at"], unique=False)
    op.create_index(op.f("ix_deal_owner_id"), "deal", ["owner_id"], unique=False)
    op.create_index(op.f("ix_deal_pipeline_id"), "deal", ["pipeline_id"], unique=False)
    op.create_index("ix_deal_stage_status", "deal", ["stage_id", "status"], unique=False)
    op.create_index(
        "ix_deal_stage_close",
        "deal",
        ["stage_id", "deleted_at", "expected_close", "id"],
        unique=False,
    )
    op.create_index(
        "ix_deal_totals",
        "deal",
        ["deleted_at", "stage_id", "currency", "value_minor", "probability"],
        unique=False,
    )
    op.create_index(op.f("ix_deal_status"), "deal", ["status"], unique=False)
    op.create_table(
        "deal_tag",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("deal_id", "tag_id"),
    )
    op.create_index(op.f("ix_deal_tag_tag_id"), "deal_tag", ["tag_id"], unique=False)
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_event_at"), "event", ["at"], unique=False)
    op.create_index(op.f("ix_event_contact_id"), "event", ["contact_id"], unique=False)
    op.create_index(op.f("ix_event_deal_id"), "event", ["deal_id"], unique=False)
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("resolution_note", sa.String(), nullable=True),
        sa.Column("channel", sa.String(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_feedback_contact_id"), "feedback", ["contact_id"], unique=False)
    op.create_index(op.f("ix_feedback_deal_id"), "feedback", ["deal_id"], unique=False)
    op.create_index(op.f("ix_feedback_kind"), "feedback", ["kind"], unique=False)
    op.create_index(op.f("ix_feedback_owner_id"), "feedback", ["owner_id"], unique=False)
    op.create_index(op.f("ix_feedback_status"), "feedback", ["status"], unique=False)
    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("repeat", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", UTCDateTime(), nullable=True),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["previous_id"], ["followup.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_followup_contact_id"), "followup", ["contact_id"], unique=False)
    op.create_index(op.f("ix_followup_deal_id"), "followup", ["deal_id"], unique=False)
    op.create_index("ix_followup_open_due", "followup", ["done_at", "due_at"], unique=False)
    op.create_index(op.f("ix_followup_owner_id"), "followup", ["owner_id"], unique=False)
    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("direction", sa.String(), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_interaction_contact_at", "interaction", ["contact_id", "occurred_at"], unique=False
    )
    op.create_index(op.f("ix_interaction_deal_id"), "interaction", ["deal_id"], unique=False)
    op.create_index(
        op.f("ix_interaction_occurred_at"), "interaction", ["occurred_at"], unique=False
    )
    op.create_index(op.f("ix_interaction_owner_id"), "interaction", ["owner_id"], unique=False)
    op.create_table(
        "stage_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("from_stage_id", sa.Integer(), nullable=True),
        sa.Column("to_stage_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["from_stage_id"],
            ["stage.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_stage_id"],
            ["stage.id"],
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_stage_change_deal_id"), "stage_change", ["deal_id"], unique=False)
    op.create_index(
        op.f("ix_stage_change_to_stage_id"), "stage_change", ["to_stage_id"], unique=False
    )
    # ### end Alembic commands ###

    # The default pipeline of DESIGN.md, shared by the whole team.
    now = sa.func.current_timestamp()
    pipeline = sa.table(
        "pipeline",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    stage = sa.table(
        "stage",
        sa.column("pipeline_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("probability", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("created_at"),
        sa.column("updated_at"),
    )
    op.execute(
        pipeline.insert().values(id=1, name="default", position=0, created_at=now, updated_at=now)
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('pipeline', 'id'), 1)")
    for position, (name, probability, kind) in enumerate(DEFAULT_STAGES):
        op.execute(
            stage.insert().values(
                pipeline_id=1,
                name=name,
                position=position,
                probability=probability,
                kind=kind,
                created_at=now,
                updated_at=now,
            )
        )


def downgrade() -> None:
    op.drop_table("stage_change")
    op.drop_table("interaction")
    op.drop_table("followup")
    op.drop_table("feedback")
    op.drop_table("event")
    op.drop_table("deal_tag")
    op.drop_table("deal")
    op.drop_table("stage")
    op.drop_table("pipeline")
