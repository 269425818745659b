"""The weekly report as inline-safe HTML e-mail, plain text and a typst PDF, in nb or en."""

from __future__ import annotations

import functools
import html
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import typst

from korona.surveillance.report.data import LocationReport, SignalCell, WeeklyData
from korona.surveillance.report.labels import LABELS, LANGUAGES, labels
from korona.surveillance.series import Status

__all__ = ["LANGUAGES", "RenderedReport", "ReportRenderer", "ReportRequest"]

_COVID_COLUMNS = (
    "week",
    "cases",
    "per_100k",
    "share_infected",
    "positivity",
    "consultations",
    "signal",
)
_FILLS = {Status.HIGH: "#f4b6b6", Status.MEDIUM: "#fbe3a1"}
_CELL = "border:1px solid #aaa;padding:3px 6px;text-align:right;"
_HEAD = "border:1px solid #aaa;padding:3px 6px;background:#e6e6e6;text-align:left;"


@dataclass(frozen=True)
class ReportRequest:
    """One recipient's report: who, which locations, where their links point."""

    name: str
    language: str
    locations: tuple[str, ...]
    unsubscribe_url: str = ""
    account_url: str = ""


@dataclass(frozen=True)
class RenderedReport:
    """One recipient's report, ready for the outbox or for files."""

    subject: str
    text: str
    html: str
    pdf: bytes
    filename: str


def _number(value: float | None, digits: int = 1, language: str = "nb") -> str:
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}".replace(",", " ")
    return text.replace(".", ",") if language == "nb" else text


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}".replace(",", " ")


def _status_text(status: Status | None, words: dict[str, str]) -> str:
    return "–" if status is None else words[status.value]


@dataclass(frozen=True)
class _Cell:
    text: str
    level: str = ""


def _covid_rows(
    location: LocationReport, words: dict[str, str], language: str
) -> list[list[_Cell]]:
    rows = []
    for week in location.covid:
        rows.append(
            [
                _Cell(week.week + (" *" if week.incomplete else "")),
                _Cell(_count(week.cases)),
                _Cell(_number(week.per_100k, 1, language)),
                _Cell(_number(week.share_infected, 2, language)),
                _Cell(_number(week.positivity, 1, language)),
                _Cell(_count(week.consultations)),
                _Cell(
                    _status_text(week.signal, words),
                    week.signal.value if week.signal in _FILLS else "",
                ),
            ]
        )
    return rows


def _signal_cell(cell: SignalCell | None, marks: Mapping[Status, str]) -> _Cell:
    """A signal cell: the consultations, the signal's mark where ``marks`` has one (colour is
    not the only cue), and the fill level."""
    if cell is None:
        return _Cell("–")
    if cell.status is None or cell.status not in marks:
        return _Cell(_count(cell.n))
    return _Cell(f"{_count(cell.n)} {marks[cell.status]}", cell.status.value)


def _word_marks(words: dict[str, str]) -> dict[Status, str]:
    """The marks of the HTML and text reports: the status word in brackets, "12 (høy)"."""
    return {status: f"({words[status.value]})" for status in _FILLS}


def _signal_tables(
    location: LocationReport, words: dict[str, str]
) -> list[tuple[str, list[str], list[list[_Cell]]]]:
    """Return (syndrome, header, rows) per syndrome, rows by age group."""
    tables: dict[str, list[list[_Cell]]] = {}
    marks = _word_marks(words)
    for row in location.signals:
        tables.setdefault(row.syndrome, []).append(
            [_Cell(_age_label(row.age, words)), *(_signal_cell(c, marks) for c in row.cells)]
        )
    header = [
        words["age"],
        *(
            w + (" *" if flag else "")
            for w, flag in zip(location.weeks, location.incomplete, strict=True)
        ),
    ]
    return [(syndrome, header, rows) for syndrome, rows in tables.items()]


def _html_table(caption: str, header: Sequence[str], rows: Sequence[Sequence[_Cell]]) -> str:
    # The wrapper scrolls a wide table on a phone instead of widening the whole message.
    parts = [
        '<div style="overflow-x:auto;max-width:100%;">'
        '<table style="border-collapse:collapse;margin:4px 0 12px 0;font-size:13px;">',
        f'<caption style="text-align:left;font-weight:bold;padding:2px 0;">{html.escape(caption)}'
        "</caption><thead><tr>",
        *(f'<th scope="col" style="{_HEAD}">{html.escape(h)}</th>' for h in header),
        "</tr></thead><tbody>",
    ]
    for row in rows:
        parts.append("<tr>")
        for i, cell in enumerate(row):
            fill = _FILLS.get(Status(cell.level)) if cell.level else None
            style = _CELL + (f"background:{fill};" if fill else "")
            if i == 0:
                parts.append(f'<th scope="row" style="{_HEAD}">{html.escape(cell.text)}</th>')
            else:
                parts.append(f'<td style="{style}">{html.escape(cell.text)}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


#: The PDF's marks of a signal (the HTML and text reports use words, :func:`_word_marks`).
_MARKS = {Status.MEDIUM: "▲", Status.HIGH: "▲▲"}
_LEVEL_CODES = {Status.MEDIUM.value: "m", Status.HIGH.value: "h"}


def _pdf_table(header: Sequence[str], rows: Sequence[Sequence[_Cell]], first: int) -> dict:
    """Return a table for report.typ: the header, the cells row by row as strings, and one
    character per cell for its fill ("h" high, "m" medium, " " none)."""
    return {
        "header": list(header),
        "cells": [cell.text for row in rows for cell in row],
        "levels": "".join(_LEVEL_CODES.get(cell.level, " ") for row in rows for cell in row),
        "first": first,
    }


def _age_label(age: str, words: dict[str, str]) -> str:
    return words["total"] if age == "total" else age


def _pdf_matrix(location: LocationReport, words: dict[str, str]) -> dict:
    """Return the latest week as one table: a row per syndrome, a column per age group."""
    ages: list[str] = []
    by_syndrome: dict[str, dict[str, SignalCell | None]] = {}
    for row in location.signals:
        if row.age not in ages:
            ages.append(row.age)
        by_syndrome.setdefault(row.syndrome, {})[row.age] = row.cells[-1]
    rows = [
        [_Cell(syndrome), *(_signal_cell(cells.get(age), _MARKS) for age in ages)]
        for syndrome, cells in by_syndrome.items()
    ]
    header = [words["syndrome"], *(_age_label(age, words) for age in ages)]
    return _pdf_table(header, rows, 1)


def _pdf_detail(location: LocationReport, words: dict[str, str]) -> dict | None:
    """Return the four weeks of the series with a medium or high signal, or None."""
    rows = [
        [
            _Cell(row.syndrome),
            _Cell(_age_label(row.age, words)),
            *(_signal_cell(cell, _MARKS) for cell in row.cells),
        ]
        for row in location.signals
        if any(cell is not None and cell.status in _MARKS for cell in row.cells)
    ]
    if not rows:
        return None
    header = [
        words["syndrome"],
        words["age"],
        *(
            w + (" *" if flag else "")
            for w, flag in zip(location.weeks, location.incomplete, strict=True)
        ),
    ]
    return _pdf_table(header, rows, 2)


class ReportRenderer:
    """Render reports of one week; what every report shares is rendered once and reused.

    A location's HTML section, text section and PDF data are cached per language, so the
    nation and a county followed by many recipients are laid out once. The typst compiler
    (with its fonts) is made once per renderer; compiling is serialised by a lock.
    """

    def __init__(self, data: WeeklyData, *, base_url: str) -> None:
        self.data = data
        self.base_url = base_url.rstrip("/")
        self._lock = threading.Lock()
        self._compiler: typst.Compiler | None = None
        self._template = resources.files(__package__).joinpath("report.typ").read_bytes()
        self.section_html = functools.cache(self._section_html)
        self.section_text = functools.cache(self._section_text)
        self.section_pdf = functools.cache(self._section_pdf)

    def page_url(self, code: str) -> str:
        """Return the surveillance page of a location."""
        return f"{self.base_url}/surveillance/{code}"

    def _section_html(self, code: str, language: str) -> str:
        words = labels(language)
        location = self.data.location(code)
        columns = [words[k] for k in _COVID_COLUMNS]
        link = self.page_url(code)
        parts = [
            f'<h2 style="font-size:18px;margin:18px 0 4px 0;">{html.escape(location.name)}</h2>',
            f'<p style="margin:0 0 8px 0;"><a href="{html.escape(link)}">'
            f"{html.escape(words['link'].format(name=location.name))}</a></p>",
            _html_table(words["covid_heading"], columns, _covid_rows(location, words, language)),
        ]
        tables = _signal_tables(location, words)
        if tables:
            parts.append(
                f'<h3 style="font-size:15px;margin:10px 0 4px 0;">'
                f"{html.escape(words['signal_heading'])}</h3>"
            )
            parts.extend(_html_table(syndrome, header, rows) for syndrome, header, rows in tables)
        else:
            parts.append(f"<p>{html.escape(words['no_signals'])}</p>")
        return "".join(parts)

    def _section_text(self, code: str, language: str) -> str:
        words = labels(language)
        location = self.data.location(code)
        lines = [location.name, "=" * len(location.name), self.page_url(code), ""]
        for week in location.covid:
            lines.append(
                f"{week.week}{' *' if week.incomplete else ''}: "
                f"{words['cases']} {_count(week.cases)}, "
                f"{words['per_100k']} {_number(week.per_100k, 1, language)}, "
                f"{words['share_infected']} {_number(week.share_infected, 2, language)}, "
                f"{words['positivity']} {_number(week.positivity, 1, language)}, "
                f"{words['consultations']} {_count(week.consultations)}, "
                f"{words['signal']} {_status_text(week.signal, words)}"
            )
        marks = _word_marks(words)
        flagged = [
            f"{row.syndrome} ({_age_label(row.age, words)}) {week}: "
            f"{_signal_cell(cell, marks).text}"
            for row in location.signals
            for week, cell in zip(location.weeks, row.cells, strict=True)
            if cell is not None and cell.status in _FILLS
        ]
        lines.append("")
        lines.extend(flagged or [words["no_signals"]])
        return "\n".join(lines)

    def _section_pdf(self, code: str, language: str) -> str:
        """Return a location's PDF section as JSON (its own words included, so the section
        is the same input to typst in every report that shows it).

        The PDF is compact (the HTML keeps every table): the covid-19 table, a matrix of
        syndrome × age group for the latest week, and the four weeks of the series with a
        signal only. Typst lays out every report whole, at about 0.1 ms CPU a table cell, so
        fewer cells is what makes 356 reports fast (docs/benchmarks.md, issue 14).
        """
        words = labels(language)
        location = self.data.location(code)
        week = location.weeks[-1] + (" *" if location.incomplete[-1] else "")
        weeks_from = location.weeks[0]
        detail = _pdf_detail(location, words)
        return json.dumps(
            {
                "name": location.name,
                "link": self.page_url(code),
                "covid_heading": words["covid_heading"],
                "matrix_heading": words["matrix_heading"].format(week=week),
                "detail_heading": words["detail_heading"].format(
                    weeks_from=weeks_from, week=location.weeks[-1]
                ),
                "no_signals": words["no_signals"],
                "covid": _pdf_table(
                    [words[k] for k in _COVID_COLUMNS], _covid_rows(location, words, language), 1
                ),
                "matrix": _pdf_matrix(location, words),
                "detail": detail,
            }
        )

    def _pdf(self, payload: dict[str, object], sections: dict[str, str]) -> bytes:
        with self._lock:
            if self._compiler is None:
                self._compiler = typst.Compiler(ignore_system_fonts=True)
            # The template goes with every call: a compiler made from bytes forgets them after
            # its first document (typst-py 0.15).
            pdf = self._compiler.compile(
                input=self._template,
                format="pdf",
                sys_inputs={"data": json.dumps(payload), **sections},
            )
        assert isinstance(pdf, bytes)
        return pdf

    def render(self, request: ReportRequest) -> RenderedReport:
        """Return one recipient's report: subject, plain text, HTML and PDF."""
        language = request.language if request.language in LABELS else "en"
        words = labels(language)
        week = self.data.week
        names = [self.data.location(code).name for code in request.locations]
        subject = words["subject"].format(week=week, names=", ".join(names))[:300]
        title = words["title"].format(week=week)
        intro = words["intro"].format(name=request.name, weeks_from=self.data.labels[0], week=week)
        status_note = words["signals_note"].format(medium=words["medium"], high=words["high"])
        simulated = [words["simulated"]] if self.data.simulated else []
        notes = " ".join([words["incomplete"], status_note, *simulated])
        sections = "".join(self.section_html(code, language) for code in request.locations)
        footer = [f'<p style="font-size:12px;color:#444;">{html.escape(notes)}</p>']
        footer.append(f"<p>{html.escape(words['pdf_note'])}</p>")
        if request.account_url:
            footer.append(
                f'<p><a href="{html.escape(request.account_url)}">'
                f"{html.escape(words['manage'])}</a></p>"
            )
        if request.unsubscribe_url:
            footer.append(
                f'<p><a href="{html.escape(request.unsubscribe_url)}">'
                f"{html.escape(words['unsubscribe'])}</a></p>"
            )
        body_html = (
            f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head>"
            '<body style="font-family:Arial,Helvetica,sans-serif;color:#111;max-width:760px;">'
            f'<h1 style="font-size:22px;">{html.escape(title)}</h1>'
            f"<p>{html.escape(intro)}</p>{sections}{''.join(footer)}</body></html>"
        )
        text = "\n\n".join(
            [
                title,
                intro,
                *(self.section_text(code, language) for code in request.locations),
                notes,
                words["pdf_note"],
                *([f"{words['manage']}: {request.account_url}"] if request.account_url else []),
                *(
                    [f"{words['unsubscribe']}: {request.unsubscribe_url}"]
                    if request.unsubscribe_url
                    else []
                ),
            ]
        )
        payload: dict[str, object] = {
            "lang": language,
            "title": title,
            "intro": intro,
            "legend": words["legend"],
            "footer": words["footer"],
            "notes": notes,
            "sections": [f"{code}:{language}" for code in request.locations],
        }
        pdf_sections = {
            f"{code}:{language}": self.section_pdf(code, language) for code in request.locations
        }
        slug = "-".join(code.removeprefix("municip") for code in request.locations[:3])
        return RenderedReport(
            subject=subject,
            text=text,
            html=body_html,
            pdf=self._pdf(payload, pdf_sections),
            filename=f"ukentlig-oversikt-{week}-{slug}.pdf",
        )
