"""The two editions of every report (``shared/spec/fairness.md``, "Two editions").

A scheme places 30–100 candidates a round. Disclosure control on every cell
at that size turns nearly every group figure into ``*`` and hides the flags
the audit exists to raise, so each report comes in two editions:

- **internal** (the default): for the people already entitled to the
  individual records (the coordinator, the equality lead). Exact counts,
  every flag from exact figures, each comparison with its verdict. Stamped
  :data:`STAMP`, written owner-only (0600), its writing recorded in the audit
  log.
- **publication**: for the scheme board and anyone outside the scheme office.
  Disclosure control (``disclosure``) on every figure broken down by a
  characteristic and on what is derived from one; the scheme-wide totals
  exact; flags named per characteristic without numbers.

This module is the machinery both the round audit and the outcome audit
use: the :class:`Edition` itself, the :func:`verdict` of a comparison, the
edition's view of a table's counts (:func:`shown_counts`), flags as data
(:class:`Flag`, :func:`published_flags`) and the edition-aware writer
(:func:`write_edition`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Literal

from ..errors import ConfigError
from .disclosure import Line, protect
from .metrics import SUPPRESSED, Comparison, Count, Figure

STAMP: Final = "OFFICIAL-SENSITIVE — restricted: contains small numbers; do not publish or forward"
PUBLICATION_NOTE: Final = (
    "Publication edition: figures broken down by a characteristic are under disclosure control "
    "(1–7 withheld as *, others rounded to the nearest 5, 0 shown); scheme-wide totals are exact."
)
SIGNIFICANCE: Final = 0.05  # Fisher's exact test: a gap this unlikely under parity is not put down to chance


class Edition(enum.StrEnum):
    INTERNAL = "internal"
    PUBLICATION = "publication"

    @classmethod
    def parse(cls, value: str | Edition) -> Edition:
        if isinstance(value, Edition):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            raise ConfigError(
                f"Unknown report edition {value!r}.",
                "Use --edition internal (exact, restricted: the default) or --edition publication "
                "(disclosure control, for the scheme board and publishing).",
            ) from None

    @property
    def exact(self) -> bool:
        """Counts shown as they are (no disclosure control)."""
        return self is Edition.INTERNAL

    @property
    def stamp(self) -> str | None:
        """The notice every page of this edition carries (None: none needed)."""
        return STAMP if self is Edition.INTERNAL else None

    @property
    def private(self) -> bool:
        """Written readable by its owner only (0600)."""
        return self is Edition.INTERNAL

    @property
    def label(self) -> str:
        return "Internal edition (restricted)" if self is Edition.INTERNAL else "Publication edition"


EDITIONS: Final = tuple(e.value for e in Edition)

# --- Verdicts -------------------------------------------------------------------------------------

Verdict = Literal["flagged", "within the band", "too few to tell"]
FLAGGED: Final = "flagged"
WITHIN: Final = "within the band"
TOO_FEW: Final = "too few to tell"


def verdict(stats: Comparison, band: tuple[float, float]) -> Verdict | None:
    """Whether the numbers can tell: "flagged", "within the band" or "too few to tell" (None: not assessable).

    - The ratio outside the band with Fisher's exact p below 0.05 is *flagged*:
      the gap is outside the band and unlikely to be chance.
    - Outside the band with p ≥ 0.05 is *too few to tell*: a gap like it
      could be chance at these numbers.
    - Inside the band is *within the band*, unless its 95% interval spans
      both sides of the band (below its lower edge and above its upper edge;
      an interval with an undefined end reaches that side) — then the numbers
      are *too few to tell* either way.
    An infinite ratio (the comparison group had nobody with the outcome) is
    outside the band.
    """
    if stats.infinite:
        p = stats.fisher_p
        if isinstance(p, (int, float)):
            return FLAGGED if p < SIGNIFICANCE else TOO_FEW
        return None
    value = stats.ratio
    if value is None or value is SUPPRESSED:
        return None
    low, high = stats.ci_low, stats.ci_high
    if not (band[0] <= value <= band[1]):  # type: ignore[operator]
        p = stats.fisher_p
        if p is None:  # the reference group itself (ratio 1 by definition) never lands here
            return None
        return FLAGGED if p < SIGNIFICANCE else TOO_FEW  # type: ignore[operator]
    reaches_below = low is None or low < band[0]  # type: ignore[operator]
    reaches_above = high is None or high > band[1]  # type: ignore[operator]
    if stats.fisher_p is None and low is None and high is None:  # the reference group: parity by definition
        return WITHIN
    return TOO_FEW if reaches_below and reaches_above else WITHIN


# --- Counts as an edition shows them ---------------------------------------------------------------


def shown_counts(
    edition: Edition,
    cells: Mapping[Hashable, int],
    lines: Iterable[Line],
    cost: Callable[[Hashable], float] | None = None,
    *,
    exact: Iterable[Hashable] = (),
) -> dict[Hashable, Count]:
    """Every count as ``edition`` shows it.

    Internal: all exact. Publication: disclosure control (``disclosure.protect``),
    except the ``exact`` keys — scheme-wide totals that break nobody down —
    which are shown as they are and never chosen for secondary suppression.
    """
    if edition.exact:
        return dict(cells)
    return protect(cells, lines, cost, exact=set(exact))


# --- Flags as data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One finding of a report, as data.

    ``metric`` names what was compared (``relative_likelihood_placed``,
    ``relative_likelihood_first_choice``, ``adverse_impact``, …) or, for
    findings that are no comparison, the kind (``target_missed``, ``quota``,
    ``special_category_use``, ``stability``, ``status``). ``groups`` are the
    groups compared (comparison group first), ``value`` the exact figure,
    ``verdict`` whether the numbers can tell, ``message`` the finding in words.
    """

    metric: str
    message: str
    characteristic: str | None = None
    groups: tuple[str, ...] = ()
    value: float | None = None
    verdict: Verdict | None = FLAGGED
    p_value: float | None = None
    ci95: tuple[float | None, float | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["groups"] = list(self.groups)
        d["ci95"] = None if self.ci95 is None else {"low": self.ci95[0], "high": self.ci95[1]}
        return d


# Comparisons whose figures are broken down by a characteristic: published without numbers or groups.
COMPARISON_METRICS: Final = ("relative_likelihood_placed", "relative_likelihood_first_choice", "adverse_impact")


def published_flags(
    flags: Sequence[Flag],
    *,
    characteristic_label: Callable[[str], str],
    metric_words: Mapping[str, str],
    see: str = "see the internal edition",
) -> list[Flag]:
    """The publication edition's flags: comparisons named per characteristic and metric, without numbers or groups.

    One flag per (characteristic, metric): "flagged" if any comparison of it
    was flagged, else "too few to tell". Findings that are no comparison
    (a missed target, a quota, the solver's status) keep their message but
    lose any number.
    """
    out: list[Flag] = []
    seen: dict[tuple[str | None, str], int] = {}
    for f in flags:
        if f.metric not in COMPARISON_METRICS:
            out.append(Flag(metric=f.metric, message=f.message, characteristic=f.characteristic, verdict=f.verdict))
            continue
        key = (f.characteristic, f.metric)
        if key in seen:
            if f.verdict == FLAGGED and out[seen[key]].verdict != FLAGGED:
                out[seen[key]] = _named(f, characteristic_label, metric_words, see)
            continue
        seen[key] = len(out)
        out.append(_named(f, characteristic_label, metric_words, see))
    return out


def _named(f: Flag, characteristic_label, metric_words, see) -> Flag:
    what = metric_words.get(f.metric, f.metric.replace("_", " "))
    label = characteristic_label(f.characteristic) if f.characteristic else "the cohort"
    name = label[:1].lower() + label[1:]  # "ethnic group", "ethnicity: White and all other ethnic groups combined"
    if f.verdict == FLAGGED:
        message = f"The {what} comparison for {name} was flagged; {see}."
    else:
        message = f"The {what} comparison for {name} is outside the band but the numbers are too few to tell; {see}."
    return Flag(metric=f.metric, message=message, characteristic=f.characteristic, verdict=f.verdict)


# --- Writing ---------------------------------------------------------------------------------------


def write_edition(path: Path, data: bytes, edition: Edition) -> None:
    """Write a report atomically: owner-only (0600) for the internal edition, else 0644 (``files.atomic_write``).

    The caller records the writing in the audit log (``rounds.log_action``)
    with the edition in words, never any figure of the report.
    """
    from ..files import atomic_write

    with atomic_write(path, private=edition.private) as fh:
        fh.write(data)


def edition_words(edition: Edition) -> str:
    """How the audit log names an edition."""
    return (
        "internal edition (OFFICIAL-SENSITIVE, owner-only)"
        if edition.private
        else "publication edition (disclosure control)"
    )


def figure(value: Figure) -> float | None:
    """A figure as plain data: SUPPRESSED has no number to give."""
    if value is SUPPRESSED or value is None:
        return None
    return float(value)  # type: ignore[arg-type]
