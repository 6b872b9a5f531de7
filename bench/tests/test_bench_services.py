"""The services phase of `make bench` wires the three real services together and measures them.

A short run (no timing is asserted: speed is a number in the bench, never a test): the LRS,
analytics and identity-sync start on their own PostgreSQL databases, statements and SCIM users
go in, each service's peak RSS is read and both consumers apply every statement event.
"""

from __future__ import annotations

import os

import pytest
from learnproof_bench.generator import Recycler, StatementGenerator
from learnproof_bench.services import run_services

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if not os.environ.get("LEARNPROOF_TEST_PG_URL"):
        if os.environ.get("LEARNPROOF_ALLOW_SKIP") == "1":
            pytest.skip("LEARNPROOF_TEST_PG_URL not set")
        pytest.fail("LEARNPROOF_TEST_PG_URL is not set: run through scripts/with-services.sh")


async def test_services_phase_measures_all_three_services() -> None:
    gen = Recycler(StatementGenerator(3, actors=200).batch(500), 3)
    result = await run_services(gen.batch, seconds=1.5, wait=60.0)
    assert result.ingest.errors == 0 and result.ingest.statements > 0
    assert result.scim.errors == 0 and result.scim.statements > 0
    assert set(result.peak_rss_mb) == {"lrs", "analytics", "identity-sync"}
    assert all(mb > 20 for mb in result.peak_rss_mb.values())
    assert result.events >= result.ingest.statements
    assert all(seconds is not None for seconds in result.catch_up_s.values())
