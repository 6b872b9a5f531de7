"""initial read-model schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-03 17:08:24.666501
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import learnproof_analytics.adapters.tables


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('analytics_actor_links',
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('actor', 'user_id')
    )
    with op.batch_alter_table('analytics_actor_links', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_actor_links_user', ['user_id'], unique=False)

    op.create_table('analytics_consumer_tracking',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=249), nullable=False),
    sa.Column('partition', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('txid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'topic', 'partition')
    )
    op.create_table('analytics_consumer_tracking_seen',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('analytics_directory_groups',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('analytics_directory_users',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('user_name', sa.Text(), nullable=True),
    sa.Column('display_name', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('department', sa.Text(), nullable=True),
    sa.Column('manager_id', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('analytics_directory_users', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_users_manager', ['manager_id'], unique=False)

    op.create_table('analytics_fact_context',
    sa.Column('store', sa.String(length=200), nullable=False),
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('store', 'statement_id', 'position')
    )
    with op.batch_alter_table('analytics_fact_context', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_fact_context_activity', ['activity_id'], unique=False)

    op.create_table('analytics_group_members',
    sa.Column('group_id', sa.String(length=200), nullable=False),
    sa.Column('user_id', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('group_id', 'user_id')
    )
    with op.batch_alter_table('analytics_group_members', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_group_members_user', ['user_id'], unique=False)

    op.create_table('analytics_skipped_statements',
    sa.Column('store', sa.String(length=200), nullable=False),
    sa.Column('statement_id', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('store', 'statement_id')
    )
    op.create_table('analytics_statement_facts',
    sa.Column('store', sa.String(length=200), nullable=False),
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('actor_name', sa.Text(), nullable=True),
    sa.Column('verb', sa.Text(), nullable=False),
    sa.Column('verb_kind', sa.String(length=32), nullable=False),
    sa.Column('activity_id', sa.Text(), nullable=False),
    sa.Column('activity_type', sa.Text(), nullable=True),
    sa.Column('registration', sa.String(length=64), nullable=True),
    sa.Column('session_id', sa.Text(), nullable=True),
    sa.Column('timestamp', learnproof_analytics.adapters.tables.UTCDateTime(), nullable=False),
    sa.Column('score_scaled', sa.Double(), nullable=True),
    sa.Column('success', sa.Boolean(), nullable=True),
    sa.Column('completion', sa.Boolean(), nullable=True),
    sa.Column('duration_s', sa.Double(), nullable=True),
    sa.Column('assessment_type', sa.Text(), nullable=True),
    sa.Column('video_progress', sa.Double(), nullable=True),
    sa.Column('voided_at', learnproof_analytics.adapters.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('store', 'statement_id')
    )
    with op.batch_alter_table('analytics_statement_facts', schema=None) as batch_op:
        batch_op.create_index('ix_analytics_facts_activity', ['activity_id', 'timestamp'], unique=False)
        batch_op.create_index('ix_analytics_facts_actor', ['actor', 'timestamp'], unique=False)
        batch_op.create_index('ix_analytics_facts_registration', ['registration'], unique=False)
        batch_op.create_index('ix_analytics_facts_timestamp', ['timestamp'], unique=False)

    op.create_table('analytics_voided_statements',
    sa.Column('store', sa.String(length=200), nullable=False),
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('voiding_statement_id', sa.String(length=64), nullable=True),
    sa.Column('voided_at', learnproof_analytics.adapters.tables.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('store', 'statement_id')
    )



def downgrade() -> None:

    op.drop_table('analytics_voided_statements')
    with op.batch_alter_table('analytics_statement_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_facts_timestamp')
        batch_op.drop_index('ix_analytics_facts_registration')
        batch_op.drop_index('ix_analytics_facts_actor')
        batch_op.drop_index('ix_analytics_facts_activity')

    op.drop_table('analytics_statement_facts')
    op.drop_table('analytics_skipped_statements')
    with op.batch_alter_table('analytics_group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_group_members_user')

    op.drop_table('analytics_group_members')
    with op.batch_alter_table('analytics_fact_context', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_fact_context_activity')

    op.drop_table('analytics_fact_context')
    with op.batch_alter_table('analytics_directory_users', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_users_manager')

    op.drop_table('analytics_directory_users')
    op.drop_table('analytics_directory_groups')
    op.drop_table('analytics_consumer_tracking_seen')
    op.drop_table('analytics_consumer_tracking')
    with op.batch_alter_table('analytics_actor_links', schema=None) as batch_op:
        batch_op.drop_index('ix_analytics_actor_links_user')

    op.drop_table('analytics_actor_links')

