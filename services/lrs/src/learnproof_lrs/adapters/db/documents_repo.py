"""All SQL of the document resources (State, profiles) and of the Activities / Agents lookups."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from learnproof_lrs.adapters.db.tables import activities, documents, statement_index, statements
from learnproof_lrs.domain.documents import DocumentKey, DocumentSet, StoredDocument

_AGENT_KIND = "a"  # statement_index.kind of agent rows (domain.statement.AGENT)


def _key_clause(key: DocumentKey) -> sa.ColumnElement[bool]:
    return sa.and_(
        documents.c.store_id == key.owner.store_id,
        documents.c.owner_hash == key.owner.owner_hash,
        documents.c.registration == key.registration,
        documents.c.doc_hash == key.doc_hash,
    )


def _set_clause(owner: DocumentSet) -> sa.ColumnElement[bool]:
    clause = sa.and_(
        documents.c.store_id == owner.store_id, documents.c.owner_hash == owner.owner_hash
    )
    if owner.registration is not None:
        clause = sa.and_(clause, documents.c.registration == owner.registration)
    return clause


class DocumentRows:
    """Reads and writes of `documents` on one connection (the caller owns the transaction)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def current(self, key: DocumentKey, *, for_update: bool = False) -> StoredDocument | None:
        """The document, or None. `for_update` row-locks it on PostgreSQL until commit, so a
        conditional write judges and replaces the same version (SQLite writers are serialised
        by Database.write() and SQLAlchemy renders no FOR UPDATE there)."""
        query = sa.select(
            documents.c.content_type,
            documents.c.content,
            documents.c.etag,
            documents.c.updated_us,
        ).where(_key_clause(key))
        if for_update:
            query = query.with_for_update()
        row = (await self.conn.execute(query)).first()
        if row is None:
            return None
        return StoredDocument(row.content_type, bytes(row.content), row.etag, row.updated_us)

    async def insert(self, key: DocumentKey, doc: StoredDocument) -> bool:
        """Insert a new document; False when a concurrent writer created it first."""
        values = {
            "store_id": key.owner.store_id,
            "owner_hash": key.owner.owner_hash,
            "registration": key.registration,
            "doc_hash": key.doc_hash,
            "kind": key.owner.kind,
            "activity_id": key.owner.activity_id,
            "agent_key": key.owner.agent_key,
            "doc_id": key.doc_id,
            "content_type": doc.content_type,
            "content": doc.content,
            "etag": doc.etag,
            "updated_us": doc.updated_us,
        }
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(documents).values(**values).on_conflict_do_nothing()
        result = await self.conn.execute(statement)
        return result.rowcount == 1

    async def update(self, key: DocumentKey, doc: StoredDocument) -> None:
        await self.conn.execute(
            sa.update(documents)
            .where(_key_clause(key))
            .values(
                content_type=doc.content_type,
                content=doc.content,
                etag=doc.etag,
                updated_us=doc.updated_us,
            )
        )

    async def delete(self, key: DocumentKey) -> None:
        await self.conn.execute(sa.delete(documents).where(_key_clause(key)))

    async def delete_set(self, owner: DocumentSet) -> int:
        result = await self.conn.execute(sa.delete(documents).where(_set_clause(owner)))
        return result.rowcount

    async def ids(self, owner: DocumentSet, since_us: int | None) -> list[tuple[str, int]]:
        """(id, updated_us) of the owner's documents, updated after `since_us` when given."""
        query = sa.select(documents.c.doc_id, documents.c.updated_us).where(_set_clause(owner))
        if since_us is not None:
            query = query.where(documents.c.updated_us > since_us)
        result = await self.conn.execute(query.order_by(documents.c.updated_us, documents.c.doc_id))
        # Without a registration filter the same id may exist under several registrations.
        seen: dict[str, int] = {}
        for row in result:
            seen[row.doc_id] = max(row.updated_us, seen.get(row.doc_id, 0))
        return list(seen.items())


class KnowledgeRows:
    """What statements taught the LRS about activities and agents (read-only)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def definition(self, store_id: str, activity_id: str) -> dict[str, Any] | None:
        row = (
            await self.conn.execute(
                sa.select(activities.c.definition).where(
                    activities.c.store_id == store_id, activities.c.activity_id == activity_id
                )
            )
        ).first()
        if row is None:
            return None
        definition = orjson.loads(row.definition)
        return definition if isinstance(definition, dict) else None

    async def recent_bodies(self, store_id: str, agent_key: str, limit: int) -> list[bytes]:
        """Bodies of the latest statements that name the agent (for the Person's names)."""
        seqs = (
            sa.select(statement_index.c.seq)
            .where(
                statement_index.c.store_id == store_id,
                statement_index.c.kind == _AGENT_KIND,
                statement_index.c.value == agent_key,
            )
            .order_by(statement_index.c.stored_us.desc(), statement_index.c.seq.desc())
            .limit(limit)
            .scalar_subquery()
        )
        result = await self.conn.execute(
            sa.select(statements.c.body).where(
                statements.c.store_id == store_id, statements.c.seq.in_(seqs)
            )
        )
        return [bytes(r.body) for r in result]
