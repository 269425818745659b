"""Reads that stay the same for a whole bulk write (an import): remembered on the session.

A large import checks every row against the category list and the letter templates, which
do not change inside its transaction. Each such read was a query, and each query first
flushed the pending rows (autoflush) — on SQLite all while holding the write lock. Inside
``cached_reads(session)`` the readers below ask once and remember; outside it they query as
before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.orm import Session

_KEY = "korona.read_cache"
T = TypeVar("T")


@contextmanager
def cached_reads(session: Session) -> Iterator[None]:
    """Remember the readers' answers for this session until the block ends."""
    session.info[_KEY] = {}
    try:
        yield
    finally:
        session.info.pop(_KEY, None)


def remembered(key: Hashable, read: Callable[[], T], *, session: Session) -> T:
    """Return ``read()``, asked once per ``cached_reads`` block (every time outside one)."""
    cache: dict[Hashable, object] | None = session.info.get(_KEY)
    if cache is None:
        return read()
    if key not in cache:
        cache[key] = read()
    return cache[key]  # type: ignore[return-value]
