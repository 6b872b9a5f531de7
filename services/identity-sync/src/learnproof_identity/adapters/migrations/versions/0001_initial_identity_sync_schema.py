"""initial identity-sync schema

Revision ID: 0001
Revises: 
Create Date: 2026-12-04 22:17:29.100813
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import learnproof_identity.adapters.tables


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('actor_evidence',
    sa.Column('statement_id', sa.String(length=64), nullable=False),
    sa.Column('actor_key', sa.String(length=1024), nullable=False),
    sa.Column('verb', sa.String(length=32), nullable=False),
    sa.Column('activity_iri', sa.String(length=2048), nullable=False),
    sa.Column('registration', sa.String(length=64), nullable=True),
    sa.Column('timestamp', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('voided_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('statement_id')
    )
    with op.batch_alter_table('actor_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actor_evidence_actor_key'), ['actor_key'], unique=False)

    op.create_table('actor_links',
    sa.Column('actor_key', sa.String(length=1024), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('linked_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('actor_key')
    )
    with op.batch_alter_table('actor_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actor_links_user_id'), ['user_id'], unique=False)

    op.create_table('actors_seen',
    sa.Column('actor_key', sa.String(length=1024), nullable=False),
    sa.Column('actor', sa.JSON(), nullable=False),
    sa.Column('statement_count', sa.Integer(), nullable=False),
    sa.Column('first_seen', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('actor_key')
    )
    op.create_table('compliance_history',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('requirement_id', sa.String(length=256), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('effective_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('compliance_history', schema=None) as batch_op:
        batch_op.create_index('ix_compliance_history_user', ['user_id', 'requirement_id', 'effective_at'], unique=False)

    op.create_table('compliance_state',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('requirement_id', sa.String(length=256), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('assigned_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('effective_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('due_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('satisfied_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('updated_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'requirement_id')
    )
    with op.batch_alter_table('compliance_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_compliance_state_status'), ['status'], unique=False)

    op.create_table('consumer_tracking',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('topic', sa.String(length=249), nullable=False),
    sa.Column('partition', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('txid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'topic', 'partition')
    )
    op.create_table('consumer_tracking_seen',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'event_id')
    )
    op.create_table('entitlement_grants',
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('entitlement_id', sa.String(length=256), nullable=False),
    sa.Column('granted_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'entitlement_id')
    )
    op.create_table('entitlement_history',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('entitlement_id', sa.String(length=256), nullable=False),
    sa.Column('granted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('effective_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('entitlement_history', schema=None) as batch_op:
        batch_op.create_index('ix_entitlement_history_user', ['user_id', 'entitlement_id', 'effective_at'], unique=False)

    op.create_table('entitlements',
    sa.Column('id', sa.String(length=256), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('txid', sa.BigInteger(), nullable=True),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('topic', sa.String(length=249), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_txid_seq', ['txid', 'seq'], unique=False)

    op.create_table('requirements',
    sa.Column('id', sa.String(length=256), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('scim_group_members',
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('display', sa.String(length=512), nullable=True),
    sa.Column('added_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('group_id', 'user_id')
    )
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_group_members_user_id'), ['user_id'], unique=False)

    op.create_table('scim_groups',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('ordinal', sa.BigInteger(), nullable=False),
    sa.Column('display_name', sa.String(length=512), nullable=False),
    sa.Column('external_id', sa.String(length=512), nullable=True),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_modified', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_groups_display_name'), ['display_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_groups_ordinal'), ['ordinal'], unique=False)

    op.create_table('scim_users',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('ordinal', sa.BigInteger(), nullable=False),
    sa.Column('user_name_key', sa.String(length=512), nullable=False),
    sa.Column('external_id', sa.String(length=512), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_modified', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('role_changed_at', learnproof_identity.adapters.tables.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_name_key')
    )
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scim_users_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scim_users_ordinal'), ['ordinal'], unique=False)

    op.create_table('user_actor_keys',
    sa.Column('actor_key', sa.String(length=1024), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('actor_key', 'user_id')
    )
    with op.batch_alter_table('user_actor_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_actor_keys_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('user_actor_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_actor_keys_user_id'))

    op.drop_table('user_actor_keys')
    with op.batch_alter_table('scim_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_users_ordinal'))
        batch_op.drop_index(batch_op.f('ix_scim_users_external_id'))

    op.drop_table('scim_users')
    with op.batch_alter_table('scim_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_groups_ordinal'))
        batch_op.drop_index(batch_op.f('ix_scim_groups_display_name'))

    op.drop_table('scim_groups')
    with op.batch_alter_table('scim_group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scim_group_members_user_id'))

    op.drop_table('scim_group_members')
    op.drop_table('requirements')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_txid_seq')

    op.drop_table('outbox')
    op.drop_table('entitlements')
    with op.batch_alter_table('entitlement_history', schema=None) as batch_op:
        batch_op.drop_index('ix_entitlement_history_user')

    op.drop_table('entitlement_history')
    op.drop_table('entitlement_grants')
    op.drop_table('consumer_tracking_seen')
    op.drop_table('consumer_tracking')
    with op.batch_alter_table('compliance_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_compliance_state_status'))

    op.drop_table('compliance_state')
    with op.batch_alter_table('compliance_history', schema=None) as batch_op:
        batch_op.drop_index('ix_compliance_history_user')

    op.drop_table('compliance_history')
    op.drop_table('actors_seen')
    with op.batch_alter_table('actor_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actor_links_user_id'))

    op.drop_table('actor_links')
    with op.batch_alter_table('actor_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actor_evidence_actor_key'))

    op.drop_table('actor_evidence')
