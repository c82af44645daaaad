"""What became of the graduates, as pure functions: no database, no I/O (``shared/spec/formats.md``).

Each graduate's events (outcomes.csv) become one :class:`Course`; the
measures below count graduates, per group, as (achieved, out of):

- **retention at 12 and 24 months**: out of those who started at least 12
  (24) months before the audit's ``as_of`` date; retained if, on the day 12
  (24) months after their start, they were *in the scheme* (started, and
  neither completed nor left before that day) or *in an NHS post* (an
  ``employed`` or ``promoted`` event on or before that day and no departure
  after it);
- **completion**: out of those who started at least the scheme's length
  (two years) before ``as_of``, and those who left earlier; completed if a
  ``completed`` event is recorded (a graduate still in the scheme past two
  years has not completed yet);
- **progression to band 7**: out of those who started; achieved if their
  latest recorded band is 7 or above (7, 8a–8d, 9). Band at start is the band
  on the ``started`` row.

Leavers' time in the scheme is reported in months (start to ``left``).
Comparisons use the placement audit's statistics (``metrics.compare_rates``:
two-sided Fisher exact test, Katz 95% interval; Wilson intervals for single
rates), so "too few to tell" means the same in both audits.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from ..domain import band_order

SEVEN = band_order("7")
SCHEME_MONTHS = 24  # the NHS graduate DDaT scheme's length

# measure -> (label, what it counts out of)
MEASURES: dict[str, tuple[str, str]] = {
    "retained_12": ("Retained at 12 months", "graduates who started at least 12 months before the audit date"),
    "retained_24": ("Retained at 24 months", "graduates who started at least 24 months before the audit date"),
    "completed": (
        "Completed the scheme",
        "graduates who started at least 24 months before the audit date, or completed or left earlier",
    ),
    "band_7": ("Reached band 7 (so far)", "graduates who started"),
}


@dataclass(frozen=True)
class Event:
    event: str  # started, completed, left, promoted, employed
    on: date
    band: str | None = None


@dataclass(frozen=True)
class Graduate:
    """One candidate of a cohort with their characteristics, where they were placed, and their events."""

    cohort: str
    candidate_id: str
    attributes: dict[str, str]  # sex, ethnic_group, minority_ethnic, disability, career_changer
    org_type: str | None = None  # of the host they were placed with (None: not placed)
    region: str | None = None
    events: tuple[Event, ...] = ()


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day: 29 Feb + 12 = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> float:
    """Whole and part months from ``start`` to ``end`` (a 30.44-day month), one decimal."""
    return round((end - start).days / 30.4375, 1)


@dataclass(frozen=True)
class Course:
    """One graduate's course through the scheme, read off their events as of a date."""

    started: date | None
    completed: date | None
    left: date | None
    band_start: str | None
    band_latest: str | None
    # measure -> True/False (counted, achieved or not) or None (not counted: not due, not started, not ended)
    measures: dict[str, bool | None] = field(default_factory=dict)

    @property
    def months_in_scheme(self) -> float | None:
        """For a leaver: months from start to leaving."""
        if self.started is None or self.left is None:
            return None
        return months_between(self.started, self.left)


def _in_post(events: Sequence[Event], day: date) -> bool:
    """In an NHS post on ``day``: employed or promoted by then, and not departed since."""
    posts = [e.on for e in events if e.event in ("employed", "promoted") and e.on <= day]
    if not posts:
        return False
    departures = [e.on for e in events if e.event == "left" and e.on <= day]
    return not departures or max(departures) <= max(posts)


def course(events: Iterable[Event], as_of: date) -> Course:
    """The measures of one graduate (events after ``as_of`` are not yet known and are ignored)."""
    known = sorted((e for e in events if e.on <= as_of), key=lambda e: (e.on, e.event))
    first = {e.event: e for e in reversed(known)}  # earliest of each kind
    start = first.get("started")
    completed, left = first.get("completed"), first.get("left")
    banded = [e for e in known if e.band]
    band_latest = banded[-1].band if banded else None
    measures: dict[str, bool | None] = dict.fromkeys(MEASURES)
    if start is not None:
        for months in (12, 24):
            due = add_months(start.on, months)
            if due <= as_of:
                # Still in the scheme on the day itself if they complete or leave that day.
                ended = [e.on for e in (completed, left) if e is not None and e.on < due]
                measures[f"retained_{months}"] = not ended or _in_post(known, due)
        if left is not None or completed is not None or add_months(start.on, SCHEME_MONTHS) <= as_of:
            measures["completed"] = completed is not None
        measures["band_7"] = band_latest is not None and band_order(band_latest) >= SEVEN
    return Course(
        started=start.on if start else None,
        completed=completed.on if completed else None,
        left=left.on if left else None,
        band_start=start.band if start else None,
        band_latest=band_latest,
        measures=measures,
    )


@dataclass(frozen=True)
class Tally:
    """One group's (achieved, out of) for every measure, and its leavers' months in the scheme."""

    counts: dict[str, tuple[int, int]]
    leaver_months: tuple[float, ...] = ()
    graduates: int = 0
    started: int = 0

    @property
    def months_median(self) -> float | None:
        return median(self.leaver_months) if self.leaver_months else None


def tally(courses: Iterable[Course]) -> Tally:
    counts = {m: [0, 0] for m in MEASURES}
    months: list[float] = []
    graduates = started = 0
    for c in courses:
        graduates += 1
        started += c.started is not None
        for m, value in c.measures.items():
            if value is not None:
                counts[m][1] += 1
                counts[m][0] += int(value)
        if c.months_in_scheme is not None:
            months.append(c.months_in_scheme)
    return Tally({m: (k, n) for m, (k, n) in counts.items()}, tuple(sorted(months)), graduates, started)


def by_group(graduates: Sequence[Graduate], courses: Sequence[Course], key: str) -> dict[str, Tally]:
    """Tally per value of a characteristic (``attributes[key]``) or of ``org_type`` / ``region``."""
    groups: dict[str, list[Course]] = {}
    for g, c in zip(graduates, courses, strict=True):
        value = getattr(g, key) if key in ("org_type", "region") else g.attributes.get(key, "not_known")
        groups.setdefault(value or "not placed", []).append(c)
    return {value: tally(cs) for value, cs in groups.items()}
