"""A throwaway PostgreSQL server for tests and benchmarks: initdb + pg_ctl into a temp dir.

Used by the ``pg_server`` fixture (tests/conftest.py), the database-fault test (which stops
and starts its own cluster) and benchmarks/load.py. As root, the cluster runs as the
``postgres`` user (PostgreSQL refuses to run as root) from a temp dir that user owns.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .support import free_port

ENV_URL = "CHATFEEDBACK_TEST_POSTGRES_URL"


def pg_bindir() -> Path:
    """The newest /usr/lib/postgresql/*/bin with initdb (or $CHATFEEDBACK_PG_BINDIR); raises
    when there is none, so that a CI run without PostgreSQL fails instead of skipping."""
    explicit = os.environ.get("CHATFEEDBACK_PG_BINDIR")
    candidates = [explicit] if explicit else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found: install the "
                       "'postgresql' package (make system-deps does it as root) or set "
                       f"{ENV_URL} to an existing server")


class PostgresCluster:
    """A private PostgreSQL cluster on 127.0.0.1:<free port>, trust auth; without fsync
    unless ``durable`` (benchmarks measure with it on)."""

    def __init__(self, port: int | None = None, durable: bool = False) -> None:
        self.durable = durable
        self.bindir = pg_bindir()
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="chatfeedback-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.root, self.user, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        result = subprocess.run([str(self.bindir / tool), *args], user=self.user, check=False,
                                capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed: {' | '.join(tail)}\n{log}")

    def start(self) -> PostgresCluster:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} " \
                  "-c max_connections=300"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def destroy(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


class PostgresServer:
    """Hands out fresh databases on a server: our own cluster, or $CHATFEEDBACK_TEST_POSTGRES_URL."""

    def __init__(self, durable: bool = False) -> None:
        self.cluster: PostgresCluster | None = None
        admin = os.environ.get(ENV_URL)
        if not admin:
            self.cluster = PostgresCluster(durable=durable).start()
            admin = self.cluster.url()
        self.admin_url = sa.engine.make_url(admin).set(drivername="postgresql+psycopg")
        self._admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT",
                                       poolclass=sa.pool.NullPool)
        self._count = 0

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        self._count += 1
        name = f"cf_test_{os.getpid()}_{self._count}_{int(time.time() * 1000) % 100000}"
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self._admin.dispose()
        if self.cluster:
            self.cluster.destroy()
