"""Fixtures of the analytics tests; the helpers live in analytics_testkit (a unique module name,
so `from analytics_testkit import ...` never resolves to another directory's conftest)."""

from analytics_testkit import (  # noqa: F401  (fixtures are registered by import)
    _drop_session_pg_databases,
    backend,
    harness,
    kafka_harness,
)
