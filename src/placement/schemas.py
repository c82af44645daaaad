"""Pydantic models of the canonical input rows (``shared/spec/formats.md``).

Each model takes one CSV row as a dict of canonical column -> trimmed text
(blank = ``""``; a column the file does not have is simply absent) and gives
typed, canonical values: codes in their canonical spelling (matching is
case-insensitive), specialisms sorted and ``;``-joined, numbers parsed.

Validators raise :class:`CellError`, which carries the problem *and the fix*
for the coordinator; ingestion turns it into a :class:`~placement.errors.RowProblem`
with file, row and column. Messages never repeat the cell's value (ingestion
shows it beside the message, except for special category columns), so a bad
ethnic category or disability code is reported by row and column only.

These models know nothing about the database: cross-row and cross-file checks
(duplicate ids, unknown ids, mutual links) live in ``placement.ingest``.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from .domain import (
    AFC_BANDS,
    ATTRIBUTE_VALUES,
    CAREER_CHANGER_VALUES,
    DISABILITY_VALUES,
    ETHNIC_GROUP_OF_CODE,
    ORG_TYPES,
    OUTCOME_EVENTS,
    REGIONS,
    SEX_CODES,
    SEX_VALUES,
    SPECIALISMS,
    TARGET_ATTRIBUTES,
)
from .shares import ShareError, exact_share
from .text import is_hidden, refused_in_id, refused_in_text

# Longest text a cell may hold: anything longer is a broken export (a whole
# row pasted into one cell, binary junk), not a name or a code.
MAX_CELL_CHARS = 1000
# Characters that make a spreadsheet run a cell as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@")
DOCS = "docs/import.md"


class CellError(ValueError):
    """What is wrong with a cell and how to fix it.

    ``column`` names the cell when a check spans columns (``min_share`` >
    ``max_share``) and pydantic cannot tell which one is at fault.
    """

    def __init__(self, problem: str, fix: str, column: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix
        self.column = column


def looks_like_formula(text: str) -> bool:
    return text[:1] in FORMULA_PREFIXES


def id_key(identifier: str) -> str:
    """What two ids are compared by when looking for likely typos: no blanks, no letter case, no look-alikes.

    NFKC folds compatibility look-alikes (full-width ``Ａ1`` is ``A1``) and
    composes accents (``café`` typed as ``e`` + combining accent is ``café``);
    invisible characters are dropped (ids refuse them anyway).
    """
    folded = unicodedata.normalize("NFKC", identifier)
    return "".join(ch for ch in "".join(folded.split()) if not is_hidden(ch)).casefold()


def email_key(email: str) -> str:
    """What two emails are compared by: NFKC-normalised, letter case ignored."""
    return unicodedata.normalize("NFKC", email).casefold()


def _no_hidden(text: str, what: str) -> str:
    bad = refused_in_id(text)
    if bad is not None:
        raise CellError(
            f"contains the invisible character {bad} (a zero-width space, a direction mark or similar), which would "
            f"make this {what} look identical to another one",
            f"retype the {what} (delete the cell and type it again) and export the file again",
        )
    return text


def _text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    bad = refused_in_text(text)
    if bad is not None:
        # Shown escaped: an ESC or a right-to-left override would act on the terminal or disguise the text.
        raise CellError(
            f"contains the invisible control character {bad} (a terminal escape, a C1 control code or a "
            "right-to-left override), which no name or code needs",
            "delete the character (retype the cell) and export the file again",
        )
    return text


def _one_of(values: tuple[str, ...]) -> str:
    return ", ".join(values)


# ---------------------------------------------------------------- field validators


def _identifier(max_len: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = _text(value)
        if not text:
            raise CellError("is blank", "give the id")
        if looks_like_formula(text):
            raise CellError(
                "starts with =, +, - or @, so a spreadsheet would run it as a formula",
                "use an id that starts with a letter or a digit",
            )
        if len(text) > max_len:
            raise CellError(f"is longer than {max_len} characters", f"use an id of at most {max_len} characters")
        return _no_hidden(text, "id")

    return check


def _optional_identifier(value: Any) -> str | None:
    return _identifier(100)(value) if _text(value) else None


def _required_text(max_len: int, what: str) -> Callable[[Any], str]:
    """Free text (names): kept exactly as given, formulas included (exports escape them)."""

    def check(value: Any) -> str:
        text = _text(value)
        if not text:
            raise CellError("is blank", f"give the {what}")
        if len(text) > max_len:
            raise CellError(f"is longer than {max_len} characters", f"shorten the {what} to {max_len} characters")
        return text

    return check


def _optional_text(value: Any) -> str:
    return _text(value)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _email(value: Any) -> str:
    text = _text(value)
    if not text:
        raise CellError("is blank", "give the candidate's email address")
    if len(text) > 320 or not _EMAIL.fullmatch(text):
        raise CellError("is not an email address", "write one address like name@example.org")
    return _no_hidden(text, "email address")


def _code(
    allowed: tuple[str, ...], what: str, default: str | None = None, *, aliases: dict[str, str] | None = None
) -> Callable[[Any], str]:
    """One value of a fixed vocabulary, matched case-insensitively, returned in its canonical spelling.

    ``aliases`` are other spellings accepted as they come (the NHS codes of a vocabulary).
    """
    lookup = {a.casefold(): a for a in allowed}
    lookup.update((k.casefold(), v) for k, v in (aliases or {}).items())

    def check(value: Any) -> str:
        text = _text(value)
        if not text:
            if default is not None:
                return default
            raise CellError("is blank", f"give one of: {_one_of(allowed)}")
        found = lookup.get(text.casefold())
        if found is not None:
            return found
        problem = (
            "looks like a spreadsheet formula, not a " + what
            if looks_like_formula(text)
            else f"is not a recognised {what}"
        )
        raise CellError(
            problem,
            f"use one of: {_one_of(allowed)}; if the export spells it differently, "
            f"map the spelling in the mapping file ({DOCS})",
        )

    return check


def _yes_no_bool(value: Any) -> bool:
    return _code(("yes", "no"), "yes/no answer")(value) == "yes"


def _specialisms(value: Any) -> str:
    text = _text(value)
    items = [part.strip() for part in text.split(";") if part.strip()]
    fix = f"give one or more of {_one_of(SPECIALISMS)}, separated by ';'"
    if not items:
        raise CellError("is blank", fix)
    lookup = {s.casefold(): s for s in SPECIALISMS}
    found = set()
    for item in items:
        canonical = lookup.get(item.casefold())
        if canonical is None:
            raise CellError(
                f"has {item!r}, which is not a specialism",
                fix + f"; map other spellings in the mapping file ({DOCS})",
            )
        found.add(canonical)
    return ";".join(sorted(found))


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_WHOLE = re.compile(r"[+-]?\d+(\.0*)?")


def _number(
    lo: float, hi: float | None, *, default: float | None = None, required: bool = True
) -> Callable[[Any], float | None]:
    """A decimal number in [lo, hi]; blank gives ``default`` unless the number is required."""
    span = f"from {lo:g} to {hi:g}" if hi is not None else f"of at least {lo:g}"

    def check(value: Any) -> float | None:
        text = _text(value)
        if not text:
            if default is not None or not required:
                return default
            raise CellError("is blank", f"give a number {span}")
        if not _NUMBER.fullmatch(text):
            hint = ""
            if text.endswith("%"):
                # A share is a fraction of 1; a score is already out of 100.
                hint = " (a share is a fraction: 0.4 for 40%)" if hi == 1 else f" (without the %: {text[:-1].strip()})"
            elif "," in text:
                hint = " (use a full stop as the decimal mark)"
            raise CellError("is not a number", f"write a number {span}{hint}")
        number = float(text)
        if not math.isfinite(number) or number < lo or (hi is not None and number > hi):
            raise CellError(f"is outside the range {span}", f"write a number {span}")
        return number

    return check


# Largest whole number a cell may hold: far above any real capacity or rank, and
# well inside the database's INTEGER (PostgreSQL's int4 stops at 2,147,483,647).
MAX_WHOLE = 1_000_000


def _integer(minimum: int, what: str, default: int | None = None) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        text = _text(value)
        fix = f"write a whole number from {minimum} to {MAX_WHOLE:,} ({what})"
        if not text:
            if default is not None:
                return default
            raise CellError("is blank", fix)
        if not _WHOLE.fullmatch(text):
            raise CellError("is not a whole number", fix)
        number = int(text.split(".")[0])
        if number < minimum:
            raise CellError("is less than " + str(minimum), fix)
        if number > MAX_WHOLE:
            raise CellError(f"is larger than {MAX_WHOLE:,}", fix)
        return number

    return check


_SCOPE_FIX = "write cohort, region=<region>, org_type=<type>, host=<host_id>, region=* or org_type=*"


def _scope(value: Any) -> str:
    text = _text(value)
    if text.casefold() == "cohort":
        return "cohort"
    key, sep, rest = text.partition("=")
    key, rest = key.strip().casefold(), rest.strip()
    if not sep or not rest or key not in ("region", "org_type", "host"):
        raise CellError("is not a valid scope", _SCOPE_FIX)
    if key == "host":
        if rest == "*":
            raise CellError("cannot be host=* (one target per host)", "name one host, e.g. host=RX1, or use org_type=*")
        return "host=" + _identifier(100)(rest)
    if rest == "*":
        return f"{key}=*"
    allowed = REGIONS if key == "region" else ORG_TYPES
    lookup = {a.casefold(): a for a in allowed}
    canonical = lookup.get(rest.casefold())
    if canonical is None:
        raise CellError(f"names an unknown {key}", f"after {key}= use one of: {_one_of(allowed)}, or *")
    return f"{key}={canonical}"


# ---------------------------------------------------------------- reusable field types

CandidateId = Annotated[str, BeforeValidator(_identifier(100))]
HostId = Annotated[str, BeforeValidator(_identifier(100))]
LinkedWith = Annotated[str | None, BeforeValidator(_optional_identifier)]
Specialisms = Annotated[str, BeforeValidator(_specialisms)]
Region = Annotated[str, BeforeValidator(_code(REGIONS, "NHS England region"))]
YesNo = Annotated[bool, BeforeValidator(_yes_no_bool)]
Score = Annotated[float, BeforeValidator(_number(0, 100))]
Rank = Annotated[int, BeforeValidator(_integer(1, "1 = most preferred"))]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CandidateRow(_Row):
    candidate_id: CandidateId
    given_name: Annotated[str, BeforeValidator(_required_text(200, "given name"))]
    family_name: Annotated[str, BeforeValidator(_required_text(200, "family name"))]
    email: Annotated[str, BeforeValidator(_email)]
    assessment_score: Score
    specialisms: Specialisms
    home_region: Region
    willing_to_relocate: YesNo
    sex: Annotated[str, BeforeValidator(_code(SEX_VALUES, "gender identity code", "not_known", aliases=SEX_CODES))] = (
        "not_known"
    )
    ethnic_category: Annotated[
        str, BeforeValidator(_code(tuple(ETHNIC_GROUP_OF_CODE), "NHS ethnic category code", "99"))
    ] = "99"
    disability: Annotated[str, BeforeValidator(_code(DISABILITY_VALUES, "disability code", "not_known"))] = "not_known"
    career_changer: Annotated[
        str, BeforeValidator(_code(CAREER_CHANGER_VALUES, "career changer answer", "not_known"))
    ] = "not_known"
    linked_with: LinkedWith = None


class HostRow(_Row):
    host_id: HostId
    name: Annotated[str, BeforeValidator(_required_text(300, "host's name"))]
    org_type: Annotated[str, BeforeValidator(_code(ORG_TYPES, "organisation type"))]
    region: Region
    capacity: Annotated[int, BeforeValidator(_integer(0, "places offered this year"))]
    specialisms: Specialisms
    min_score: Annotated[float, BeforeValidator(_number(0, 100, default=0.0))] = 0.0
    min_placements: Annotated[int, BeforeValidator(_integer(0, "places the host needs filled", default=0))] = 0

    @model_validator(mode="after")
    def _quota_fits(self) -> HostRow:
        if self.min_placements > self.capacity:
            raise CellError(
                "is more than the host's capacity",
                "lower min_placements to at most capacity, or raise capacity",
                column="min_placements",
            )
        return self


class PreferenceRow(_Row):
    candidate_id: CandidateId
    host_id: HostId
    rank: Rank


class HostRankingRow(_Row):
    host_id: HostId
    candidate_id: CandidateId
    rank: Rank


def _share(bound: Literal["min", "max"]) -> Callable[[Any], float | None]:
    """A share from 0 to 1, enforced exactly as the decimal written (``placement.shares.exact_share``).

    A fraction such as ``1/3`` is refused with the decimal to write instead, rounded down for a
    ``min_share`` and up for a ``max_share`` at 6 places, and the size of scope below which it asks for
    the same whole number of people as the fraction. (Shares are stored as decimals: 0.33333 is not one
    third, so 5 of 15 breaks a ``max_share`` of 0.33333 but not one of 0.333334.)
    """
    number = _number(0, 1, required=False)

    def check(value: Any) -> float | None:
        text = _text(value)
        if "/" not in text:
            return number(value)
        try:
            share = exact_share(text)  # the project's one reading of "a/b"
        except ShareError:
            return number(value)  # not a fraction of whole numbers from 0 to 1: "is not a number"
        scaled = share * 10**6
        decimal = Fraction(math.floor(scaled) if bound == "min" else math.ceil(scaled), 10**6)
        if decimal == share:
            return float(share)  # 1/4 is 0.25 exactly: the same share either way
        written = f"{float(decimal):.6f}".rstrip("0").rstrip(".")
        # Whole people needed in a scope of n placed differ only once |share - decimal| x n
        # reaches 1/denominator (the distance from share x n to the next whole number).
        limit = math.ceil(1 / (share.denominator * abs(share - decimal)))
        as_written = "/".join(part.strip() for part in text.split("/", 1))
        fix = (
            f"write {written} ({'at least' if bound == 'min' else 'at most'} the same whole number "
            f"of people as {as_written} in any scope of fewer than {limit:,} placed)"
        )
        raise CellError("is a fraction; shares are written as decimals", fix)

    return check


class TargetRow(_Row):
    name: Annotated[str, BeforeValidator(_identifier(200))]
    scope: Annotated[str, BeforeValidator(_scope)]
    attribute: Annotated[str, BeforeValidator(_code(TARGET_ATTRIBUTES, "target attribute"))]
    value: Annotated[str, BeforeValidator(_required_text(100, "value counted"))]
    min_share: Annotated[float | None, BeforeValidator(_share("min"))] = None
    max_share: Annotated[float | None, BeforeValidator(_share("max"))] = None
    strength: Annotated[str, BeforeValidator(_code(("hard", "soft"), "strength"))]
    weight: Annotated[float, BeforeValidator(_number(0, None, default=0.0))] = 0.0

    @model_validator(mode="after")
    def _consistent(self) -> TargetRow:
        allowed = ATTRIBUTE_VALUES[self.attribute]
        canonical = {a.casefold(): a for a in allowed}.get(self.value.casefold())
        if canonical is None:
            raise CellError(
                f"is not a value of {self.attribute}",
                f"use one of: {_one_of(allowed)}",
                column="value",
            )
        self.value = canonical
        if self.min_share is None and self.max_share is None:
            raise CellError(
                "is blank and so is max_share: the target sets no bound",
                "give min_share, max_share or both (fractions 0-1)",
                column="min_share",
            )
        if self.min_share is not None and self.max_share is not None and self.min_share > self.max_share:
            raise CellError(
                "is greater than max_share",
                "make min_share at most max_share",
                column="min_share",
            )
        if self.strength == "soft" and self.weight <= 0:
            raise CellError(
                "is not positive, but a soft target needs a penalty weight",
                "give a weight above 0 (penalty per candidate of shortfall), or make the target hard",
                column="weight",
            )
        if self.strength == "hard" and self.weight > 0:
            raise CellError(
                "is set on a hard target, which has no penalty",
                "leave weight blank for a hard target, or make it soft",
                column="weight",
            )
        return self


class PairRow(_Row):
    candidate_id: CandidateId
    host_id: HostId
    rule: Annotated[str, BeforeValidator(_code(("require", "forbid"), "pair rule"))]
    reason: Annotated[str, BeforeValidator(_optional_text)] = ""


class AnswerRow(_Row):
    """One candidate's answer to their offer (`placement offer import`): accept or decline, nothing else."""

    candidate_id: CandidateId
    response: Annotated[str, BeforeValidator(_code(("accept", "decline"), "response"))]


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ]00:00(?::00)?)?")
_DATE_FIX = "write the date as YYYY-MM-DD (ISO 8601), e.g. 2025-09-01"


def _iso_date(value: Any) -> _dt.date:
    """An ISO date (a spreadsheet's midnight time after it is tolerated); never a guessed 01/02/2025."""
    text = _text(value)
    if not text:
        raise CellError("is blank", _DATE_FIX)
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise CellError("is not an ISO date", _DATE_FIX + " (day/month order is ambiguous, so it is not guessed)")
    try:
        day = _dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError("is not a date that exists", _DATE_FIX) from None
    if day > _dt.date.today():
        raise CellError("is in the future", "outcomes record what has happened: correct the date")
    return day


def _band(value: Any) -> str | None:
    """An Agenda for Change band: 2-9 or 8a-8d ("Band 5", "8A" and a spreadsheet's 5.0 are read too)."""
    text = _text(value)
    if not text:
        return None
    key = text.casefold().removeprefix("band").strip()
    if _WHOLE.fullmatch(key):
        key = key.split(".")[0].lstrip("+")
    if key in AFC_BANDS:
        return key
    raise CellError("is not an Agenda for Change band", "write 2 to 9, or 8a to 8d (blank where not applicable)")


class OutcomeRow(_Row):
    """One event after placement: what became of a graduate (outcomes.csv)."""

    candidate_id: CandidateId
    # Blank: the cohort the import names (--cohort), else the only open cohort.
    cohort: Annotated[str | None, BeforeValidator(_optional_identifier)] = None
    date: Annotated[_dt.date, BeforeValidator(_iso_date)]
    event: Annotated[str, BeforeValidator(_code(OUTCOME_EVENTS, "outcome event"))]
    band: Annotated[str | None, BeforeValidator(_band)] = None
    reason: Annotated[str, BeforeValidator(_optional_text)] = ""

    @model_validator(mode="after")
    def _band_where_needed(self) -> OutcomeRow:
        if self.event == "promoted" and self.band is None:
            raise CellError(
                "is blank, but a promotion is to a band", "give the new band (2 to 9, or 8a to 8d)", column="band"
            )
        return self


# Canonical columns of each file kind: (required, optional), in the spec's order.
ROW_MODELS: dict[str, type[_Row]] = {
    "candidates": CandidateRow,
    "hosts": HostRow,
    "preferences": PreferenceRow,
    "host_rankings": HostRankingRow,
    "targets": TargetRow,
    "pairs": PairRow,
    "answers": AnswerRow,  # offer answers: read by `offer import`, not by `import`
    "outcomes": OutcomeRow,  # after placement: `import outcomes`, never part of `import dir`
}


def columns(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The canonical (required, optional) columns of a file kind, from its row model."""
    fields = ROW_MODELS[kind].model_fields
    required = tuple(name for name, f in fields.items() if f.is_required())
    optional = tuple(name for name, f in fields.items() if not f.is_required())
    return required, optional


# Columns whose values come from a fixed vocabulary: a mapping file may only map
# export spellings onto these values (checked when the mapping is loaded).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "sex": SEX_VALUES,
    "ethnic_category": tuple(ETHNIC_GROUP_OF_CODE),
    "disability": DISABILITY_VALUES,
    "career_changer": CAREER_CHANGER_VALUES,
    "willing_to_relocate": ("yes", "no"),
    "home_region": REGIONS,
    "region": REGIONS,
    "org_type": ORG_TYPES,
    "specialisms": SPECIALISMS,
    "attribute": TARGET_ATTRIBUTES,
    "strength": ("hard", "soft"),
    "rule": ("require", "forbid"),
    "response": ("accept", "decline"),
    "event": OUTCOME_EVENTS,
}
# Other header names a file may use for a canonical column, without a mapping file.
COLUMN_ALIASES: dict[str, dict[str, str]] = {"candidates": {"gender": "sex"}}


def _columns_of_type(*types: object) -> frozenset[str]:
    return frozenset(
        name for model in ROW_MODELS.values() for name, f in model.model_fields.items() if f.annotation in types
    )


# Columns holding numbers (a workbook's number cells are read as the number, not as
# formatted) and dates (a workbook's date cells are accepted only there).
NUMBER_COLUMNS = _columns_of_type(int, float, float | None)
DATE_COLUMNS = _columns_of_type(date, date | None)

# Columns holding a ';'-separated list: value mappings apply to each item too.
LIST_COLUMNS = frozenset({"specialisms"})
