"""The `learnproof-lrs` command: serve the API, manage stores and credentials."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from learnproof_lrs.adapters.db.migrate import upgrade
from learnproof_lrs.bootstrap import bootstrap
from learnproof_lrs.service_layer import credentials as creds
from learnproof_lrs.settings import LrsSettings

app = typer.Typer(help="Learnproof LRS (xAPI 1.0.3 + 2.0.0).", no_args_is_help=True)
credentials_app = typer.Typer(help="Create, list and revoke credentials.", no_args_is_help=True)
app.add_typer(credentials_app, name="credentials")
stores_app = typer.Typer(
    help="List stores (tenants); a store is created with its first credential."
)
app.add_typer(stores_app, name="stores")
console = Console()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (LRS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (LRS_PORT)")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="worker processes (LRS_WORKERS; default: one per CPU on PostgreSQL, 1 on SQLite)"
        ),
    ] = None,
) -> None:
    """Serve the xAPI API."""
    settings = LrsSettings()
    uvicorn.run(
        "learnproof_lrs.entrypoints.http.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.worker_count(),
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""

    async def run() -> None:
        lrs = bootstrap()
        await upgrade(lrs.db)
        await lrs.stop()

    asyncio.run(run())
    console.print("schema is up to date")


@credentials_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who the credential is for")],
    store: Annotated[str, typer.Option(help="store (tenant) id")] = "default",
    scope: Annotated[
        list[str] | None, typer.Option(help="xAPI scope; repeat (default: all)")
    ] = None,
    key: Annotated[str | None, typer.Option(help="key (random when absent)")] = None,
    secret: Annotated[str | None, typer.Option(help="secret (random when absent)")] = None,
) -> None:
    """Create a credential (and its store when new); prints the key and secret once."""

    async def run() -> tuple[str, str]:
        lrs = bootstrap()
        await upgrade(lrs.db)
        try:
            return await creds.create_credential(
                lrs.db,
                store_id=store,
                name=name,
                scopes=scope,
                key=key,
                secret=secret,
                kdf_log2_n=lrs.settings.kdf_log2_n,
            )
        finally:
            await lrs.stop()

    made_key, made_secret = asyncio.run(run())
    console.print(f"key: {made_key}\nsecret: {made_secret}")


@credentials_app.command("list")
def list_() -> None:
    """List credentials (never their secrets)."""

    async def run() -> list[dict[str, object]]:
        lrs = bootstrap()
        try:
            return await creds.list_credentials(lrs.db)
        finally:
            await lrs.stop()

    table = Table("key", "store", "name", "scopes", "revoked")
    for row in asyncio.run(run()):
        scopes = row["scopes"]
        assert isinstance(scopes, list)
        table.add_row(
            str(row["key"]),
            str(row["store"]),
            str(row["name"]),
            " ".join(scopes),
            str(row["revoked"]),
        )
    console.print(table)


@credentials_app.command("revoke")
def revoke(key: str) -> None:
    """Revoke a credential; it stops working within the cache period."""

    async def run() -> bool:
        lrs = bootstrap()
        try:
            return await creds.revoke_credential(lrs.db, key)
        finally:
            await lrs.stop()

    if not asyncio.run(run()):
        console.print(f"no credential {key}")
        raise typer.Exit(1)
    console.print(f"revoked {key}")


@stores_app.command("list")
def list_stores() -> None:
    """List stores with how many active credentials each has."""

    async def run() -> list[dict[str, object]]:
        lrs = bootstrap()
        try:
            return await creds.list_stores(lrs.db)
        finally:
            await lrs.stop()

    table = Table("store", "active credentials")
    for row in asyncio.run(run()):
        table.add_row(str(row["id"]), str(row["credentials"]))
    console.print(table)


def main() -> None:
    app()
