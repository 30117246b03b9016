"""Work that runs on a thread ahead of the one writing: generic, and never touching the ORM.

The database releases the GIL while it works, so the next page's HTTP request, JSON decoding
and mapping run while this page is written (``ahead``), and the project's leaderboards are
fetched while its lists are written (``Background``). Each thread is given its own client
(``LayersClient.clone``: its own HTTP session, the same pacing and counters), since a
``requests.Session`` must not be shared between threads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

AHEAD = 2  # items produced ahead of the one being consumed: memory stays flat


def ahead(items: Iterable[T], transform: Callable[[T], R], *, name: str) -> Iterator[R]:
    """``transform(item)`` for each of ``items``, both iterated and transformed on a thread,
    at most ``AHEAD`` waiting. An error there is raised here, in the caller's thread, when its
    turn comes; a caller that stops early lets the thread end on its own."""
    box: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop = threading.Event()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                box.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", transform(item))):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


class Background:
    """Calls started on one worker thread now, their answers (or errors) collected later, as
    data. ``close`` drops what was not collected, never waiting for it."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        return self._pool.submit(call, *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
