"""The published net list as a download: CSV, XLSX and a typst PDF, in Norwegian or English."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from korona import tabular
from korona.portfolio.netlist.diff import Change, changed
from korona.portfolio.netlist.publication import PublicVersion

#: Text of the downloads per language (the web pages use the Babel catalogue instead).
TEXT: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Nettoliste",
        "version": "Versjon",
        "published": "Publisert",
        "approved": "Vedtatt",
        "meeting": "Møte",
        "position": "Plass",
        "input": "Innspill",
        "measure": "Tiltak",
        "owner": "Eier",
        "status": "Status",
        "needs": "Behov som dekkes",
        "priority": "Prioritet",
        "value": "Verdi",
        "confidence": "Sikkerhet",
        "effort": "Innsats",
        "changes": "Endringer fra versjon",
        "first": "Første publiserte versjon",
        "change": "Endring",
        "reason": "Begrunnelse",
        "in": "Inn",
        "out": "Ut",
        "moved": "Flyttet",
        "none": "Ingen endringer",
        "planned": "Planlagt",
        "in_progress": "Iverksatt",
        "delivered": "Levert",
        "stopped": "Stanset",
    },
    "en": {
        "title": "Net list",
        "version": "Version",
        "published": "Published",
        "approved": "Approved",
        "meeting": "Meeting",
        "position": "Position",
        "input": "Input",
        "measure": "Measure",
        "owner": "Owner",
        "status": "Status",
        "needs": "Needs covered",
        "priority": "Priority",
        "value": "Value",
        "confidence": "Confidence",
        "effort": "Effort",
        "changes": "Changes from version",
        "first": "First published version",
        "change": "Change",
        "reason": "Reason",
        "in": "In",
        "out": "Out",
        "moved": "Moved",
        "none": "No changes",
        "planned": "Planned",
        "in_progress": "In progress",
        "delivered": "Delivered",
        "stopped": "Stopped",
    },
}


def text_for(language: str) -> Mapping[str, str]:
    """Return the download texts of a language (Norwegian unless English is asked for)."""
    return TEXT.get(language, TEXT["nb"])


def _number(value: Any) -> float | None:
    return round(float(value), 3) if isinstance(value, int | float) else None


def table(view: PublicVersion, language: str) -> tuple[list[str], list[list[Any]]]:
    """Return the header and rows of a version, as the CSV and XLSX downloads hold them."""
    t = text_for(language)
    columns = [
        t["position"],
        t["input"],
        t["measure"],
        t["owner"],
        t["status"],
        t["needs"],
        t["priority"],
        t["value"],
        t["confidence"],
        t["effort"],
    ]
    rows = [
        [
            item.position,
            item.title,
            item.measure_title or "",
            item.owner or "",
            t[item.status.value] if item.status else "",
            "; ".join(item.needs),
            round(item.priority, 3),
            _number(item.parts.get("value")),
            _number(item.parts.get("confidence")),
            _number(item.parts.get("effort")),
        ]
        for item in view.items
    ]
    return columns, rows


def to_csv(view: PublicVersion, language: str) -> bytes:
    """Return the version as CSV."""
    return tabular.to_csv(*table(view, language))


def to_xlsx(view: PublicVersion, language: str) -> bytes:
    """Return the version as an XLSX workbook."""
    columns, rows = table(view, language)
    return tabular.to_xlsx(columns, rows, sheet=f"{text_for(language)['title']} {view.number}")


def compile_typst(source: str, files: Mapping[str, bytes | str]) -> bytes:
    """Compile a typst document with its data files beside it; return the PDF.

    Values reach the document as JSON files read by ``json(...)``, never pasted into the
    markup, so no text from a user needs escaping.
    """
    import typst  # imported here: only the PDF downloads and the report need the compiler

    with tempfile.TemporaryDirectory(prefix="korona-typst-") as folder:
        root = Path(folder)
        for name, content in files.items():
            path = root / name
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
        main = root / "main.typ"
        main.write_text(source, encoding="utf-8")
        pdf = typst.compile(str(main), root=str(root))
    assert isinstance(pdf, bytes)
    return pdf


NETLIST_TYPST = """
#let data = json("data.json")
#let t = data.text
#set document(title: data.heading)
#set page(paper: "a4", flipped: true, margin: 1.6cm, numbering: "1 / 1",
  footer: context [#data.heading #h(1fr) #counter(page).display("1 / 1", both: true)])
#set text(lang: data.lang, size: 8.5pt)
#set table(stroke: 0.4pt + luma(180), inset: 4pt)
#show table.cell.where(y: 0): strong
= #data.heading
#data.facts.join(" · ")
#v(0.5em)
#table(
  columns: (auto, 2.2fr, 2.2fr, 1.4fr, auto, 2.4fr, auto, auto, auto, auto),
  table.header(..data.columns),
  ..data.rows.flatten(),
)
== #data.changes_heading
#if data.changes.len() == 0 [#t.none] else [
  #table(
    columns: (auto, 3fr, auto, auto, 4fr),
    table.header(t.change, t.input, "←", "→", t.reason),
    ..data.changes.flatten(),
  )
]
"""


def cell(value: Any) -> str:
    """Return a value as the text of a PDF table cell."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def to_pdf(view: PublicVersion, language: str) -> bytes:
    """Return the version as a PDF typeset by typst."""
    t = text_for(language)
    columns, rows = table(view, language)
    facts = [f"{t['version']} {view.number}"]
    if view.approved_at:
        facts.append(f"{t['approved']} {view.approved_at.date().isoformat()}")
    if view.published_at:
        facts.append(f"{t['published']} {view.published_at.date().isoformat()}")
    if view.meeting:
        facts.append(f"{t['meeting']}: {view.meeting}")
    changes_heading = (
        f"{t['changes']} {view.previous_number}" if view.previous_number else t["first"]
    )
    change_rows = [
        [
            t[row.change.value],
            row.title,
            cell(row.old_position),
            cell(row.new_position),
            row.reason or "–",
        ]
        for row in changed(view.changes)
        if view.previous_number or row.change != Change.IN
    ]
    data = {
        "lang": "nb" if language != "en" else "en",
        "heading": f"{t['title']} – {t['version'].lower()} {view.number}",
        "facts": facts,
        "columns": columns,
        "rows": [[cell(value) for value in row] for row in rows],
        "changes_heading": changes_heading,
        "changes": change_rows,
        "text": dict(t),
    }
    return compile_typst(NETLIST_TYPST, {"data.json": json.dumps(data, ensure_ascii=False)})
