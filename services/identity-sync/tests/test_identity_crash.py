"""SIGKILL of the consumer mid-stream loses nothing and applies nothing twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from identity_testkit import COURSE, ISSUER, REQUIREMENTS, FakeLrs, account, statement
from sqlalchemy.ext.asyncio import create_async_engine

from learnproof_events import outbox
from learnproof_identity.adapters.clock import ManualClock
from learnproof_identity.adapters.tables import define_tables
from learnproof_identity.bootstrap import bootstrap
from learnproof_identity.service_layer import directory
from learnproof_identity.settings import IdentitySettings

USERS = 30
PER_USER = 4  # three "experienced" and one "completed"
CLI = Path(sys.executable).parent / "learnproof-identity"


async def _count(url: str, query: sa.Select[tuple[int]]) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
    except sa.exc.OperationalError:
        return 0
    finally:
        await engine.dispose()


async def test_sigkill_mid_stream_loses_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'identity.sqlite3'}"
    lrs_url = f"sqlite+aiosqlite:///{tmp_path / 'lrs.sqlite3'}"
    requirements = tmp_path / "requirements.json"
    requirements.write_text(json.dumps(REQUIREMENTS))
    settings = IdentitySettings(
        database_url=db_url,
        statements_url=lrs_url,
        requirements_file=str(requirements),
        idp_issuer=ISSUER,
    )
    # The subprocess runs on the wall clock, so the scenario happens "now".
    clock = ManualClock(datetime.now(UTC))
    container = await bootstrap(settings, clock=clock)
    async with container.services.transaction() as tx:
        group = await directory.create_group(tx, {"displayName": "AI Engineers"}, "http://x")
        ids = []
        for n in range(USERS):
            user = await directory.create_user(tx, {"userName": f"u{n}@acme.com"}, "http://x")
            ids.append(user["id"])
        ops = [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]
        await directory.patch_group(tx, group["id"], {"Operations": ops}, "http://x")
    await container.close()

    lrs = FakeLrs(lrs_url, outbox.define_outbox_table(sa.MetaData()))
    for n in range(USERS):
        for verb in ["experienced"] * (PER_USER - 1) + ["completed"]:
            await lrs.store_statement(
                statement(account(f"u{n}@acme.com"), verb, COURSE, clock.now())
            )

    env = {
        **os.environ,
        "IDENTITY_DATABASE_URL": db_url,
        "IDENTITY_STATEMENTS_URL": lrs_url,
        "IDENTITY_REQUIREMENTS_FILE": str(requirements),
        "IDENTITY_IDP_ISSUER": ISSUER,
        "IDENTITY_CONSUMER_BATCH_SIZE": "3",
    }
    tables = define_tables()
    applied = sa.select(sa.func.count()).select_from(tables.evidence)
    process = await asyncio.create_subprocess_exec(str(CLI), "consume", env=env)
    try:
        for _ in range(1200):  # up to a minute for the CLI to start on a busy machine
            done = await _count(db_url, applied)
            if done >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert 0 < done < USERS, f"killed after {done} of {USERS} users: not mid-stream"

    rerun = await asyncio.create_subprocess_exec(
        str(CLI), "consume", "--until-idle", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await rerun.communicate()
    assert rerun.returncode == 0, out

    engine = create_async_engine(db_url)
    async with engine.connect() as conn:
        counts = dict(
            (
                await conn.execute(
                    sa.select(tables.actors.c.actor_key, tables.actors.c.statement_count)
                )
            ).all()
        )
        rows = (await conn.execute(sa.select(tables.outbox.c.type, tables.outbox.c.key))).all()
    await engine.dispose()
    assert len(counts) == USERS and set(counts.values()) == {PER_USER}
    per_type = Counter(t for t, _ in rows)
    assert per_type["compliance.satisfied"] == USERS
    assert per_type["entitlement.granted"] == USERS
    assert per_type["identity.actor.linked"] == USERS
    granted_keys = Counter(k for t, k in rows if t == "entitlement.granted")
    assert set(granted_keys) == set(ids) and set(granted_keys.values()) == {1}
