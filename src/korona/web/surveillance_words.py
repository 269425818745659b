"""The words of the surveillance location pages: syndromes, age groups, signal statuses and
levels in the reader's language."""

from __future__ import annotations

from korona.errors import N_
from korona.surveillance.geo import AgeGroup, LocationLevel
from korona.surveillance.series import Status
from korona.web import i18n

STATUS_LABELS = {
    Status.NORMAL: N_("Expected"),
    Status.MEDIUM: N_("Higher than expected"),
    Status.HIGH: N_("Much higher than expected"),
}
SYNDROME_LABELS = {
    "influensa": N_("Influenza"),
    "gastro": N_("Gastroenteritis"),
    "respiratoryexternal": N_("Respiratory infections"),
    "respiratoryinternal": N_("Respiratory infections (internal definition)"),
    "lungebetennelse": N_("Pneumonia"),
    "bronkitt": N_("Acute bronchitis"),
    "skabb": N_("Scabies"),
}
AGE_LABELS = {AgeGroup.TOTAL.value: N_("All ages")}
#: The store's source names that are words rather than names (the others are proper nouns).
SOURCE_LABELS = {
    "FHI (laboratory data)": N_("FHI (laboratory data)"),
    "FHI (hospital admissions)": N_("FHI (hospital admissions)"),
}
LEVEL_LABELS = {
    LocationLevel.NATION: N_("Nation"),
    LocationLevel.COUNTY: N_("County"),
    LocationLevel.MUNICIPALITY: N_("Municipality"),
}


def syndrome_label(name: str) -> str:
    """Return a syndrome's name in the current language."""
    return i18n.gettext(SYNDROME_LABELS[name]) if name in SYNDROME_LABELS else name


def source_label(name: str) -> str:
    """Return a source's name in the current language."""
    return i18n.gettext(SOURCE_LABELS[name]) if name in SOURCE_LABELS else name


def age_label(age: str) -> str:
    """Return an age group's name in the current language."""
    return (
        i18n.gettext(AGE_LABELS[age])
        if age in AGE_LABELS
        else i18n.gettext("%(age)s years", age=age)
    )


def status_label(status: str | None) -> str:
    """Return a signal status in words ("–" where it is not shown)."""
    return i18n.gettext(STATUS_LABELS[Status(status)]) if status else "–"
