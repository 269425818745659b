"""Where surveillance counts and analysis results live: Parquet under one root, committed whole."""

from korona.surveillance.store.files import CRASH_VARIABLE, StoreError, write_atomically
from korona.surveillance.store.grid import SERIES_SCHEMA
from korona.surveillance.store.health import StoreStatus, TableStatus
from korona.surveillance.store.layout import (
    CONSULTATION_KEYS,
    STRATUM_KEYS,
    count_column,
    denominator_column,
)
from korona.surveillance.store.store import SurveillanceStore

__all__ = [
    "CONSULTATION_KEYS",
    "CRASH_VARIABLE",
    "SERIES_SCHEMA",
    "STRATUM_KEYS",
    "StoreError",
    "StoreStatus",
    "SurveillanceStore",
    "TableStatus",
    "count_column",
    "denominator_column",
    "write_atomically",
]
