"""One sync per project at a time, across processes and hosts.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``), released when the
connection closes, so a killed worker frees its projects at once. SQLite (one host): a lease
row in ``SyncLease`` that expires, so a killed worker's lease can be taken over; a lease whose
holder is a process of this host that no longer runs (SIGKILL, OOM) is taken over at once.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from sync.models import SyncLease

LEASE_SECONDS = 15 * 60
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _pg_try(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_advisory_key(name)])
        return bool(cursor.fetchone()[0])


def _pg_release(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [_advisory_key(name)])


def process_is_gone(host: str, pid: int | None) -> bool:
    """Whether ``pid`` on ``host`` is a process of this host that no longer runs.

    False whenever it cannot be known (another host, no pid, no permission to ask): the
    caller then falls back to expiry.
    """
    if host != socket.gethostname() or not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    # A killed process its parent has not reaped yet (a zombie) runs no code either.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _holder_is_gone(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return pid.isdigit() and process_is_gone(host, int(pid))


def _lease_try(name: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        SyncLease.objects.filter(key=name, expires_at__lt=now).delete()
        # A worker killed while holding the lease never released it: take it over now, not
        # when it expires (which would make a rerun skip its projects for LEASE_SECONDS).
        for holder in SyncLease.objects.filter(key=name).values_list("holder", flat=True):
            if holder != HOLDER and _holder_is_gone(holder):
                SyncLease.objects.filter(key=name, holder=holder).delete()
        try:
            with transaction.atomic():
                SyncLease.objects.create(
                    key=name, holder=HOLDER, expires_at=now + timedelta(seconds=LEASE_SECONDS)
                )
        except IntegrityError:
            return False
    return True


def _lease_release(name: str) -> None:
    SyncLease.objects.filter(key=name, holder=HOLDER).delete()


def lease_renew(name: str) -> None:
    """Keep a long-running holder's lease alive (no-op on PostgreSQL)."""
    if connection.vendor != "postgresql":
        SyncLease.objects.filter(key=name, holder=HOLDER).update(
            expires_at=timezone.now() + timedelta(seconds=LEASE_SECONDS)
        )


@contextmanager
def sync_lock(name: str, *, wait: float = 0.0) -> Iterator[bool]:
    """Try to hold the lock ``name``; yields whether we got it (waiting up to ``wait`` s)."""
    postgres = connection.vendor == "postgresql"
    try_lock, release = (_pg_try, _pg_release) if postgres else (_lease_try, _lease_release)
    deadline = time.monotonic() + wait
    acquired = try_lock(name)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.2)
        acquired = try_lock(name)
    try:
        yield acquired
    finally:
        if acquired:
            release(name)
