"""The operator CLI (credentials, stores) and CORS for browser-based content (Communication 1.3)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from learnproof_lrs.entrypoints.cli import app


def test_cli_creates_lists_and_revokes_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LRS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("LRS_KDF_LOG2_N", "10")
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "credentials",
            "create",
            "--name",
            "lms",
            "--store",
            "acme",
            "--key",
            "k1",
            "--scope",
            "statements/write",
        ],
    )
    assert made.exit_code == 0, made.output
    assert "key: k1" in made.output and "secret: " in made.output
    listed = runner.invoke(app, ["credentials", "list"])
    assert "k1" in listed.output and "acme" in listed.output
    stores = runner.invoke(app, ["stores", "list"])
    assert "acme" in stores.output
    assert runner.invoke(app, ["credentials", "revoke", "k1"]).exit_code == 0
    assert runner.invoke(app, ["credentials", "revoke", "nope"]).exit_code == 1


async def test_cors_preflight_allows_browser_content(client: httpx.AsyncClient) -> None:
    resp = await client.options(
        "/statements",
        headers={
            "Origin": "https://content.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-experience-api-version",
        },
    )
    assert resp.status_code == 200
    assert resp.headers["access-control-allow-origin"] in ("*", "https://content.example.com")
    assert "POST" in resp.headers["access-control-allow-methods"]
    simple = await client.get("/about", headers={"Origin": "https://content.example.com"})
    assert "x-experience-api-version" in simple.headers["access-control-expose-headers"].lower()
