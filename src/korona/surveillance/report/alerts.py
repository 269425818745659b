"""Signal alerts: the new high signals of a run, ranked by how unusual, told in plain words."""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import polars as pl

from korona.surveillance.calendar import Frequency
from korona.surveillance.geo import NATION, Geography
from korona.surveillance.store import SurveillanceStore

__all__ = ["AlertMail", "HighSignal", "area_codes", "latest_high_signals", "render_alert"]


@dataclass(frozen=True)
class HighSignal:
    """One high signal: a location × age × syndrome series in one week."""

    method: str
    location_code: str
    location_name: str
    age: str
    syndrome: str
    week: str
    n: int
    expected: float
    zscore: float
    excess: float

    @property
    def key(self) -> str:
        """Return the signal's identity: a user is told of it once."""
        return "|".join((self.method, self.location_code, self.age, self.syndrome, self.week))


def _float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if number != number else number  # NaN (no fit) ranks as 0


def latest_high_signals(
    store: SurveillanceStore, geography: Geography, method: str
) -> list[HighSignal]:
    """Return the high signals of the latest week in a method's weekly results, most unusual
    first (z-score, then excess consultations)."""
    results = store.results(method, Frequency.WEEKLY)
    names = results.collect_schema().names() if results.collect_schema().len() else []
    if not {"location_code", "date", "status", "n"} <= set(names):
        return []
    latest = results.select(pl.col("date").max()).collect().item()
    if latest is None:
        return []
    wanted = ["location_code", "age", "syndrome", "date", "n", "expected", "zscore", "excess"]
    frame = (
        results.filter(pl.col("date") == latest, pl.col("status") == "high")
        .select([c for c in wanted if c in names])
        .collect()
    )
    place = geography.names()
    week = f"{latest.isocalendar().year}-W{latest.isocalendar().week:02d}"
    signals = [
        HighSignal(
            method=method,
            location_code=row["location_code"],
            location_name=place.get(row["location_code"], row["location_code"]),
            age=str(row.get("age", "total")),
            syndrome=str(row.get("syndrome", "covid19")),
            week=week,
            n=int(row["n"]),
            expected=_float(row.get("expected")),
            zscore=_float(row.get("zscore")),
            excess=_float(row.get("excess")),
        )
        for row in frame.iter_rows(named=True)
    ]
    return sorted(signals, key=lambda s: (-s.zscore, -s.excess, s.location_code, s.syndrome))


def area_codes(geography: Geography, followed: Collection[str]) -> set[str]:
    """Return every location in the followed areas: a county brings its municipalities, the
    nation everything."""
    codes = set(followed)
    if NATION in codes:
        return set(geography.location_codes)
    municipalities = geography.municipalities
    for county in [c for c in followed if c.startswith("county")]:
        codes.update(
            municipalities.filter(pl.col("county_code") == county)["location_code"].to_list()
        )
    return codes


_WORDS = {
    "nb": {
        "subject": "Signal: {count} nye høye signaler i områdene du følger ({week})",
        "intro": "Hei {name}. Analysen har funnet nye signaler som er betydelig høyere enn "
        "forventet i områdene du følger. De mest uvanlige står først.",
        "all_ages": "alle aldre",
        "sentence": "{place}, {age}: {n} konsultasjoner for {syndrome} i uke {week}, mot "
        "{expected} forventet — {excess} flere enn ventet (z-skår {z}). {how}",
        "very": "Dette er svært uvanlig.",
        "unusual": "Dette er uvanlig.",
        "notable": "Dette er tydelig høyere enn vanlig.",
        "see": "Se siden",
        "unsubscribe": "Avslutt signalvarslene (uten innlogging)",
    },
    "en": {
        "subject": "Alert: {count} new high signals in the areas you follow ({week})",
        "intro": "Hello {name}. The analysis found new signals much higher than expected in "
        "the areas you follow. The most unusual come first.",
        "all_ages": "all ages",
        "sentence": "{place}, {age}: {n} consultations for {syndrome} in week {week}, against "
        "{expected} expected — {excess} more than expected (z-score {z}). {how}",
        "very": "This is very unusual.",
        "unusual": "This is unusual.",
        "notable": "This is clearly higher than usual.",
        "see": "See the page",
        "unsubscribe": "Stop the signal alerts (no login)",
    },
}


def _sentence(signal: HighSignal, words: dict[str, str]) -> str:
    how = (
        words["very"]
        if signal.zscore >= 6
        else words["unusual"]
        if signal.zscore >= 4
        else words["notable"]
    )
    return words["sentence"].format(
        place=signal.location_name,
        age=words["all_ages"] if signal.age == "total" else signal.age,
        n=signal.n,
        syndrome=signal.syndrome,
        week=signal.week,
        expected=f"{signal.expected:.0f}",
        excess=f"{signal.excess:.0f}",
        z=f"{signal.zscore:.1f}",
        how=how,
    )


@dataclass(frozen=True)
class AlertMail:
    """One recipient's alert e-mail."""

    subject: str
    text: str
    html: str


def render_alert(
    signals: Sequence[HighSignal],
    *,
    name: str,
    language: str,
    base_url: str,
    unsubscribe_url: str,
) -> AlertMail:
    """Return the alert listing ``signals`` (already ranked) for one recipient."""
    words = _WORDS.get(language, _WORDS["en"])
    base = base_url.rstrip("/")
    subject = words["subject"].format(count=len(signals), week=signals[0].week if signals else "")
    intro = words["intro"].format(name=name)
    lines = [intro, ""]
    items = []
    for number, signal in enumerate(signals, start=1):
        sentence = _sentence(signal, words)
        link = f"{base}/surveillance/{signal.location_code}"
        lines.append(f"{number}. {sentence}\n   {words['see']}: {link}")
        items.append(
            f'<li style="margin-bottom:8px;">{html.escape(sentence)} '
            f'<a href="{html.escape(link)}">{html.escape(words["see"])}</a></li>'
        )
    lines += ["", f"{words['unsubscribe']}: {unsubscribe_url}"]
    body_html = (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#111;max-width:760px;">'
        f"<p>{html.escape(intro)}</p><ol>{''.join(items)}</ol>"
        f'<p><a href="{html.escape(unsubscribe_url)}">{html.escape(words["unsubscribe"])}</a></p>'
        "</body></html>"
    )
    return AlertMail(subject=subject[:300], text="\n".join(lines), html=body_html)
