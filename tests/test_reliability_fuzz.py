"""Fuzzing the CSV readers: any input either imports or raises the project's own error, never a traceback.

Two generators: raw bytes (behind a valid header, so the reader gets past it
and into the rows), and structured-ish CSV text built from cells that are
nearly right (ids differing in case or blanks, codes misspelt, formulas,
numbers out of range, quotes, line breaks, long text) in several encodings.
Each example runs the real import (``import_file``) on a database holding the
base scheme; when it fails, the database dump must be unchanged.

Examples are bounded so the module runs in well under a minute; the counts are
in FUZZ_EXAMPLES.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from placement.db.migrate import upgrade
from placement.db.session import make_engine
from placement.domain import ETHNIC_GROUP_OF_CODE, ORG_TYPES, REGIONS, SPECIALISMS
from placement.errors import PlacementError
from placement.ingest import KINDS, import_dir, import_file
from placement.schemas import columns

BASE = Path(__file__).resolve().parent / "corpus" / "base"
FUZZ_EXAMPLES = {"bytes": 200, "structured": 350}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "placement.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    import_dir(engine, BASE)
    yield engine, path, folder
    engine.dispose()


def dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def run_import(db, kind: str, data: bytes) -> None:
    """Import ``data`` as a ``kind`` file: success or PlacementError (with nothing written); anything else fails."""
    engine, path, folder = db
    file = folder / f"{kind}.csv"
    file.write_bytes(data)
    before = dump(path)
    try:
        import_file(engine, kind, file)
    except PlacementError as exc:
        event(f"refused: {type(exc).__name__}")
        assert str(exc).strip(), "an error with no message"
        assert dump(path) == before, "a refused import changed the database"
    else:
        event("imported")


def header(kind: str) -> str:
    required, optional = columns(kind)
    return ",".join(required + optional)


# ------------------------------------------------------------------ raw bytes


@settings(max_examples=FUZZ_EXAMPLES["bytes"], deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), body=st.binary(max_size=600), with_header=st.booleans())
def test_fuzz_bytes(db, kind, body, with_header):
    data = (header(kind).encode() + b"\n" + body) if with_header else body
    run_import(db, kind, data)


# ------------------------------------------------------------ structured-ish text

IDS = [
    "C001",
    "c001",
    "C 001",
    "C002",
    "C003",
    "C004",
    "C101",
    "C102",
    " C101 ",
    "RX1",
    "rx1",
    "RY2",
    "RQ3",
    "RW4",
    "RZ9",
]
FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "=1+1", "\t=cmd", "\r=cmd"]
VOCAB = (
    list(REGIONS)
    + list(ORG_TYPES)
    + list(SPECIALISMS)
    + list(ETHNIC_GROUP_OF_CODE)
    + [
        "yes",
        "no",
        "YES",
        "female",
        "male",
        "not_stated",
        "not_known",
        "cohort",
        "region=London",
        "region=*",
        "org_type=*",
        "host=RX1",
        "host=NOPE",
        "region=Wales",
        "sex",
        "ethnic_group",
        "minority_ethnic",
        "disability",
        "career_changer",
        "home_region",
        "hard",
        "soft",
        "require",
        "forbid",
        "data;digital",
        "data; technology",
        "Data",
        "london",
        "I",
        "O",
        "Q",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-5, max_value=200).map(str),
    st.integers(min_value=0, max_value=10**30).map(str),  # past every database's INTEGER range too
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0.4", "40%", "0,5", "1e3", "1e400", "", " 3 ", "1.0", "2.5", "nan", "inf", "-0"]),
)
CELLS = st.one_of(
    st.sampled_from(IDS),
    st.sampled_from(VOCAB),
    st.sampled_from(FORMULAS),
    NUMBERS,
    st.emails().filter(lambda e: len(e) < 80),
    st.text(max_size=30),
    st.text(alphabet=st.sampled_from('",\n\r; ab\u00e9\u2019'), max_size=12),
    st.just("x" * 1200),
    st.just(""),
)


NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20).filter(str.strip)
# Nearly-valid values per canonical column, so that many files get past validation and are written.
VALID = {
    "candidate_id": st.sampled_from(["C001", "C002", "C003", "C004", "C005", "C006"]),
    "host_id": st.sampled_from(["RX1", "RY2", "RQ3", "RW4"]),
    "given_name": st.one_of(NAMES, st.sampled_from(FORMULAS)),
    "family_name": NAMES,
    "name": st.one_of(NAMES, st.sampled_from(["t-a", "t-b", "women-cohort"])),
    "email": st.emails().filter(lambda e: len(e) < 80),
    "assessment_score": st.integers(0, 100).map(str),
    "specialisms": st.sampled_from(["data", "digital;technology", "Data ; digital"]),
    "home_region": st.sampled_from(REGIONS),
    "region": st.sampled_from(REGIONS),
    "willing_to_relocate": st.sampled_from(["yes", "no"]),
    "rank": st.integers(1, 12).map(str),
    "capacity": st.integers(0, 5).map(str),
    "org_type": st.sampled_from(ORG_TYPES),
    "rule": st.sampled_from(["forbid", "require"]),
    "scope": st.sampled_from(["cohort", "region=*", "host=RX1"]),
    "attribute": st.just("sex"),
    "value": st.just("female"),
    "min_share": st.sampled_from(["0.3", ""]),
    "strength": st.just("soft"),
    "weight": st.just("2"),
}


@st.composite
def structured_file(draw):
    kind = draw(st.sampled_from(KINDS))
    required, optional = columns(kind)
    cols = list(required) + draw(st.lists(st.sampled_from(optional), unique=True)) if optional else list(required)
    # Candidates files add new people (C101...) or update ones not in a linked pair.
    if kind == "candidates":
        VALID_LOCAL = {**VALID, "candidate_id": st.sampled_from(["C001", "C002", "C005", "C101", "C102"])}
    else:
        VALID_LOCAL = VALID
    # Sometimes drop a required column, add a stranger, or shuffle the order.
    if draw(st.integers(0, 9)) == 0:
        cols.pop(draw(st.integers(0, len(cols) - 1)))
    if draw(st.integers(0, 9)) == 0:
        cols.append(draw(st.sampled_from(["notes", "", "Candidate ID", "email", "=cmd"])))
    cols = draw(st.permutations(cols))
    n_rows = draw(st.integers(0, 6))
    # Percent of cells replaced by junk: a clean file, a slightly messy one, a mess.
    noise = draw(st.sampled_from([0, 0, 5, 40]))

    def cell(column: str) -> str:
        nearly = VALID_LOCAL.get(column)
        return draw(nearly) if nearly is not None and draw(st.integers(0, 99)) >= noise else draw(CELLS)

    rows = []
    for _ in range(n_rows):
        row = [cell(c) for c in cols]
        extra = draw(st.sampled_from([0, 0, 0, -1, 1])) if noise else 0
        rows.append(row[:extra] if extra < 0 else row + [draw(CELLS) for _ in range(extra)])
    buf = io.StringIO()
    csv.writer(buf, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([cols, *rows])
    text = buf.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    return kind, text.encode(encoding, errors="replace")


@settings(max_examples=FUZZ_EXAMPLES["structured"], deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=structured_file())
def test_fuzz_structured_csv(db, case):
    kind, data = case
    run_import(db, kind, data)


def test_structured_generator_reaches_the_writes(db):
    """The structured fuzz is only worth its time if some of its files pass validation and get written."""
    from hypothesis import find

    engine, _, folder = db

    def imports(case) -> bool:
        kind, data = case
        file = folder / f"probe-{kind}.csv"
        file.write_bytes(data)
        try:
            return import_file(engine, kind, file, dry_run=True).rows > 0
        except PlacementError:
            return False

    kind, _ = find(structured_file(), imports, settings=settings(max_examples=300, database=None))
    assert kind in KINDS
