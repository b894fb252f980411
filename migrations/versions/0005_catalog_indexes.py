"""indexes for the planner's catalog: distinct owners and sources per organization

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 00:08:00
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_leads_org_owner', 'leads', ['org_id', 'owner'], unique=False)
    op.create_index('ix_leads_org_source', 'leads', ['org_id', 'source'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_leads_org_source', table_name='leads')
    op.drop_index('ix_leads_org_owner', table_name='leads')
