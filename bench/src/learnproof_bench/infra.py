"""Throwaway databases on the project's cluster and the LRS server as a measured subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]

from learnproof_lrs.settings import LrsSettings

BENCH_KEY = "bench-key"
BENCH_SECRET = "bench-secret-not-for-production"


def server_url() -> str:
    url = os.environ.get("LEARNPROOF_TEST_PG_URL")
    if not url:
        raise SystemExit("LEARNPROOF_TEST_PG_URL is not set: run through scripts/with-services.sh")
    return url


def database_url(server: str, name: str) -> str:
    """The URL of database `name` on the server of `server` (any database)."""
    base, _, _ = server.rpartition("/")
    return f"{base}/{name}"


@contextlib.asynccontextmanager
async def fresh_database(prefix: str) -> AsyncIterator[str]:
    """CREATE a uniquely named database, yield its URL, DROP it (FORCE) at the end."""
    server = server_url()
    name = f"lp_bench_{prefix}_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield database_url(server, name)
    finally:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def create_schema(url: str) -> None:
    """The LRS's own schema (its Alembic migrations), so bulk loads write the exact tables."""
    from learnproof_lrs.adapters.db.engine import Database
    from learnproof_lrs.adapters.db.migrate import upgrade

    db = Database(url, pool_size=1)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    """A service started as a subprocess (its own process group), ready once `health` answers
    200; RSS and CPU of its process tree are read on demand; stopped with SIGINT (graceful)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    health: str
    log_path: Path = Path(".bench/server.log")
    proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - starts once, returns at once
            self.argv,
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode}; {self.log_path}"
                    )
                try:
                    r = await client.get(self.health, timeout=1.0)
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer within 60 s")
                await asyncio.sleep(0.2)

    def _tree(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            root = psutil.Process(self.proc.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_mb(self) -> float:
        """Resident memory of the process and its children (workers), in MiB."""
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 1_048_576

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process tree so far."""
        total = 0.0
        for p in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    async def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # uvicorn shuts down gracefully on SIGINT (the supervisor forwards it to workers).
        os.killpg(self.proc.pid, signal.SIGINT)
        for _ in range(100):
            if self.proc.poll() is not None:
                return
            await asyncio.sleep(0.1)
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def tool(name: str) -> str:
    """A console script of this virtualenv (learnproof-lrs, learnproof-analytics, ...)."""
    return str(Path(sys.executable).with_name(name))


def default_workers(db_url: str) -> int:
    """The worker count `learnproof-lrs serve` picks on its own for this database."""
    return LrsSettings(database_url=db_url).worker_count()


@dataclass
class Server:
    """`learnproof-lrs serve` on a free port (the LRS as deployed: its default worker count)."""

    db_url: str
    workers: int | None = None  # None: the LRS's default (`default_workers`)
    bootstrap: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: ServiceProcess | None = None

    @property
    def worker_count(self) -> int:
        return self.workers or default_workers(self.db_url)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/xapi"

    async def start(self) -> None:
        self.port = free_port()
        env = {
            "LRS_DATABASE_URL": self.db_url,
            "LRS_LOG_LEVEL": "warning",
            "LRS_POOL_SIZE": os.environ.get("LRS_POOL_SIZE", "10"),
        }
        if self.bootstrap:
            env.update(LRS_BOOTSTRAP_KEY=BENCH_KEY, LRS_BOOTSTRAP_SECRET=BENCH_SECRET)
        env.update(self.extra_env)
        argv = [tool("learnproof-lrs"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers:
            argv += ["--workers", str(self.workers)]
        self.process = ServiceProcess("the LRS", argv, env, f"{self.base}/about")
        await self.process.start()
        # With several workers, /about answering means one is up; give the others a moment.
        if self.worker_count > 1:
            await asyncio.sleep(2.0)

    def rss_mb(self) -> float:
        return self.process.rss_mb() if self.process is not None else 0.0

    def cpu_seconds(self) -> float:
        return self.process.cpu_seconds() if self.process is not None else 0.0

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()


class RssSampler:
    """Samples a server's RSS every `interval` seconds while running; keeps the peak."""

    def __init__(self, server: Server | ServiceProcess, interval: float = 0.1) -> None:
        self.server = server
        self.interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.server.rss_mb())
            await asyncio.sleep(self.interval)

    def reset(self) -> None:
        self.peak = self.server.rss_mb()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
