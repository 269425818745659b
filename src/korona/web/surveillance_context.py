"""How the web app reaches the surveillance store: one reader per app, built from its settings,
warmed in a background thread, and a cache of what the pages render from it."""

from __future__ import annotations

import asyncio
import gc
import gzip
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from korona.auth.permissions import ANONYMOUS, Permission, Principal
from korona.config import Environment
from korona.errors import N_, NotFound
from korona.surveillance.geo import LocationLevel
from korona.surveillance.location_view import (
    Location,
    LocationView,
    SurveillanceReader,
    UnknownLocation,
    Warmer,
)
from korona.surveillance.store import SurveillanceStore
from korona.web.deps import (
    SAFE_METHODS,
    SESSION_COOKIE,
    PermissionDenied,
    check_permission,
    get_runtime,
    resolve_principal_apart,
)

__all__ = [
    "UNKNOWN_LOCATION",
    "WARM_JOBS",
    "Detail",
    "Reader",
    "RenderCache",
    "detail_for",
    "generation_view_for",
    "get_reader",
    "json_response",
    "quick_detail",
    "reader_for",
    "rendered",
    "rendered_gzip",
    "share_renders",
    "surveillance_principal",
    "view_for",
    "warm_in_background",
    "warm_order",
]

_LOCK = threading.Lock()
#: What the web warms after the reader's snapshot and views: (order, function of app and
#: should_stop), registered by the page and API modules (maps, page contents, documents).
WARM_JOBS: list[tuple[int, Callable[[Any, Callable[[], bool]], object]]] = []


def table_cache_dir(settings: Any) -> Path:
    """Return where the server's processes share each store generation's computed tables."""
    return Path(settings.data_dir) / "cache" / "surveillance-tables"


def reader_for(app: Any) -> SurveillanceReader:
    """Return the app's surveillance reader (store at ``Settings.surveillance_dir``, reference
    data at ``Settings.reference_dir``, computed tables shared under :func:`table_cache_dir`),
    built on first use and kept on the app: it keeps one snapshot of the store per
    generation, so every request shares it."""
    state = app.state
    reader: SurveillanceReader | None = getattr(state, "surveillance_reader", None)
    if reader is None:
        with _LOCK:
            reader = getattr(state, "surveillance_reader", None)
            if reader is None:
                settings = state.settings
                reader = SurveillanceReader(
                    SurveillanceStore(settings.surveillance_dir),
                    settings.reference_dir,
                    cache_dir=table_cache_dir(settings),
                )
                state.surveillance_reader = reader
    return reader


def get_reader(request: Request) -> SurveillanceReader:
    """Return the app's surveillance reader (see :func:`reader_for`)."""
    return reader_for(request.app)


async def _reader(request: Request) -> SurveillanceReader:
    """The ``Reader`` dependency: :func:`get_reader` on the event loop once the reader
    exists (no worker thread per request); built in a worker thread on first use (it reads
    the reference data)."""
    reader: SurveillanceReader | None = getattr(request.app.state, "surveillance_reader", None)
    if reader is None:
        reader = await run_in_threadpool(reader_for, request.app)
    return reader


@asynccontextmanager
async def warm_in_background(app: FastAPI) -> AsyncIterator[None]:
    """Warm the surveillance caches in a thread at start and after every store commit, so
    that no request pays for reading a generation. Tests build on demand instead."""
    settings = getattr(app.state, "settings", None)
    if settings is None or settings.environment is Environment.TEST:
        yield
        return
    store = SurveillanceStore(settings.surveillance_dir)

    def warm_reader(should_stop: Callable[[], bool]) -> object:
        # Each process reads the snapshot (computed by the first, loaded by the others); the
        # views are built by the render jobs for what no process has rendered yet.
        reader = reader_for(app)
        share_renders(reader.shared_folder)
        return reader.warm(should_stop, views=reader.cache is None)

    ordered = [job for _, job in sorted(WARM_JOBS, key=lambda item: item[0])]
    jobs = [warm_reader, *(lambda stop, job=job: job(app, stop) for job in ordered)]
    server_log = logging.getLogger("uvicorn.error")  # the log `korona serve` prints

    def report(generation: int, seconds: float) -> None:
        server_log.info(
            "Surveillance caches warmed for store generation %d in %.1f s", generation, seconds
        )
        # The warmed caches live as long as their generation: out of the collector's passes,
        # like what the app built at start (korona.app.freeze_long_lived).
        gc.freeze()

    warmer = Warmer(store, jobs, on_warm=report).start()
    app.state.surveillance_warmer = warmer
    try:
        yield
    finally:
        # The stop joins the warm-up thread (up to a second): not on the event loop.
        await asyncio.to_thread(warmer.stop)
        share_renders(None)


#: Where the render caches of a store generation are shared between the server's processes:
#: set by the warm-up (see :func:`warm_in_background`); None (tests, CLI) keeps them in memory.
_shared_folder: Callable[[int], Path | None] | None = None


def share_renders(folder: Callable[[int], Path | None] | None) -> None:
    """Share named render caches on disk: ``folder(generation)`` is the generation's folder
    (None: not shared for that generation)."""
    global _shared_folder
    _shared_folder = folder


def _canonical(value: object) -> str:
    """Return a key as text equal in every process (sets sorted, enums by value)."""
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, StrEnum):
        return repr(str(value))
    return repr(value)


class RenderCache:
    """What pages and the API render from a snapshot (HTML, SVG, JSON), kept compressed.

    Keys name everything the text depends on (store generation first, then location,
    detail, language, query); at most ``size`` entries, least recently used first out.
    Entries are gzip-compressed (a location's page or signals JSON shrinks ten times), so a
    bound covering every location in both languages and both details costs some tens of
    megabytes. A cache with a ``name`` is also shared on disk between the server's processes
    when :func:`share_renders` is set: a process renders what no other has rendered for the
    generation (written atomically: a file appears whole or not at all).
    """

    def __init__(self, size: int, name: str | None = None) -> None:
        self.size = size
        self.name = name
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        packed = self.get_gzip(key)
        return None if packed is None else gzip.decompress(packed)

    def get_gzip(self, key: Hashable) -> bytes | None:
        """Return the entry as kept: gzip (a response may send it so to a client that takes
        gzip)."""
        with self._lock:
            packed = self._entries.get(key)
            if packed is not None:
                self._entries.move_to_end(key)
                return packed
        path = self._path(key)
        if path is None:
            return None
        try:
            packed = path.read_bytes()
        except OSError:
            return None
        self._keep(key, packed)
        return packed

    def shared(self, key: Hashable) -> bool:
        """Return whether the entry is kept, here or by another process."""
        if key in self._entries:
            return True
        path = self._path(key)
        return path is not None and path.is_file()

    def put(self, key: Hashable, data: bytes) -> bytes:
        """Keep ``data`` (gzip, fastest level) and return what is kept."""
        packed = gzip.compress(data, compresslevel=1, mtime=0)
        self._keep(key, packed)
        path = self._path(key)
        if path is not None:
            try:
                path.parent.parent.mkdir(exist_ok=True)  # not if the generation was removed
                path.parent.mkdir(exist_ok=True)
                work = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
                work.write_bytes(packed)
                os.replace(work, path)
            except OSError:  # shared at best: a full disk or a removed generation only costs
                pass  # other processes a render
        return packed

    def _keep(self, key: Hashable, packed: bytes) -> None:
        with self._lock:
            self._entries[key] = packed
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def _path(self, key: Hashable) -> Path | None:
        folder = _shared_folder
        if folder is None or self.name is None or not isinstance(key, tuple):
            return None
        generation = key[0]
        base = folder(generation) if isinstance(generation, int) else None
        if base is None:
            return None
        digest = hashlib.sha256(_canonical(key[1:]).encode()).hexdigest()[:32]
        return base / self.name / f"{digest}.gz"

    def __len__(self) -> int:
        return len(self._entries)


def rendered_gzip(cache: RenderCache, key: Hashable, render: Callable[[], bytes]) -> bytes:
    """Return the cached text for ``key`` as gzip, rendering and keeping it on a miss."""
    hit = cache.get_gzip(key)
    return hit if hit is not None else cache.put(key, render())


def rendered(cache: RenderCache, key: Hashable, render: Callable[[], bytes]) -> bytes:
    """Return the cached text for ``key``, rendering and keeping it on a miss."""
    return gzip.decompress(rendered_gzip(cache, key, render))


def json_response(request: Request, packed: bytes) -> Response:
    """Answer with a gzip-kept JSON document: as it is to clients that accept gzip (browsers,
    httpx, curl --compressed), unpacked to the others."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(packed, media_type="application/json", headers=headers)
    return Response(
        gzip.decompress(packed), media_type="application/json", headers={"Vary": "Accept-Encoding"}
    )


Reader = Annotated[SurveillanceReader, Depends(_reader)]


def warm_order(reader: SurveillanceReader) -> list[Location]:
    """Return the locations in the order this process warms them: rotated by a per-process
    offset, so that processes starting together render different locations first (each
    skips what another has already shared)."""
    locations = reader.locations()
    offset = (os.getpid() * 7919) % len(locations) if locations else 0
    return locations[offset:] + locations[:offset]


def surveillance_principal(permission: Permission = Permission.PUBLIC) -> Callable[..., object]:
    """Return the read-only surveillance routes' ``require(permission)``: the same principal
    and the same refusals, but a request without credentials (no bearer token, no session
    cookie: the public, most of this pillar's traffic) is the anonymous principal at once,
    with no unit of work and no worker thread. Only for GET routes (no CSRF to check)."""

    async def dependency(request: Request) -> Principal:
        if request.method not in SAFE_METHODS:  # never routed here: GET routes only
            raise PermissionDenied
        has_token = request.headers.get("authorization", "").strip() != ""
        if not has_token and SESSION_COOKIE not in request.cookies:
            principal = request.state.principal = ANONYMOUS
        else:  # as deps.current_principal: a connection slot, then a unit of work in a thread
            async with get_runtime(request).database_slots():
                principal = await run_in_threadpool(resolve_principal_apart, request)
        check_permission(principal, permission)
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # the route × role test
    return dependency


class Detail(StrEnum):
    """How much of a location's figures a principal may see."""

    FULL = "full"  # every count
    PUBLIC = "public"  # counts 1–4 hidden, and what would give them back


def detail_for(reader: SurveillanceReader, principal: Principal, location: Location) -> Detail:
    """Return what ``principal`` may see of ``location``.

    The public sees suppressed figures only. Every logged-in user sees the nation and the
    counties in full. Municipalities in full: municipal doctors, for their own municipality
    and its neighbours; everyone else sees them as the public does.
    """
    quick = quick_detail(principal, location)
    if quick is not None:
        return quick
    own = principal.municipality_number  # a municipal doctor's own municipality, never None here
    near = {n.number for n in reader.neighbours_of(location)}
    return Detail.FULL if own == location.number or own in near else Detail.PUBLIC


def quick_detail(principal: Principal, location: Location) -> Detail | None:
    """Return :func:`detail_for` where it needs no neighbour table (the public, everyone on
    the nation and counties, users without ``surveillance.detail``), else None."""
    if not principal.is_authenticated:
        return Detail.PUBLIC
    if location.level is not LocationLevel.MUNICIPALITY:
        return Detail.FULL
    if principal.municipality_number is None or not principal.can(Permission.SURVEILLANCE_DETAIL):
        return Detail.PUBLIC
    return None


def _detail_of_code(reader: SurveillanceReader, principal: Principal, code: str) -> Detail:
    """Return :func:`detail_for` the location ``code`` names; NotFound for unknown codes."""
    try:
        location = reader.location(code)
    except UnknownLocation:
        raise NotFound(UNKNOWN_LOCATION, code=code) from None
    return detail_for(reader, principal, location)


def view_for(
    reader: SurveillanceReader, principal: Principal, code: str
) -> tuple[LocationView, Detail]:
    """Return the view of ``code`` that ``principal`` may see; NotFound for unknown codes."""
    detail = _detail_of_code(reader, principal, code)
    view = reader.view(code) if detail is Detail.FULL else reader.public_view(code)
    return view, detail


def generation_view_for(
    reader: SurveillanceReader, principal: Principal, code: str
) -> tuple[int, LocationView, Detail]:
    """Return :func:`view_for` with the store generation the view belongs to (for cache keys:
    the view and the generation come from one snapshot)."""
    detail = _detail_of_code(reader, principal, code)
    tables, full, public = reader.views(code)
    return tables.generation, (full if detail is Detail.FULL else public), detail


#: The message of a bad location code (the UI shows it translated).
UNKNOWN_LOCATION = N_(
    "Unknown location {code}: use norge, a county (county46) or a municipality "
    "(municip4601), at 2020 borders"
)
