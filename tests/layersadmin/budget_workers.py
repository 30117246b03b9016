"""A process drawing from a shared rate budget, for test_budget's several-process tests.

``python -m tests.layersadmin.budget_workers '<json options>'``: waits until ``start_at``
(wall clock), runs ``threads`` threads that take tokens of ``cls`` as a sync does until
``end_at``, and prints the wall-clock moments of its releases as a JSON list. Imports nothing
of Django unless the backend is the database (then it sets Django up on ``db_name``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def budget_of(opts: dict):
    common = {"window": opts["window"], "grace": opts["grace"], "ahead": opts["ahead"]}
    if opts["backend"] == "database":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layersadmin.settings")
        import django
        from django.conf import settings

        django.setup()
        settings.DATABASES["default"]["NAME"] = opts["db_name"]  # the parent's test database
        from layersadmin.budget_db import DatabaseBudget

        return DatabaseBudget(opts["key"], **common)
    from layersadmin.layers.budget import RedisBudget

    return RedisBudget(opts["url"], opts["key"], prefix=opts["prefix"], **common)


def draw(pacer, cls: str, end_at: float, threads: int) -> list[float]:
    """``threads`` threads taking tokens as a sync does until ``end_at``; their moments."""
    released: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        while time.time() < end_at:
            pacer.acquire(cls)
            moment = time.time()
            with lock:
                released.append(moment)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return released


def main(opts: dict) -> list[float]:
    from layersadmin.layers.budget import SharedPacer

    budget = budget_of(opts)
    pacer = SharedPacer(budget)
    pacer.set_limit(opts["cls"], opts["limit"])
    time.sleep(max(0.0, opts["start_at"] - time.time()))
    try:
        return draw(pacer, opts["cls"], opts["end_at"], opts["threads"])
    finally:
        budget.close()


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
