"""performance indexes: covering aggregates, one lead's history, reward lists

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:20:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEXES = (
    ('leads', 'ix_leads_org_status_kind_changed',
     ['org_id', 'status_id', 'status_kind', 'status_changed_at']),
    ('leads', 'ix_leads_org_channel_figures',
     ['org_id', 'channel_id', 'status_id', 'status_kind', 'created_at', 'status_changed_at',
      'deal_value']),
    ('leads', 'ix_leads_org_contact_fields',
     ['org_id', 'company_name', 'email', 'phone', 'deal_value']),
    ('lead_status_history', 'ix_lead_status_history_org_lead', ['org_id', 'lead_id', 'changed_at']),
    ('rewards', 'ix_rewards_org_created', ['org_id', 'created_at']),
    ('rewards', 'ix_rewards_org_lead', ['org_id', 'lead_id', 'created_at']),
    ('rewards', 'ix_rewards_org_status_created', ['org_id', 'status', 'created_at']),
    ('rewards', 'ix_rewards_org_status_paid', ['org_id', 'status', 'paid_at']),
    ('rewards', 'ix_rewards_org_channel_figures',
     ['org_id', 'channel_id', 'status', 'created_at', 'amount']),
    ('rewards', 'ix_rewards_org_report_figures', ['org_id', 'report_id', 'status', 'amount']),
)


def upgrade() -> None:
    # Superseded by ix_leads_org_status_kind_changed (same prefix, and covering the funnel).
    op.drop_index('ix_leads_org_status_changed', table_name='leads')
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    # Case-insensitive source filter: an expression index (SQLite ≥ 3.9 and PostgreSQL).
    op.create_index(
        'ix_leads_org_source_lower', 'leads', ['org_id', sa.text('lower(source)')], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_leads_org_source_lower', table_name='leads')
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index(
        'ix_leads_org_status_changed', 'leads', ['org_id', 'status_id', 'status_changed_at'],
        unique=False,
    )
