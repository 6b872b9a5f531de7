"""The statement generator: deterministic from its seed, realistic sizes and mix, valid xAPI."""

from __future__ import annotations

import collections

import orjson
from learnproof_bench.generator import VOIDED, StatementGenerator
from learnproof_bench.rows import RowBuilder, now_ms

from learnproof_lrs.domain.validation import validate_statement


def test_bench_same_seed_same_statements() -> None:
    a = StatementGenerator(42, actors=1_000).batch(500)
    b = StatementGenerator(42, actors=1_000).batch(500)
    assert orjson.dumps(a) == orjson.dumps(b)
    c = StatementGenerator(43, actors=1_000).batch(500)
    assert orjson.dumps(a) != orjson.dumps(c)


def test_bench_sizes_and_mix() -> None:
    statements = StatementGenerator(1, actors=5_000).batch(5_000)
    plain = [s for s in statements if s["verb"]["id"] != VOIDED]
    voiding = [s for s in statements if s["verb"]["id"] == VOIDED]
    sizes = sorted(len(orjson.dumps(s)) for s in plain)
    assert sizes[0] >= 700 and sizes[-1] <= 2_048
    assert 0.005 <= len(voiding) / len(statements) <= 0.02
    with_id = sum(1 for s in statements if "id" in s) / len(statements)
    assert 0.45 <= with_id <= 0.55
    assert len({s["verb"]["id"] for s in plain}) >= 25
    assert len({s["object"]["id"] for s in plain}) >= 500
    # Zipf: the hottest actor is far above the median one.
    counts = collections.Counter(orjson.dumps(s["actor"]) for s in plain)
    top, *_ = counts.most_common(1)
    assert top[1] > 20 * sorted(counts.values())[len(counts) // 2]


def test_bench_voiding_targets_earlier_client_ids() -> None:
    statements = StatementGenerator(5, actors=1_000).batch(3_000)
    seen: set[str] = set()
    targets = []
    for s in statements:
        if s["verb"]["id"] == VOIDED:
            targets.append(s["object"]["id"])
            assert s["object"]["id"] in seen
        if "id" in s:
            seen.add(s["id"])
    assert len(targets) == len(set(targets))


def test_bench_statements_are_valid_xapi() -> None:
    for s in StatementGenerator(9, actors=500).batch(300):
        validate_statement(s, "1.0.3")
        validate_statement(s, "2.0.0")


def test_bench_rows_match_the_lrs_layout() -> None:
    builder = RowBuilder("default", "k", "bootstrap")
    raws = StatementGenerator(3, actors=200).batch(400)
    batch = builder.build(raws, now_ms())
    assert len(batch.statements) == 400
    assert all(len(r) == 9 for r in batch.statements)
    # every statement has at least its verb, actor and object index rows
    assert len(batch.index) >= 3 * 400
    stored = [r for r in batch.outbox if r[2] == "xapi.statement.stored"]
    assert len(stored) == 400
    body = orjson.loads(batch.statements[0][8])
    assert {"id", "stored", "authority", "version", "timestamp"} <= body.keys()
