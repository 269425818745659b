"""The weekly report's words, per language: a data table, kept out of the renderer."""

from __future__ import annotations

__all__ = ["LABELS", "LANGUAGES", "labels"]

#: Everything the report says, per language (English is the fallback). Kept here, not in the
#: web catalogue: the report is built by the CLI, and korona.surveillance imports no web code.
LABELS: dict[str, dict[str, str]] = {
    "nb": {
        "title": "Ukentlig oversikt {week}",
        "subject": "Ukentlig oversikt {week}: {names}",
        "intro": "Hei {name}. Her er ukens oversikt fra Sykdomspulsen for kommunehelsetjenesten "
        "for {weeks_from}–{week}, for stedene du følger.",
        "covid_heading": "Covid-19",
        "signal_heading": "Signaler for andre syndromer og aldersgrupper",
        "week": "Uke",
        "cases": "Tilfeller (MSIS)",
        "per_100k": "Per 100 000",
        "share_infected": "Andel smittet (%)",
        "positivity": "Andel positive prøver (%)",
        "consultations": "Covid-19-konsultasjoner",
        "signal": "Covid-19-signal",
        "age": "Alder",
        "total": "alle aldre",
        "incomplete": "* Uken kan være ufullstendig: færre konsultasjoner enn vanlig er "
        "registrert, tallene kan stige.",
        "no_data": "Ingen tall for dette stedet.",
        "no_signals": "Ingen signaler for andre syndromer disse ukene.",
        "link": "Se siden for {name}",
        "footer": "Sykdomspulsen · korona",
        "signals_note": "Signal: {medium} / {high}. Celler viser konsultasjoner og signal.",
        "unsubscribe": "Avslutt den ukentlige oversikten (uten innlogging)",
        "manage": "Endre hva du følger på kontosiden",
        "pdf_note": "Oversikten er også vedlagt som PDF.",
        "simulated": "Konsultasjonstallene er simulert.",
        "normal": "forventet",
        "medium": "høyere enn forventet",
        "high": "betydelig høyere enn forventet",
        "matrix_heading": "Alle syndromer og aldersgrupper, uke {week}",
        "detail_heading": "Serier med signal, {weeks_from}–{week}",
        "syndrome": "Syndrom",
        "legend": "Slik leser du PDF-en: tallene er konsultasjoner. ▲ og gul: høyere enn "
        "forventet; ▲▲ og rød: betydelig høyere enn forventet. Tabellen over signaler viser "
        "bare syndromer og aldersgrupper med signal i en av de fire ukene; e-posten har alle "
        "ukene for alle.",
    },
    "en": {
        "title": "Weekly overview {week}",
        "subject": "Weekly overview {week}: {names}",
        "intro": "Hello {name}. This is the week's overview from Sykdomspulsen for the "
        "municipal health service for {weeks_from}–{week}, for the places you follow.",
        "covid_heading": "Covid-19",
        "signal_heading": "Signals for the other syndromes and age groups",
        "week": "Week",
        "cases": "Cases (MSIS)",
        "per_100k": "Per 100 000",
        "share_infected": "Share infected (%)",
        "positivity": "Positive tests (%)",
        "consultations": "Covid-19 consultations",
        "signal": "Covid-19 signal",
        "age": "Age",
        "total": "all ages",
        "incomplete": "* The week may be incomplete: fewer consultations than usual are "
        "registered, the figures may rise.",
        "no_data": "No figures for this place.",
        "no_signals": "No signals for other syndromes in these weeks.",
        "link": "See the page for {name}",
        "footer": "Sykdomspulsen · korona",
        "signals_note": "Signal: {medium} / {high}. Cells show consultations and signal.",
        "unsubscribe": "Stop the weekly overview (no login)",
        "manage": "Change what you follow on your account page",
        "pdf_note": "The overview is also attached as a PDF.",
        "simulated": "The consultation counts are simulated.",
        "normal": "expected",
        "medium": "higher than expected",
        "high": "much higher than expected",
        "matrix_heading": "All syndromes and age groups, week {week}",
        "detail_heading": "Series with a signal, {weeks_from}–{week}",
        "syndrome": "Syndrome",
        "legend": "Reading the PDF: figures are consultations. ▲ and yellow: higher than "
        "expected; ▲▲ and red: much higher than expected. The table of signals shows only the "
        "syndromes and age groups with a signal in one of the four weeks; the e-mail has every "
        "week for all of them.",
    },
}
LANGUAGES = tuple(LABELS)


def labels(language: str) -> dict[str, str]:
    """Return the report's words in a language (English for unknown languages)."""
    return LABELS.get(language, LABELS["en"])
