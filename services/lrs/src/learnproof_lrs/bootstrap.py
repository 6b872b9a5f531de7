"""Wires the LRS's adapters together once, from settings: the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from learnproof_lrs.adapters.db.engine import Database
from learnproof_lrs.adapters.db.migrate import upgrade
from learnproof_lrs.service_layer.credentials import Authenticator, create_credential
from learnproof_lrs.service_layer.statements import WriteCoalescer
from learnproof_lrs.service_layer.version_hints import VersionHints
from learnproof_lrs.settings import LrsSettings


@dataclass(slots=True)
class Lrs:
    """Everything a request handler needs, built once per process."""

    settings: LrsSettings
    db: Database
    authenticator: Authenticator
    # Group commit of concurrent statement writes (None: every request its own transaction).
    coalescer: WriteCoalescer | None = None
    version_hints: VersionHints = field(default_factory=VersionHints)

    async def start(self) -> None:
        # Worker processes start together: migrate and seed one at a time.
        async with self.db.exclusive("learnproof_lrs.start"):
            await upgrade(self.db)
            if self.settings.bootstrap_key and self.settings.bootstrap_secret:
                await create_credential(
                    self.db,
                    store_id=self.settings.default_store,
                    name="bootstrap",
                    key=self.settings.bootstrap_key,
                    secret=self.settings.bootstrap_secret,
                    kdf_log2_n=self.settings.kdf_log2_n,
                )

    async def stop(self) -> None:
        await self.db.dispose()


def bootstrap(settings: LrsSettings | None = None) -> Lrs:
    settings = settings or LrsSettings()
    db = Database(
        settings.database_url,
        pool_size=settings.pool_size,
        query_timeout_ms=settings.query_timeout_ms,
        through_max_age_ms=settings.consistent_through_max_age_ms,
    )
    return Lrs(
        settings=settings,
        db=db,
        authenticator=Authenticator(db, settings.credential_cache_seconds),
        coalescer=WriteCoalescer(
            db, settings.group_commit_max_statements, settings.group_commit_parallel
        )
        if settings.group_commit
        else None,
    )
