"""The weekly report (Ukentlig oversikt): its figures from the store, its HTML and PDF."""

from korona.surveillance.report.data import (
    CovidWeek,
    LocationReport,
    SignalCell,
    SignalRow,
    WeeklyData,
    report_weeks,
)

__all__ = [
    "CovidWeek",
    "LocationReport",
    "SignalCell",
    "SignalRow",
    "WeeklyData",
    "report_weeks",
]
