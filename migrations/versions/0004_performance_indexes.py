"""performance indexes: covering aggregates, one lead's history, reward lists

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:20:00
"""
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEXES = (
    ('leads', 'ix_leads_org_channel_figures',
     ['org_id', 'channel_id', 'status_id', 'status_kind', 'created_at', 'status_changed_at',
      'deal_value']),
    ('leads', 'ix_leads_org_owner', ['org_id', 'owner']),
    ('leads', 'ix_leads_org_source', ['org_id', 'source']),
    ('lead_status_history', 'ix_lead_status_history_org_lead', ['org_id', 'lead_id', 'changed_at']),
    ('rewards', 'ix_rewards_org_status_created', ['org_id', 'status', 'created_at']),
    ('rewards', 'ix_rewards_org_status_paid', ['org_id', 'status', 'paid_at']),
    ('rewards', 'ix_rewards_org_channel_figures',
     ['org_id', 'channel_id', 'status', 'created_at', 'amount']),
    ('rewards', 'ix_rewards_report_figures', ['report_id', 'status', 'amount']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
