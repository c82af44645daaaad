"""Synthetic outcomes (outcomes.csv) for a cohort's graduates: fictional, generated, reproducible.

For trials, the demo and tests of the outcome audit. Every graduate starts at
band 5 on the intake's start date (the NHS graduate DDaT scheme is two years
at band 5); some leave early (most in the first year), the rest complete at
two years and most take an NHS post, some at band 6 and later band 7. The
rates are plausible, not anyone's real figures; ``disparity`` plants a
difference in leaving early for the candidates whose ethnic category is not
White (A, B, C), so the audit has something to find and a test something to
recompute.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from .audit.outcome_metrics import add_months

OUTCOME_COLUMNS = ("candidate_id", "cohort", "date", "event", "band", "reason")
WHITE_CODES = frozenset("ABC")
LEAVE_EARLY = 0.12  # chance a graduate leaves before completing
EMPLOYED_AFTER = 0.88  # chance a completer takes an NHS post
BAND_6 = 0.55  # chance an employed completer is promoted to band 6 within a year
BAND_7 = 0.35  # chance a band-6 graduate reaches band 7 a year or so later
LEAVING_REASONS = (
    "relocated",
    "left the NHS for the private sector",
    "caring responsibilities",
    "career change",
    "health",
    "",
)


def generate_outcomes(
    candidates: Iterable[Mapping[str, str]],
    *,
    cohort: str,
    start: date,
    as_of: date,
    seed: int,
    disparity: float = 1.0,
) -> list[dict[str, str]]:
    """Outcome rows for ``candidates`` (dicts with candidate_id and ethnic_category) of one cohort.

    ``disparity`` multiplies the chance of leaving early for those not
    recorded as White. Events after ``as_of`` are left out (not yet happened).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []

    def add(cid: str, day: date, event: str, band: str = "", reason: str = "") -> None:
        if day <= as_of:
            rows.append(
                {
                    "candidate_id": cid,
                    "cohort": cohort,
                    "date": day.isoformat(),
                    "event": event,
                    "band": band,
                    "reason": reason,
                }
            )

    for cand in sorted(candidates, key=lambda c: c["candidate_id"]):
        cid = cand["candidate_id"]
        code = (cand.get("ethnic_category") or "").strip().upper()
        white = code in WHITE_CODES
        day0 = start + timedelta(days=int(rng.integers(0, 10)))
        add(cid, day0, "started", "5")
        leave_p = LEAVE_EARLY * (1.0 if white or code in ("", "Z", "99") else disparity)
        draws = rng.random(5)
        if draws[0] < min(leave_p, 0.95):
            months_in = int(rng.integers(2, 23))
            reason = LEAVING_REASONS[int(rng.integers(0, len(LEAVING_REASONS)))]
            add(cid, add_months(day0, months_in), "left", "", reason)
            continue
        done = add_months(day0, 24)
        add(cid, done, "completed", "5")
        if draws[1] < EMPLOYED_AFTER:
            employed = done + timedelta(days=int(rng.integers(7, 60)))
            add(cid, employed, "employed", "5")
            if draws[2] < BAND_6:
                six = add_months(employed, int(rng.integers(4, 12)))
                add(cid, six, "promoted", "6")
                if draws[3] < BAND_7:
                    add(cid, add_months(six, int(rng.integers(6, 16))), "promoted", "7")
    return rows


def write_outcomes(rows: Iterable[Mapping[str, str]], path: str | Path) -> int:
    """Write rows as outcomes.csv (UTF-8, canonical columns); returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=OUTCOME_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def read_candidates(path: str | Path) -> list[dict[str, str]]:
    """candidate_id and ethnic_category of each row of a canonical candidates.csv."""
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        return [
            {"candidate_id": r["candidate_id"], "ethnic_category": r.get("ethnic_category", "")}
            for r in csv.DictReader(fh)
        ]
