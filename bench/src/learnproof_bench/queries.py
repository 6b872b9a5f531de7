"""The query scenarios on a bulk-loaded store: which URLs each one GETs, and running them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

import asyncpg
import httpx
import orjson

from learnproof_bench.generator import StatementGenerator
from learnproof_bench.ingest import LoadResult, auth_headers, get_load

PAGE = 100  # every list query asks for limit=100 (the LRS's default page is 500)


@dataclass
class QueryScenario:
    name: str
    urls: list[str]
    selective: bool  # held to the 20 ms p95 target (related_* have 100 ms)


def _agent(rank: int) -> str:
    return orjson.dumps(StatementGenerator.actor(rank)).decode()


def _list(**params: str) -> str:
    return "/statements?" + urlencode({**params, "limit": str(PAGE)})


async def build_scenarios(db_url: str, base: str, seed: int) -> list[QueryScenario]:
    """Pick ids, agents, registrations and time windows from the loaded store."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(db_url)
    try:
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM statements TABLESAMPLE SYSTEM (1) WHERE NOT voided"
                " AND voiding_target IS NULL LIMIT 200"
            )
        ]
        registrations = [
            r["value"]
            for r in await conn.fetch(
                "SELECT value FROM statement_index TABLESAMPLE SYSTEM (1)"
                " WHERE kind = 'r' LIMIT 200"
            )
        ]
        lo, hi = await conn.fetchrow("SELECT min(stored_us), max(stored_us) FROM statements")
    finally:
        await conn.close()
    rng.shuffle(ids)
    rng.shuffle(registrations)
    # Windows of ~1% of the store's stored-time range (the bulk load's stored times are spread
    # over the load, like a day of traffic); `until` alone and `since` alone as well.
    span = max(1, hi - lo)
    windows = []
    for _ in range(50):
        start = lo + rng.randrange(span)
        windows.append((start, start + span // 100))

    def iso(us: int) -> str:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    agents = [_agent(rng.randrange(50, 2_000)) for _ in range(50)]
    verbs = [
        "http://adlnet.gov/expapi/verbs/failed",
        "http://adlnet.gov/expapi/verbs/mastered",
        "http://adlnet.gov/expapi/verbs/satisfied",
    ]
    activities = [StatementGenerator.activity_id(rng.randrange(100, 1000)) for _ in range(50)]
    scenarios = [
        QueryScenario("statementId", [f"/statements?statementId={i}" for i in ids], True),
        QueryScenario("agent", [_list(agent=a) for a in agents], True),
        QueryScenario("verb", [_list(verb=v) for v in verbs], True),
        QueryScenario("activity", [_list(activity=a) for a in activities], True),
        QueryScenario("registration", [_list(registration=r) for r in registrations], True),
        QueryScenario(
            "since+until",
            [_list(since=iso(a), until=iso(b)) for a, b in windows],
            True,
        ),
        QueryScenario(
            "agent+since",
            [_list(agent=a, since=iso(w[0])) for a, w in zip(agents, windows, strict=True)],
            True,
        ),
        QueryScenario(
            "related_agents(hot)",
            [_list(agent=_agent(1), related_agents="true")],
            False,
        ),
        QueryScenario(
            "related_activities(hot)",
            [_list(activity=StatementGenerator.course_id(0), related_activities="true")],
            False,
        ),
    ]
    more = await _fiftieth_more(base, _list(verb="http://adlnet.gov/expapi/verbs/answered"))
    if more is not None:
        scenarios.append(QueryScenario("more page 50", [more], True))
    return scenarios


async def _fiftieth_more(base: str, first: str) -> str | None:
    """Follow `more` links from `first` and return the 50th one (relative to the xAPI base)."""
    async with httpx.AsyncClient(base_url=base, headers=auth_headers(), timeout=60.0) as client:
        url = first
        for _ in range(50):
            response = await client.get(url)
            response.raise_for_status()
            more = response.json().get("more") or ""
            if not more:
                return None
            # `more` is an absolute path with the base path (/xapi/statements?more=...).
            url = more.split("/xapi", 1)[1] if "/xapi" in more else more
        return url


async def first_touch(base: str, scenario: QueryScenario) -> LoadResult:
    """Each of the scenario's URLs once, at concurrency 1."""
    urls = scenario.urls
    return await get_load(urls, concurrency=1, repeat=len(urls), params_base=base)


async def run_scenario(
    base: str, scenario: QueryScenario, *, concurrency: int, repeat: int
) -> LoadResult:
    # One untimed pass warms the caches the way a running server's would be (at concurrency 8,
    # so every worker and pooled connection has prepared the query's statement).
    await get_load(scenario.urls[:16], concurrency=8, repeat=16, params_base=base)
    return await get_load(scenario.urls, concurrency=concurrency, repeat=repeat, params_base=base)
