"""The committee's case document (saksdokument) "Koronaporteføljen og fremdriftstatus" as a PDF."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import altair as alt
from sqlalchemy import select
from sqlalchemy.orm import Session

from korona.portfolio.category import list_categories
from korona.portfolio.intake.models import Input
from korona.portfolio.intake.stats import iso_week, time_to_first_feedback
from korona.portfolio.measure import charts, progress
from korona.portfolio.measure.models import MeasureStatus, Rag
from korona.portfolio.netlist import documents, meetings, publication
from korona.portfolio.netlist.diff import changed
from korona.portfolio.netlist.models import NetlistStatus

KINDS = {"idea": "Idé", "proposal": "Forslag", "offer": "Tilbud"}
STATUS = {
    MeasureStatus.PLANNED: "Planlagt",
    MeasureStatus.IN_PROGRESS: "Iverksatt",
    MeasureStatus.DELIVERED: "Levert",
    MeasureStatus.STOPPED: "Stanset",
}
RAG = {Rag.GREEN: "Grønn", Rag.AMBER: "Gul", Rag.RED: "Rød"}
CHANGE = {"in": "Inn", "out": "Ut", "moved": "Flyttet"}


def _received_chart(items: list[Input]) -> alt.TopLevelMixin:
    counts = Counter((iso_week(item.received_at), KINDS[item.kind.value]) for item in items)
    rows = [{"week": week, "kind": kind, "n": n} for (week, kind), n in sorted(counts.items())]
    return (
        alt.Chart(alt.Data(values=rows))
        .mark_bar()
        .encode(
            x=alt.X("week:O", title="Uke", axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("sum(n):Q", title="Innspill", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "kind:N",
                title="Type",
                scale=alt.Scale(
                    domain=list(KINDS.values()), range=["#0062ba", "#1e7a46", "#a15c00"]
                ),
            ),
        )
        .properties(width=620, height=200)
        .configure_legend(orient="bottom")
        .configure_view(strokeWidth=0)
    )


def _table(counter: Counter[str]) -> list[list[str]]:
    return [[name, str(n)] for name, n in counter.most_common()]


def report_data(meeting_id: int, *, session: Session) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Return the document's data and its chart images (PNG) for one meeting."""
    meeting = meetings.get_meeting(meeting_id, session=session)
    items = list(session.scalars(select(Input).order_by(Input.received_at)))
    names = {category.code: category.name("nb") for category in list_categories(session=session)}
    by_category: Counter[str] = Counter()
    for item in items:
        for code in item.categories or ["other"]:
            by_category[names.get(code, code)] += 1
    feedback = time_to_first_feedback(items)
    images: dict[str, bytes] = {}
    if items:
        images["received.png"] = charts.to_png(_received_chart(items))
    overview = progress.progress_overview(session=session)
    if overview.milestones:
        images["milestones.png"] = charts.to_png(
            charts.milestone_timeline(
                overview.milestones,
                planned_label="Planlagt",
                done_label="Nådd",
                measure_title="Tiltak",
                date_title="Dato",
                kind_title="Milepæl",
                width=520,
            )
        )
    if overview.reports:
        images["rag.png"] = charts.to_png(
            charts.rag_history(
                overview.reports,
                rag_labels=RAG,
                measure_title="Tiltak",
                date_title="Dato",
                rag_title="Status",
                width=520,
            )
        )
    netlist: dict[str, Any] | None = None
    versions = publication.list_versions(session=session)
    published = [v for v in versions if v.status == NetlistStatus.PUBLISHED]
    if published:
        view = publication.public_view(published[0], session=session)
        _columns, rows = documents.table(view, "nb")
        netlist = {
            "number": view.number,
            "published": view.published_at.date().isoformat() if view.published_at else "",
            "rows": [[documents.cell(row[i]) for i in (0, 2, 3, 4, 5)] for row in rows],
            "previous": view.previous_number,
            "changes": [
                [
                    CHANGE[row.change.value],
                    row.title,
                    documents.cell(row.old_position),
                    documents.cell(row.new_position),
                    row.reason or "–",
                ]
                for row in changed(view.changes)
            ]
            if view.previous_number
            else [],
        }
    pending = [
        f"versjon {v.number} ({'utkast' if v.status == NetlistStatus.DRAFT else 'vedtatt'})"
        for v in versions
        if v.status != NetlistStatus.PUBLISHED
    ]
    programmes = [
        {
            "name": group.name or "Uten nasjonalt program",
            "counts": ", ".join(
                f"{STATUS[status]}: {n}" for status, n in group.by_status.items() if n
            ),
            "rows": [
                [
                    measure.title,
                    measure.owner.name if measure.owner else "–",
                    STATUS[measure.status],
                    RAG[measure.latest_report.rag] if measure.latest_report else "–",
                    measure.latest_report.text if measure.latest_report else "–",
                ]
                for measure in group.measures
            ],
        }
        for group in overview.programmes
    ]
    urgent = [
        [row.need.title, str(row.need.urgency), row.need.organisation.name]
        for row in progress.needs_coverage(session=session)
        if row.urgent_uncovered
    ]
    data = {
        "title": "Koronaporteføljen og fremdriftstatus",
        "meeting": f"{meeting.title}, {meeting.held_on.strftime('%d.%m.%Y')}",
        "made": date.today().strftime("%d.%m.%Y"),
        "received_total": len(items),
        "by_kind": _table(Counter(KINDS[item.kind.value] for item in items)),
        "by_sector": _table(Counter("Offentlig" if item.is_public else "Privat" for item in items)),
        "by_category": _table(by_category),
        "feedback": [
            [
                week.week,
                str(week.received),
                str(week.answered),
                documents.cell(week.median_hours),
                documents.cell(week.p90_hours),
            ]
            for week in feedback
        ],
        "netlist": netlist,
        "pending": pending,
        "totals": ", ".join(f"{STATUS[status]}: {n}" for status, n in overview.by_status.items()),
        "rag_totals": ", ".join(
            f"{RAG[rag]}: {n}" for rag, n in overview.by_rag.items() if rag is not None
        ),
        "programmes": programmes,
        "urgent": urgent,
        "images": sorted(images),
    }
    return data, images


REPORT_TYPST = """
#let data = json("data.json")
#set document(title: data.title)
#set page(paper: "a4", margin: 2cm, numbering: "1",
  header: context {
    if counter(page).get().first() > 1 [
      #text(8pt, data.title) #h(1fr) #text(8pt, data.meeting)
    ]
  })
#set text(lang: "nb", size: 10pt)
#set table(stroke: 0.4pt + luma(180), inset: 4pt)
#show table.cell.where(y: 0): strong
#set heading(numbering: "1.")
#let rows-table(header, rows, columns) = if rows.len() == 0 [_Ingen._] else {
  table(columns: columns, table.header(..header), ..rows.flatten())
}
#align(center)[
  #text(20pt, weight: "bold", data.title) \\ #v(0.3em)
  #text(12pt, data.meeting) \\ #text(9pt)[Laget #data.made]
]
#v(1em)
= Innspill mottatt
Totalt #data.received_total innspill.
#grid(columns: (1fr, 1fr, 1.4fr), gutter: 1em,
  rows-table(([Type], [Antall]), data.by_kind, (1fr, auto)),
  rows-table(([Sektor], [Antall]), data.by_sector, (1fr, auto)),
  rows-table(([Kategori], [Antall]), data.by_category, (1fr, auto)),
)
#if "received.png" in data.images [
  #figure(image("received.png", width: 100%), caption: [Innspill mottatt per uke, etter type])
]
= Tid til første tilbakemelding
#rows-table(([Uke], [Mottatt], [Besvart], [Median (timer)], [90-persentil (timer)]),
  data.feedback, (auto, auto, auto, auto, auto))
= Gjeldende nettoliste
#if data.netlist == none [Ingen nettoliste er publisert ennå.] else [
  Versjon #data.netlist.number, publisert #data.netlist.published.
  #rows-table(([Plass], [Tiltak], [Eier], [Status], [Behov]),
    data.netlist.rows, (auto, 2.4fr, 1.7fr, auto, 2.6fr))
  == Endringer siden forrige versjon
  #if data.netlist.previous == none [Første publiserte versjon.] else [
    Fra versjon #data.netlist.previous:
    #rows-table(([Endring], [Innspill], [Før], [Nå], [Begrunnelse]),
      data.netlist.changes, (auto, 2fr, auto, auto, 3fr))
  ]
]
#if data.pending.len() > 0 [Til behandling: #data.pending.join(", ").]
= Fremdriftstatus
Alle tiltak: #data.totals. Siste rapport: #data.rag_totals.
#if "milestones.png" in data.images [
  #figure(image("milestones.png", width: 100%),
    caption: [Milepæler: planlagt (sirkel) og nådd (rute)])
]
#if "rag.png" in data.images [
  #figure(image("rag.png", width: 100%), caption: [Fremdriftsrapporter over tid (grønn, gul, rød)])
]
#for programme in data.programmes [
  == #programme.name
  #programme.counts
  #rows-table(([Tiltak], [Eier], [Status], [Siste], [Rapport]),
    programme.rows, (2.2fr, 1.7fr, auto, auto, 2.6fr))
]
= Behov som haster og ikke er dekket
#rows-table(([Behov], [Hastegrad], [Meldt av]), data.urgent, (3fr, auto, 2fr))
"""


def build_report(meeting_id: int, *, session: Session) -> bytes:
    """Return the case document for a meeting as a PDF."""
    data, images = report_data(meeting_id, session=session)
    files: dict[str, bytes | str] = {"data.json": json.dumps(data, ensure_ascii=False)}
    files.update(images)
    return documents.compile_typst(REPORT_TYPST, files)
