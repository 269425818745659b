"""The reader of the surveillance pages: location views per store generation (thread-safe)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from korona.surveillance import disclosure
from korona.surveillance.geo import Geography, LocationLevel, load_geography
from korona.surveillance.location_model import (
    LOCATION_CODE,
    Location,
    LocationView,
    UnknownLocation,
    week_columns,
)
from korona.surveillance.national_tables import NationalTables, TableParts
from korona.surveillance.neighbours import neighbours as neighbour_table
from korona.surveillance.public_view import public_view
from korona.surveillance.store import SurveillanceStore
from korona.surveillance.store.commits import GenerationWatch
from korona.surveillance.table_cache import TableCache

__all__ = ["Location", "LocationView", "SurveillanceReader", "UnknownLocation", "Warmer"]

_log = logging.getLogger(__name__)
_COMPARISON_COLUMNS = (
    "location_code", "name", "role", "week", "date", "n", "per_100k", "n_14d", "per_100k_14d"
)  # fmt: skip
#: Attempts at reading one generation whole before giving up (a commit during the read
#: starts it again: a snapshot never mixes two generations).
_ATTEMPTS = 3


class SurveillanceReader:
    """Reads location views from a store, one snapshot of national tables per generation.

    The first request for a generation (or :meth:`warm`, from a background thread) reads the
    store once into :class:`NationalTables`; every later view of that generation is a
    dictionary lookup and a few small joins, and is kept with the snapshot (at most two views
    per location: full and public, so the cache covers every location). A request arriving
    while the snapshot is being built waits for that one build. Parameters: ``store`` the
    surveillance store; ``reference_dir`` the shared reference data (locations, population,
    outlines, FHI's national hospital file); ``cache_dir``: where processes sharing the store
    keep each generation's computed tables (:class:`TableCache`), so that one process
    computes them and the others load them (None: every reader computes its own).
    """

    def __init__(
        self, store: SurveillanceStore, reference_dir: Path, cache_dir: Path | None = None
    ) -> None:
        self.cache = TableCache(cache_dir) if cache_dir is not None else None
        #: The cache entry of each generation read through the cache (for shared renders).
        self._entries: dict[int, Path] = {}
        self.store = store
        self.reference_dir = Path(reference_dir)
        self.geography: Geography = load_geography(self.reference_dir)
        self._names = self.geography.names()
        self._tables: NationalTables | None = None
        self._build_lock = threading.Lock()
        self._generation = GenerationWatch(store)

    # locations ---------------------------------------------------------------------------

    def locations(self) -> list[Location]:
        """Return the nation, the 11 counties and the 356 municipalities, in that order."""
        return [self.location(code) for code in self.geography.location_codes]

    def location(self, code: str) -> Location:
        """Return a location; raise UnknownLocation for any other code."""
        if not isinstance(code, str) or not LOCATION_CODE.match(code) or code not in self._names:
            raise UnknownLocation(f"unknown location code {code!r}")
        return Location(code, self._names[code], self.geography.level(code))

    def county_of(self, location: Location) -> Location | None:
        """Return a municipality's county (None for counties and the nation)."""
        if location.level is not LocationLevel.MUNICIPALITY:
            return None
        return self.location(f"county{location.code[len('municip') : len('municip') + 2]}")

    def neighbours_of(self, location: Location) -> tuple[Location, ...]:
        """Return a municipality's neighbours (shared borders, islands across the water)."""
        if location.level is not LocationLevel.MUNICIPALITY:
            return ()
        table = neighbour_table(self.reference_dir)
        return tuple(self.location(f"municip{n}") for n in table.get(location.number or "", ()))

    # the snapshot ------------------------------------------------------------------------

    def generation(self) -> int:
        """Return the committed generation (a ``stat`` of the manifest while it is unchanged)."""
        return self._generation()

    def current_tables(self) -> NationalTables | None:
        """Return the national tables if those of the committed generation are read already,
        else None (no reading: a stat of the manifest at most, so callers on the event loop
        can answer from what is cached for that generation)."""
        current = self._tables
        if current is not None and current.generation == self.generation():
            return current
        return None

    def tables(self) -> NationalTables:
        """Return the national tables of the committed generation (read once, then shared)."""
        current = self._tables
        if current is not None and current.generation == self.generation():
            return current
        with self._build_lock:
            current = self._tables
            if current is not None and current.generation == self.generation():
                return current
            built = self._read_generation()
            self._tables = built
            return built

    def _read_generation(self) -> NationalTables:
        for attempt in range(_ATTEMPTS):
            try:
                cached = self._cached_generation() if self.cache is not None else None
                tables = cached or NationalTables(self.store, self.reference_dir, self.geography)
            except (OSError, pl.exceptions.PolarsError):
                # A commit removed files under the read (two commits in between); read again.
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            if tables.generation == self.store.generation:
                return tables
        return tables  # the store keeps changing: serve the last whole read

    def _cached_generation(self) -> NationalTables | None:
        """Return the committed generation's tables from the cache, computed and kept there
        by this process if no other has (None if the cache cannot be used)."""
        assert self.cache is not None
        cache = self.cache
        stamp = cache.stamp(self.store, self.reference_dir)
        if stamp is None:
            return None
        key, generation = stamp

        def loaded() -> NationalTables | None:
            parts = cache.load(key, generation)
            if parts is None:
                return None
            self._entries[generation] = cache.root / key
            return NationalTables(self.store, self.reference_dir, self.geography, parts=parts)

        def keep(parts: TableParts) -> None:
            # Only parts read whole from the stamped generation (no commit in between).
            same = cache.stamp(self.store, self.reference_dir) == (key, generation)
            if parts.generation == generation and same and cache.save(key, parts):
                self._entries[generation] = cache.root / key

        tables = loaded()
        if tables is not None:
            return tables
        try:
            computing = cache.computing()
            computing.__enter__()
        except OSError as error:
            _log.warning("surveillance table cache unusable: %s", error)
            return None
        try:
            # Another process may have computed it while this one waited for the lock.
            return loaded() or NationalTables(
                self.store, self.reference_dir, self.geography, on_parts=keep
            )
        finally:
            computing.__exit__(None, None, None)

    def shared_folder(self, generation: int) -> Path | None:
        """Return a folder that the server's processes share for ``generation`` (inside its
        table cache entry, removed with it), or None if it has none."""
        entry = self._entries.get(generation)
        return None if entry is None else entry / "rendered"

    def public_masks(self) -> disclosure.PublicMasks:
        """Return the national suppression of the current store generation (computed once)."""
        return self.tables().masks

    # the views ---------------------------------------------------------------------------

    def view(self, code: str) -> LocationView:
        """Return the full view of a location (kept until the store changes)."""
        location = self.location(code)
        return self._view(self.tables(), location, public=False)

    def public_view(self, code: str) -> LocationView:
        """Return the view the public may see: counts 1–4 as "<5", complementary cells as ":",
        no rate from a hidden count (see :mod:`korona.surveillance.disclosure`)."""
        location = self.location(code)
        return self._view(self.tables(), location, public=True)

    def views(self, code: str) -> tuple[NationalTables, LocationView, LocationView]:
        """Return the snapshot with a location's full and public views (both of one
        generation), for callers that cache what they render from them."""
        location = self.location(code)
        tables = self.tables()
        return tables, self._view(tables, location, False), self._view(tables, location, True)

    def _view(self, tables: NationalTables, location: Location, public: bool) -> LocationView:
        key = (location.code, public)
        hit = tables.views.get(key)
        if hit is not None:
            return hit
        if public:
            built = public_view(self._view(tables, location, False), tables.masks)
        else:
            built = self._build(tables, location)
        tables.views[key] = built  # one assignment: safe across threads
        return built

    def _build(self, tables: NationalTables, location: Location) -> LocationView:
        county = self.county_of(location)
        near = self.neighbours_of(location)
        compared = [(location, "self"), *((n, "neighbour") for n in near)]
        if county is not None:
            compared.append((county, "county"))
        return LocationView(
            location=location,
            county=county,
            neighbours=near,
            covid=tables.covid_of(location.code),
            signals=tables.signals_of(location.code),
            comparison=_comparison(tables, compared),
            sources=dict(tables.sources.get(location.code, {})),
        )

    def warm(
        self, should_stop: Callable[[], bool] = lambda: False, *, views: bool = True
    ) -> NationalTables:
        """Read the current generation and (``views``) build every location's full and public
        view."""
        neighbour_table(self.reference_dir)
        tables = self.tables()
        for location in self.locations() if views else ():
            if should_stop() or tables is not self._tables:
                break
            self._view(tables, location, False)
            self._view(tables, location, True)
        return tables


def _comparison(tables: NationalTables, compared: list[tuple[Location, str]]) -> pl.DataFrame:
    roles = pl.DataFrame(
        {
            "location_code": [loc.code for loc, _ in compared],
            "name": [loc.name for loc, _ in compared],
            "role": [role for _, role in compared],
        }
    )
    rates = tables.rates_of(roles["location_code"].to_list())
    return (
        roles.join(rates, on="location_code", how="inner")
        .with_columns(week_columns()[0])
        .select(*_COMPARISON_COLUMNS)
        .sort("date", "role", "name")
    )


class Warmer:
    """A background thread that warms caches at start and after every store commit.

    It watches the store's generation (every ``interval`` seconds) and, when it changes, runs
    ``jobs`` in order (the reader's :meth:`SurveillanceReader.warm` first, then what the web
    renders from it). Requests never wait for the thread: one that arrives during a warm-up
    builds or waits for the same shared snapshot, so it is answered from the new generation.
    """

    def __init__(
        self,
        store: SurveillanceStore,
        jobs: Sequence[Callable[[Callable[[], bool]], object]],
        *,
        interval: float = 1.0,
        on_warm: Callable[[int, float], object] | None = None,
    ) -> None:
        self.store = store
        self.jobs = list(jobs)
        self.on_warm = on_warm
        self.interval = interval
        self.warmed: int | None = None
        self.seconds: float | None = None  # how long the last warm-up took
        self._stop = threading.Event()
        self._generation = GenerationWatch(store)
        self._thread = threading.Thread(target=self._run, name="surveillance-warmer", daemon=True)

    def start(self) -> Warmer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                generation = self._generation()
                if generation and generation != self.warmed:
                    started = time.perf_counter()
                    for job in self.jobs:
                        if self._stop.is_set():
                            return
                        job(self._stop.is_set)
                    self.warmed = generation
                    self.seconds = time.perf_counter() - started
                    _log.info("surveillance caches warmed in %.1f s", self.seconds)
                    if self.on_warm is not None:
                        self.on_warm(generation, self.seconds)
            except Exception:  # a broken store is reported by the requests themselves
                _log.exception("warming the surveillance caches failed")
                self.warmed = self.store_generation_or_none()
            self._stop.wait(self.interval)

    def store_generation_or_none(self) -> int | None:
        try:
            return self.store.generation
        except Exception:
            return None
