"""The shared rate budget in the database (``layersadmin.layers.budget`` says what and why).

One row of ``RateBudget`` per (key hash, endpoint class) holds ``tat_us``. A take reads the
row and the store's clock (PostgreSQL's ``clock_timestamp()``, so hosts whose clocks disagree
share one time line; SQLite lives on one host, whose clock it uses), computes the take in
Python (``budget.take_arithmetic``) and writes it back with one compare-and-set statement:

    UPDATE layersadmin_ratebudget SET tat_us = <new> WHERE key_hash = .. AND endpoint_class = ..
                                                       AND tat_us = <the value read>

It changes one row or none: none means another process took in between, and the take is made
again from a fresh read. Every take thus sees the latest ``tat``, which is all the proof needs
(PostgreSQL re-checks the WHERE after waiting for a concurrent UPDATE's row lock; SQLite has
one writer at a time). A take that hands out nothing writes nothing (a read only).

**Batches.** A sync process takes its tokens in batches (as many as it spent in ``grace``
seconds at its recent pace, at most twice the last batch and ``batch_max``) and spends them
from a local pool, each within ``grace`` (2 s) of its moment, so the database sees one short
single-row write per batch, not one per API call. A person's request takes one token.

**Which connection (and why not the caller's).** The budget uses a connection of its own
(``connections.create_connection(alias)``: same settings, autocommit), one per process, shared
by its threads under a lock. So a reservation is never part of the caller's transaction: a
rollback there cannot undo tokens already spent, and on PostgreSQL the bucket's row is never
locked for the length of someone's transaction (each UPDATE commits at once). On SQLite, whose
one write lock an open transaction holds from its start (``transaction_mode=IMMEDIATE``), a
second connection would wait for the calling thread itself: so **on SQLite, a thread that is
inside an atomic block takes its token on its own connection, inside its transaction** (under
a savepoint). The write lock is already its own, so nothing waits; the price is that a rollback
of that transaction undoes that one reservation. layersadmin calls the API outside
transactions (the sync writes after each page, a person's write between two), so in practice
that path is taken only by tests, which run inside a transaction.

``close()`` closes the private connection (``budget.close_shared()`` closes every one): a
PostgreSQL test database cannot be dropped while it is open. A connection that broke (a
restarted server) is closed and opened again once; after that ``BudgetUnavailable``.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Any

from django.db import DatabaseError, connections, transaction

from layersadmin.layers.budget import BudgetUnavailable, SharedBudget, take_arithmetic
from layersadmin.models import RateBudget

CAS_ATTEMPTS = 100  # compare-and-set rounds before giving up (never reached in practice)


class DatabaseBudget(SharedBudget):
    """The budget in ``RateBudget`` rows of the database ``alias``."""

    kind = "database"
    grace = 2.0  # a pooled token may be spent up to 2 s after its moment
    batch_max = 100

    def __init__(self, key: str, *, alias: str = "default", **kwargs: Any) -> None:
        super().__init__(key, **kwargs)
        self.alias = alias
        self._db_lock = threading.Lock()  # the private connection, one thread at a time
        self._connection = None
        self.statements = 0  # statements sent (tests count them)
        self.updates = 0  # UPDATE statements among them

    # --- connections ----------------------------------------------------------------------------

    def _private(self):
        if self._connection is None:
            connection = connections.create_connection(self.alias)
            connection.inc_thread_sharing()  # used by every thread of the process, one at a time
            self._connection = connection
        return self._connection

    def _joined(self):
        """The calling thread's connection when it must be used (SQLite, in a transaction)."""
        connection = connections[self.alias]
        if connection.vendor == "sqlite" and connection.in_atomic_block:
            return connection
        return None

    def close(self) -> None:
        with self._db_lock:
            connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(DatabaseError):
                connection.close()

    @property
    def connection(self):
        """The private connection (opened on first use)."""
        with self._db_lock:
            return self._private()

    def _token(self, cls, schedule, interactive, max_wait):
        if self._joined() is not None:
            # One token, never pooled: it lives in a transaction that may still roll back.
            ahead = max(0.0, max_wait if max_wait is not None else self.window)
            return self._take(
                cls,
                schedule,
                interactive=interactive,
                ahead=ahead if interactive else self.sync_ahead(schedule),
                want=1,
            )
        return super()._token(cls, schedule, interactive, max_wait)

    def _run(self, work):
        """``work(connection)`` on the right connection (module docstring)."""
        joined = self._joined()
        if joined is not None:
            try:
                with transaction.atomic(using=self.alias):
                    return work(joined)
            except DatabaseError as exc:
                raise BudgetUnavailable(f"database: {type(exc).__name__}") from None
        with self._db_lock:
            for attempt in (1, 2):
                try:
                    return work(self._private())
                except DatabaseError as exc:
                    # A broken connection (a restarted server): open another, once.
                    connection, self._connection = self._connection, None
                    if connection is not None:
                        with contextlib.suppress(DatabaseError):
                            connection.close()
                    if attempt == 2:
                        raise BudgetUnavailable(f"database: {type(exc).__name__}") from None
        raise AssertionError("unreachable")

    # --- the statements -------------------------------------------------------------------------

    def _read(self, connection, cls: str) -> tuple[int | None, int, float, float]:
        """``(tat_us or None when there is no row, now_us, low, high)``."""
        table = connection.ops.quote_name(RateBudget._meta.db_table)
        where = "key_hash = %s AND endpoint_class = %s"
        with connection.cursor() as cursor:
            self.statements += 1
            if connection.vendor == "postgresql":
                low = self.clock()
                cursor.execute(
                    f"SELECT (SELECT tat_us FROM {table} WHERE {where}), "  # noqa: S608
                    "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint",
                    [self.key, cls],
                )
                tat, now = cursor.fetchone()
                return tat, int(now), low, self.clock()
            low = self.clock()
            now = math.floor(time.time() * 1_000_000)  # read at ``low``: one host, one clock
            cursor.execute(f"SELECT tat_us FROM {table} WHERE {where}", [self.key, cls])  # noqa: S608
            row = cursor.fetchone()
            return (row[0] if row else None), now, low, low

    def _insert(self, connection, cls: str) -> None:
        table = connection.ops.quote_name(RateBudget._meta.db_table)
        with connection.cursor() as cursor:
            self.statements += 1
            cursor.execute(
                f"INSERT INTO {table} (key_hash, endpoint_class, tat_us) "  # noqa: S608
                "VALUES (%s, %s, 0) ON CONFLICT DO NOTHING",
                [self.key, cls],
            )

    def _swap(self, connection, cls: str, old: int, new: int) -> bool:
        """The compare-and-set: ``tat_us := new`` if it still is ``old``."""
        table = connection.ops.quote_name(RateBudget._meta.db_table)
        with connection.cursor() as cursor:
            self.statements += 1
            self.updates += 1
            cursor.execute(
                f"UPDATE {table} SET tat_us = %s "  # noqa: S608
                "WHERE key_hash = %s AND endpoint_class = %s AND tat_us = %s",
                [new, self.key, cls, old],
            )
            return cursor.rowcount == 1

    def _reserve(self, cls, schedule, tol_us, ahead_us, want):
        def work(connection):
            for _ in range(CAS_ATTEMPTS):
                tat, now, low, high = self._read(connection, cls)
                if tat is None:
                    self._insert(connection, cls)
                    continue
                x, n, new = take_arithmetic(tat, now, schedule.interval_us, tol_us, ahead_us, want)
                if n == 0 or self._swap(connection, cls, tat, new):
                    return now, x, n, low, high
            raise BudgetUnavailable("database: the bucket kept changing under us")

        return self._run(work)

    def _hold(self, cls, schedule, until_us):
        def work(connection):
            for _ in range(CAS_ATTEMPTS):
                tat, now, _low, _high = self._read(connection, cls)
                if tat is None:
                    self._insert(connection, cls)
                    continue
                if tat >= now + until_us or self._swap(connection, cls, tat, now + until_us):
                    return
            raise BudgetUnavailable("database: the bucket kept changing under us")

        self._run(work)
