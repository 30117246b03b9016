"""Dedicated benchmark databases: created, copied from a migrated template, dropped.

Never the development database: SQLite files live in the work folder, PostgreSQL databases
are named ``layersadmin_bench*``. A fresh database for a measure is a copy of a template
migrated once (a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL), so
migrations are not paid again and again.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def pg_server_url() -> str:
    """The PostgreSQL server to use: BENCH_PG_URL, else DATABASE_URL if it is PostgreSQL."""
    url = os.environ.get("BENCH_PG_URL") or ""
    if not url:
        candidate = os.environ.get("DATABASE_URL", "")
        if candidate.startswith(("postgres://", "postgresql://", "pgsql://")):
            url = candidate
    return url or DEFAULT_PG_URL


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


class Database:
    """One engine's benchmark databases. ``url(name)`` is a DATABASE_URL for a database."""

    engine = ""

    def fresh(self, name: str) -> str:
        raise NotImplementedError

    def make_template(self) -> str:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def url(self, name: str) -> str:
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError


class SqliteDatabases(Database):
    engine = "sqlite"

    def __init__(self, work_dir: Path, prefix: str = "bench") -> None:
        self.dir = Path(work_dir) / "db"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.names: set[str] = set()

    def path(self, name: str) -> Path:
        return self.dir / f"{self.prefix}_{name}.sqlite3"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(self.path(name)) + suffix).unlink(missing_ok=True)

    def make_template(self) -> str:
        self.drop("template")
        self.names.add("template")
        return self.url("template")

    def fresh(self, name: str) -> str:
        self.drop(name)
        template = self.path("template")
        if template.exists():
            shutil.copyfile(template, self.path(name))
        self.names.add(name)
        return self.url(name)

    def cleanup(self) -> None:
        for name in list(self.names):
            self.drop(name)

    def version(self) -> str:
        import sqlite3

        return sqlite3.sqlite_version


class PostgresDatabases(Database):
    engine = "postgres"

    def __init__(self, server_url: str, prefix: str = "layersadmin_bench") -> None:
        self.server_url = server_url
        self.prefix = prefix
        self.names: set[str] = set()

    def _admin(self):
        import psycopg

        parts = urlsplit(self.server_url)
        return psycopg.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            autocommit=True,
        )

    def db_name(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def url(self, name: str) -> str:
        return _with_db(self.server_url, self.db_name(name))

    def check(self) -> None:
        with self._admin() as conn:
            conn.execute("SELECT 1")

    def drop(self, name: str) -> None:
        from psycopg import sql

        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.db_name(name))
                )
            )

    def make_template(self) -> str:
        from psycopg import sql

        self.drop("template")
        with self._admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.db_name("template")))
            )
        self.names.add("template")
        return self.url("template")

    def fresh(self, name: str) -> str:
        from psycopg import sql

        self.drop(name)
        with self._admin() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self.db_name(name)), sql.Identifier(self.db_name("template"))
                )
            )
        self.names.add(name)
        return self.url(name)

    def cleanup(self) -> None:
        for name in list(self.names):
            self.drop(name)

    def version(self) -> str:
        with self._admin() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
