"""Write the malformed-input corpus: one defect per file, and manifest.csv saying what each must report.

Run from the repository root to regenerate (the test checks the committed
files match this script byte for byte)::

    python tests/corpus/make_corpus.py

Every file is imported on top of the valid scheme in ``tests/corpus/base/``
with ``placement import <kind> FILE`` (offers: ``placement offer import FILE``;
mapping files: ``placement import candidates base/candidates.csv --mapping FILE``;
options: the file holds the arguments of ``placement ARGS...``, one per line;
capped: ``placement import KIND FILE --max-rows 100 --max-bytes 20000``, KIND from the name before ``__``); each must fail with a clear message
naming the file (and the row and column where there is one), and leave the
database byte-for-byte unchanged. Ids C001-C006 and RX1, RY2, RQ3, RW4 and the
target ``women-cohort`` are in the base scheme.

manifest.csv columns: kind, file (path under tests/corpus/), row (blank = a
problem with the whole file), column (blank = none), expect (a fragment the
message must contain), secret (a value the message must NOT contain: special
category values are never echoed).
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from anywhere: tests.xlsx_build importable

from tests.helpers.xlsx import Date, Num, Sheet, workbook  # noqa: E402

# The password of the password-protected workbook case (msoffcrypto-tool encrypts it).
WORKBOOK_PASSWORD = "placement"

CAND_HEADER = (
    "candidate_id,given_name,family_name,email,assessment_score,specialisms,home_region,"
    "willing_to_relocate,sex,ethnic_category,disability,career_changer,linked_with"
)
HOST_HEADER = "host_id,name,org_type,region,capacity,specialisms,min_score,min_placements"
TARGET_HEADER = "name,scope,attribute,value,min_share,max_share,strength,weight"


def cand(
    cid: str = "C101",
    given: str = "Mary",
    family: str = "Somerville",
    email: str | None = None,
    score: str = "70",
    spec: str = "data",
    region: str = "London",
    relocate: str = "yes",
    sex: str = "female",
    ethnic: str = "A",
    disability: str = "no",
    career: str = "no",
    linked: str = "",
) -> str:
    email = email if email is not None else f"{cid.lower().replace(' ', '')}@example.org"
    return ",".join([cid, given, family, email, score, spec, region, relocate, sex, ethnic, disability, career, linked])


def host(
    hid: str = "RZ9",
    name: str = "Somewhere Trust",
    org: str = "acute",
    region: str = "London",
    capacity: str = "2",
    spec: str = "data",
    min_score: str = "",
    min_placements: str = "",
) -> str:
    return ",".join([hid, name, org, region, capacity, spec, min_score, min_placements])


def target(
    name: str = "t-new",
    scope: str = "cohort",
    attribute: str = "sex",
    value: str = "female",
    lo: str = "0.3",
    hi: str = "",
    strength: str = "soft",
    weight: str = "3",
) -> str:
    return ",".join([name, scope, attribute, value, lo, hi, strength, weight])


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    data: bytes
    row: int | None
    column: str | None
    expect: str
    secret: str = ""
    encrypt: bool = False  # data is the plain workbook; the file on disk is it encrypted with WORKBOOK_PASSWORD

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.name}"


def _quoted(*cells: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue()


def cases() -> list[Case]:
    valid_cands = lines(CAND_HEADER, cand("C101"), cand("C102", given="Mary", family="Jackson"))
    huge = "x" * 5000
    csv_limit = "y" * 140_000  # past Python's csv field size limit (131,072)
    formula = '=HYPERLINK("http://x","y")'
    # One case a line: the table reads as a list of defects (the formatter would spread each over ten).
    # fmt: off
    c: list[Case] = [
        # ---- encodings, truncation, binary junk: the whole file is refused
        Case("candidates", "utf16.csv", valid_cands.decode().encode("utf-16"), None, None, "UTF-16"),
        Case("candidates", "utf16_be_no_bom.csv", valid_cands.decode().encode("utf-16-be"), None, None, "NUL bytes"),
        Case("candidates", "binary_junk.csv", bytes(range(256)) * 8, None, None, "binary"),
        Case("candidates", "xlsx_saved_as_csv.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), None, None, "Excel workbook"),
        Case("candidates", "gzip_junk.csv", b"\x1f\x8b\x08\x00" + bytes(range(1, 200)), None, None, "NUL bytes"),
        Case("candidates", "mixed_encodings.csv",
             lines(CAND_HEADER, cand("C101", given="Ren\u00e9e")) + cand("C102", given="Zo\u00e9").encode("cp1252") + b"\n",
             3, None, "mixes two text encodings"),
        Case("candidates", "control_chars.csv", lines(CAND_HEADER, cand("C101", given="Ma\x07ry")), 2, None, "control characters"),
        Case("candidates", "empty.csv", b"", None, None, "is empty"),
        Case("candidates", "blank_lines_only.csv", b"\n\r\n  \n", None, None, "is empty"),
        Case("candidates", "bom_only.csv", b"\xef\xbb\xbf", None, None, "no header row"),
        Case("candidates", "header_only.csv", lines(CAND_HEADER), None, None, "no data rows"),
        Case("candidates", "truncated_mid_row.csv", lines(CAND_HEADER, cand("C101"))[:-1] + b"\nC102,Mary,Jack", 3, "email", "is blank"),
        Case("candidates", "truncated_in_quotes.csv", lines(CAND_HEADER, cand("C101")) + b'C102,"Mary', 3, "email", "is blank"),
        Case("candidates", "missing_column.csv",
             lines(CAND_HEADER.replace(",email", ""), "C101,Mary,Somerville,70,data,London,yes,female,A,no,no,"),
             1, "email", "required column"),
        Case("candidates", "unknown_column.csv",
             lines(CAND_HEADER + ",favourite_colour", cand("C101") + ",blue"), 1, "favourite_colour", "not a column"),
        Case("candidates", "duplicate_column.csv",
             lines(CAND_HEADER + ",email", cand("C101") + ",x@example.org"), 1, "email", "gives email"),
        Case("candidates", "stray_cell.csv", lines(CAND_HEADER, cand("C101") + ",oops"), 2, None, "no name in the header"),
        Case("candidates", "huge_field.csv", lines(CAND_HEADER, cand("C101", given=huge)), 2, "given_name", "5000 characters"),
        Case("candidates", "huge_field_past_csv_limit.csv", lines(CAND_HEADER, cand("C101", given=csv_limit)), 2, None, "not valid CSV"),
        # ---- cells
        Case("candidates", "formula_id.csv",
             lines(CAND_HEADER, _quoted(formula, "Mary", "S", "m@example.org", "70", "data", "London", "yes", "", "", "", "", "")),
             2, "candidate_id", "formula"),
        Case("candidates", "formula_score.csv", lines(CAND_HEADER, cand("C101", score="=1+99")), 2, "assessment_score", "not a number"),
        Case("candidates", "score_out_of_range.csv", lines(CAND_HEADER, cand("C101", score="101")), 2, "assessment_score", "outside the range"),
        Case("candidates", "score_not_number.csv", lines(CAND_HEADER, cand("C101", score="seventy")), 2, "assessment_score", "not a number"),
        Case("candidates", "score_nan.csv", lines(CAND_HEADER, cand("C101", score="nan")), 2, "assessment_score", "not a number"),
        Case("candidates", "bad_email.csv", lines(CAND_HEADER, cand("C101", email="mary at example")), 2, "email", "not an email"),
        Case("candidates", "unknown_region.csv", lines(CAND_HEADER, cand("C101", region="Wales")), 2, "home_region", "not a recognised"),
        Case("candidates", "bad_specialism.csv", lines(CAND_HEADER, cand("C101", spec="data;cyber")), 2, "specialisms", "not a specialism"),
        Case("candidates", "bad_relocate.csv", lines(CAND_HEADER, cand("C101", relocate="maybe")), 2, "willing_to_relocate", "not a recognised"),
        Case("candidates", "bad_ethnic_code.csv", lines(CAND_HEADER, cand("C101", ethnic="QX7")), 2, "ethnic_category",
             "not a recognised", secret="QX7"),
        Case("candidates", "bad_disability.csv", lines(CAND_HEADER, cand("C101", disability="DISAB-SECRET")), 2, "disability",
             "not a recognised", secret="DISAB-SECRET"),
        # ---- ids: duplicates differing only in case or blanks, links
        Case("candidates", "duplicate_id_case.csv", lines(CAND_HEADER, cand("C101"), cand("c101", email="other@example.org")),
             3, "candidate_id", "only in letter case or blanks"),
        Case("candidates", "duplicate_id_blanks.csv", lines(CAND_HEADER, cand("C102"), cand("C 102", email="other@example.org")),
             3, "candidate_id", "only in letter case or blanks"),
        Case("candidates", "duplicate_id_exact.csv", lines(CAND_HEADER, cand("C101"), cand("C101", email="other@example.org")),
             3, "candidate_id", "repeats"),
        Case("candidates", "near_twin_of_stored_id.csv", lines(CAND_HEADER, cand("c001")), 2, "candidate_id", "already in the database"),
        Case("candidates", "duplicate_email_case.csv",
             lines(CAND_HEADER, cand("C101", email="Same@Example.org"), cand("C102", email="same@example.org")),
             3, "email", "also the email"),
        Case("candidates", "link_one_sided.csv", lines(CAND_HEADER, cand("C101", linked="C102"), cand("C102")),
             2, "linked_with", "one-sided"),
        Case("candidates", "link_circular.csv",
             lines(CAND_HEADER, cand("C101", linked="C102"), cand("C102", linked="C103"), cand("C103", linked="C101")),
             2, "linked_with", "one-sided"),
        Case("candidates", "link_self.csv", lines(CAND_HEADER, cand("C101", linked="C101")), 2, "linked_with", "themself"),
        Case("candidates", "link_unknown.csv", lines(CAND_HEADER, cand("C101", linked="C999")), 2, "linked_with", "names no candidate"),
        Case("candidates", "link_breaks_stored_pair.csv", lines(CAND_HEADER, cand("C101", linked="C003")), 2, "linked_with", "one-sided"),
        # ---- terminal escapes, C1 controls and bidi overrides in names and ids: refused at import (issue 17)
        Case("candidates", "escape_in_family_name.csv", lines(CAND_HEADER, cand("C101", family="Evil\x1b]0;PWNED\x07")),
             2, None, "control characters"),
        Case("candidates", "c1_control_in_given_name.csv", lines(CAND_HEADER, cand("C101", given="Ma\u009bry")),
             2, "given_name", "control character"),
        Case("candidates", "bidi_override_in_email.csv", lines(CAND_HEADER, cand("C101", email="mary\u202egro.elpmaxe@x.org")),
             2, "email", "control character"),
        Case("candidates", "bidi_isolate_in_id.csv", lines(CAND_HEADER, cand("C1\u206601")), 2, "candidate_id", "control character"),
        Case("hosts", "bidi_override_in_name.csv", lines(HOST_HEADER, host(name="Trust\u202elive")), 2, "name", "control character"),
        Case("hosts", "c1_control_in_id.csv", lines(HOST_HEADER, host("RZ\u00859")), 2, "host_id", "control character"),
        Case("targets", "bidi_override_in_name.csv", lines(TARGET_HEADER, target(name="women\u202e")), 2, "name", "control character"),
        Case("pairs", "c1_control_in_reason.csv", lines("candidate_id,host_id,rule,reason", "C001,RX1,forbid,agr\u0085eed"),
             2, "reason", "control character"),
        Case("preferences", "bidi_mark_in_candidate_id.csv", lines("candidate_id,host_id,rank", "C001\u200f,RX1,1"),
             2, "candidate_id", "control character"),
        Case("offers", "escape_in_candidate_id.csv", lines("candidate_id,response", "C001\x1b[31m,accept"), 2, None,
             "control characters"),
        # ---- unicode look-alikes and invisible characters in ids and emails (issue 17)
        Case("candidates", "fullwidth_twin_of_stored_id.csv", lines(CAND_HEADER, cand("\uff23001")), 2, "candidate_id",
             "already in the database"),
        Case("candidates", "nfd_twin_in_file.csv",
             lines(CAND_HEADER, cand("CAF\u00c9-1"), cand("CAFE\u0301-1", email="other@example.org")),
             3, "candidate_id", "only in letter case or blanks"),
        Case("candidates", "zero_width_space_in_id.csv", lines(CAND_HEADER, cand("C001\u200b")), 2, "candidate_id",
             "invisible character"),
        Case("candidates", "zero_width_joiner_in_email.csv", lines(CAND_HEADER, cand("C101", email="ma\u200dry@example.org")),
             2, "email", "invisible character"),
        Case("candidates", "fullwidth_email_twin.csv",
             lines(CAND_HEADER, cand("C101", email="mary@example.org"), cand("C102", email="\uff4dary@example.org")),
             3, "email", "also the email"),
        Case("hosts", "fullwidth_twin_of_stored_id.csv", lines(HOST_HEADER, host("\uff32X1")), 2, "host_id",
             "already in the database"),
        Case("preferences", "soft_hyphen_in_host_id.csv", lines("candidate_id,host_id,rank", "C001,RX\u00ad1,1"),
             2, "host_id", "invisible character"),
        # ---- hosts
        Case("hosts", "negative_capacity.csv", lines(HOST_HEADER, host(capacity="-2")), 2, "capacity", "less than 0"),
        Case("hosts", "capacity_not_integer.csv", lines(HOST_HEADER, host(capacity="2.5")), 2, "capacity", "not a whole number"),
        Case("hosts", "capacity_huge_number.csv", lines(HOST_HEADER, host(capacity="9" * 400)), 2, "capacity", "capacity"),
        Case("hosts", "min_placements_over_capacity.csv", lines(HOST_HEADER, host(capacity="1", min_placements="3")),
             2, "min_placements", "more than the host's capacity"),
        Case("hosts", "min_score_out_of_range.csv", lines(HOST_HEADER, host(min_score="150")), 2, "min_score", "outside the range"),
        Case("hosts", "unknown_region.csv", lines(HOST_HEADER, host(region="Narnia")), 2, "region", "not a recognised"),
        Case("hosts", "bad_org_type.csv", lines(HOST_HEADER, host(org="hospital")), 2, "org_type", "not a recognised"),
        Case("hosts", "duplicate_id_case.csv", lines(HOST_HEADER, host("RZ9"), host("rz9")), 3, "host_id", "only in letter case"),
        Case("hosts", "id_too_long.csv", lines(HOST_HEADER, host("R" * 101)), 2, "host_id", "longer than 100"),
        Case("hosts", "bar_delimited.csv", lines(HOST_HEADER.replace(",", "|"), host().replace(",", "|")),
             1, None, "--delimiter"),
        Case("hosts", "delimiter_ambiguous.csv", lines("Code;Title,Type;Area", "RZ9;A,acute;London"),
             1, None, "--delimiter"),
        Case("hosts", "formula_id.csv", lines(HOST_HEADER, host("+RZ9")), 2, "host_id", "formula"),
        Case("hosts", "windows1252_with_junk_bytes.csv",
             lines(HOST_HEADER) + host(name="St Mary\u2019s").encode("cp1252") + b"\x81\x8d\n", 2, None, "neither UTF-8 nor Windows-1252"),
        # ---- preferences
        Case("preferences", "rank_not_integer.csv", lines("candidate_id,host_id,rank", "C001,RY2,1.5"), 2, "rank", "not a whole number"),
        Case("preferences", "rank_text.csv", lines("candidate_id,host_id,rank", "C001,RY2,first"), 2, "rank", "not a whole number"),
        Case("preferences", "rank_zero.csv", lines("candidate_id,host_id,rank", "C001,RY2,0"), 2, "rank", "less than 1"),
        Case("preferences", "rank_negative.csv", lines("candidate_id,host_id,rank", "C001,RY2,-3"), 2, "rank", "less than 1"),
        Case("preferences", "rank_huge.csv", lines("candidate_id,host_id,rank", "C001,RY2,99999999999999999999"), 2, "rank", "rank"),
        Case("preferences", "rank_formula.csv", lines("candidate_id,host_id,rank", "C001,RY2,=1+1"), 2, "rank", "not a whole number"),
        Case("preferences", "duplicate_rank.csv", lines("candidate_id,host_id,rank", "C001,RY2,1", "C001,RW4,1"), 3, "rank", "rank on row 2 too"),
        Case("preferences", "duplicate_pair.csv", lines("candidate_id,host_id,rank", "C001,RY2,1", "C001,RY2,2"), 3, "host_id", "already on row 2"),
        Case("preferences", "unknown_candidate.csv", lines("candidate_id,host_id,rank", "C999,RX1,1"), 2, "candidate_id", "not a candidate"),
        Case("preferences", "unknown_host_case.csv", lines("candidate_id,host_id,rank", "C001,rx1,1"), 2, "host_id", "did you mean 'RX1'"),
        Case("preferences", "missing_rank_column.csv", lines("candidate_id,host_id", "C001,RX1"), 1, "rank", "required column"),
        # ---- host rankings
        Case("host_rankings", "rank_float.csv", lines("host_id,candidate_id,rank", "RX1,C002,2.7"), 2, "rank", "not a whole number"),
        Case("host_rankings", "unknown_candidate_blanks.csv", lines("host_id,candidate_id,rank", "RX1,C 002,1"), 2, "candidate_id", "did you mean 'C002'"),
        Case("host_rankings", "duplicate_pair.csv", lines("host_id,candidate_id,rank", "RY2,C002,1", "RY2,C002,1"), 3, "candidate_id", "already on row 2"),
        # ---- targets
        Case("targets", "min_share_over_max_share.csv", lines(TARGET_HEADER, target(lo="0.6", hi="0.4")), 2, "min_share", "greater than max_share"),
        Case("targets", "scope_unknown_host.csv", lines(TARGET_HEADER, target(scope="host=NOPE")), 2, "scope", "not a host"),
        Case("targets", "scope_unknown_region.csv", lines(TARGET_HEADER, target(scope="region=Atlantis")), 2, "scope", "unknown region"),
        Case("targets", "scope_garbage.csv", lines(TARGET_HEADER, target(scope="everyone")), 2, "scope", "not a valid scope"),
        Case("targets", "share_percent.csv", lines(TARGET_HEADER, target(lo="40%")), 2, "min_share", "fraction"),
        Case("targets", "share_over_one.csv", lines(TARGET_HEADER, target(lo="1.5")), 2, "min_share", "outside the range"),
        Case("targets", "unknown_attribute.csv", lines(TARGET_HEADER, target(attribute="religion")), 2, "attribute", "not a recognised"),
        Case("targets", "bad_value.csv", lines(TARGET_HEADER, target(value="unicorn")), 2, "value", "not a value of sex"),
        Case("targets", "soft_without_weight.csv", lines(TARGET_HEADER, target(weight="")), 2, "weight", "soft target needs"),
        Case("targets", "no_bounds.csv", lines(TARGET_HEADER, target(lo="", hi="")), 2, "min_share", "sets no bound"),
        Case("targets", "name_near_twin_of_stored.csv", lines(TARGET_HEADER, target(name="Women-Cohort")), 2, "name", "already in the database"),
        # ---- pairs
        Case("pairs", "two_requires.csv",
             lines("candidate_id,host_id,rule,reason", "C001,RX1,require,agreed", "C001,RQ3,require,agreed too"), 2, "rule", "required at 2 hosts"),
        Case("pairs", "bad_rule.csv", lines("candidate_id,host_id,rule,reason", "C001,RX1,prefer,"), 2, "rule", "not a recognised"),
        Case("pairs", "unknown_host.csv", lines("candidate_id,host_id,rule,reason", "C001,ZZZ,forbid,x"), 2, "host_id", "not a host"),
        # ---- offer answers (`placement offer import FILE`: candidate_id, response)
        Case("offers", "bad_response.csv", lines("candidate_id,response", "C001,maybe"), 2, "response", "not a recognised response"),
        Case("offers", "missing_column.csv", lines("candidate_id,answer", "C001,accept"), 1, "response", "required column"),
        Case("offers", "empty.csv", b"", None, None, "is empty"),
        Case("offers", "windows1252.csv", b"candidate_id,response\nC001,acc\xe9pt\n", 2, "response", "not a recognised response"),
        Case("offers", "utf16.csv", "candidate_id,response\nC001,accept\n".encode("utf-16"), None, None, "UTF-16"),
        Case("offers", "huge_field.csv", lines("candidate_id,response", "C001," + csv_limit), 2, None, "not valid CSV"),
        # ---- numeric options (`placement ARGS...`, one argument per line): refused where typed, nothing stored
        *[Case("options", f"{name}.args", ("\n".join(args) + "\n").encode(), None, option, "Invalid value")
          for name, option, args in (
              ("solve_time_limit_inf", "--time-limit", ["solve", "--time-limit", "inf"]),
              ("solve_time_limit_nan", "--time-limit", ["solve", "--time-limit", "nan"]),
              ("solve_time_limit_negative", "--time-limit", ["solve", "--time-limit", "-5"]),
              ("solve_time_limit_zero", "--time-limit", ["solve", "--time-limit", "0"]),
              ("solve_weight_nan", "--min-placement-weight", ["solve", "--min-placement-weight", "nan"]),
              ("solve_weight_infinity", "--min-placement-weight", ["solve", "--min-placement-weight", "Infinity"]),
              ("solve_weight_negative", "--min-placement-weight", ["solve", "--min-placement-weight", "-1"]),
              ("solve_workers_negative", "--workers", ["solve", "--workers", "-3"]),
              ("solve_workers_zero", "--workers", ["solve", "--workers", "0"]),
              ("explain_time_limit_inf", "--time-limit", ["explain", "C001", "--time-limit", "inf"]),
              ("round_show_number_past_int32", "NUMBER", ["round", "show", "99999999999"]),
              ("export_round_zero", "NUMBER", ["export", "0"]),
              ("audit_round_past_int32", "NUMBER", ["audit", "3000000000"]),
          )],
        # ---- never echo stated gender, nor a special category answer that shifted into another column (issue 17)
        Case("candidates", "bad_sex_value.csv", lines(CAND_HEADER, cand("C101", sex="TRANS-SECRET")), 2, "sex",
             "not a recognised", secret="TRANS-SECRET"),
        Case("candidates", "shifted_columns_disability_under_career_changer.csv",
             lines(CAND_HEADER, "C101,Mary,Somerville,c101@example.org,70,data,London,yes,female,A,no,not_stated,"),
             2, None, "career_changer", secret="'not_stated'"),
        Case("mappings", "sex_value_to_unknown.toml", b'[candidates.values.sex]\n"SECRET-G" = "maybe"\n', None, None,
             "not a canonical sex", secret="SECRET-G"),
        # ---- files past the import's caps (`placement import KIND FILE --max-rows 100 --max-bytes 20000`,
        #      KIND = the file name's part before "__"): refused before they are read whole
        Case("capped", "preferences__500_rows_past_100.csv",
             lines("candidate_id,host_id,rank", *(f"C00{1 + i % 6},RX1,{1 + i}" for i in range(500))),
             102, None, "past the 100 data rows"),
        Case("capped", "candidates__30kb_past_20kb.csv",
             lines(CAND_HEADER, *(cand(f"C{300 + i}", family="F" * 150) for i in range(150))),
             None, None, "more than the 20,000 bytes"),
        *workbook_cases(),
        # ---- mapping files (`placement import candidates base/candidates.csv --mapping FILE`)
        Case("mappings", "invalid_toml.toml", b"[candidates\ncolumns = \n", None, None, "not valid TOML"),
        Case("mappings", "unknown_canonical_column.toml", b'[candidates.columns]\n"Ref" = "candidate_ref"\n', None, None,
             "not a column of candidates"),
        Case("mappings", "unknown_kind.toml", b'[students]\nfile = "x.csv"\n', None, None, "not a file kind"),
        Case("mappings", "value_to_unknown_code.toml", b'[candidates.values.ethnic_category]\n"SECRET-W" = "W"\n', None, None,
             "not a canonical ethnic_category", secret="SECRET-W"),
        Case("mappings", "value_to_unknown_disability.toml", b'[candidates.values.disability]\n"SECRET-D" = "maybe"\n', None,
             None, "not a canonical disability", secret="SECRET-D"),
        Case("mappings", "binary_junk.toml", bytes(range(256)), None, None, "UTF-8"),
        Case("mappings", "utf16.toml", '[candidates]\nfile = "c.csv"\n'.encode("utf-16"), None, None, "UTF-8"),
    ]
    # fmt: on
    return c


def workbook_cases() -> list[Case]:
    """Workbooks as coordinators send them, each with one defect (imported without --sheet)."""
    header = CAND_HEADER.split(",")

    def sheet_rows(*rows: str) -> list[list[object]]:
        return [header] + [[c or None for c in r.split(",")] for r in rows]

    prefs_header = ["candidate_id", "host_id", "rank"]
    merged = [["candidate_id", "name", None, *header[3:]], ["C101", "Mary", "Somerville", *cand("C101").split(",")[3:]]]
    date_id = sheet_rows(cand("C101"))
    date_id[1][0] = Date(__import__("datetime").date(2026, 1, 5))
    # One case a line: the table reads as a list of defects (the formatter would spread each over ten).
    # fmt: off
    cases = [
        Case("candidates", "wrong_sheet.xlsx", workbook([
            Sheet("Read me", [["Applicant export, 2026 intake"], ["Candidates are on the next sheet"]]),
            Sheet("Candidates", sheet_rows(cand("C101")))]), 1, None, "looks like the wrong sheet"),
        Case("candidates", "merged_header.xlsx", workbook([Sheet("Candidates", merged, merged=["B1:C1"])]),
             1, None, "merged header cells (B1:C1)"),
        Case("hosts", "numbers_stored_as_text.xlsx", workbook([Sheet("Hosts", [
            HOST_HEADER.split(","), ["RZ9", "Somewhere Trust", "acute", "London", "1,200", "data"]])]),
            2, "capacity", "not a whole number"),
        Case("preferences", "leading_zero_id_lost.xlsx", workbook([Sheet("Preferences", [
            prefs_header, ["C001", "RX1", 1], [Num(1, "General"), "RX1", 1]])]), 3, "candidate_id", "not a candidate"),
        Case("candidates", "date_in_id_column.xlsx", workbook([Sheet("Candidates", date_id)]), 2, "candidate_id",
             "is a date in the workbook"),
        Case("candidates", "empty_sheet.xlsx", workbook([Sheet("Candidates", [])]), None, None, "is an empty sheet"),
        Case("candidates", "password_protected.xlsx", workbook([Sheet("Candidates", sheet_rows(cand("C101")))]),
             None, None, "protected with a password", encrypt=True),
        Case("candidates", "macro_workbook.xlsm", workbook([Sheet("Menu", [["Click Import to refresh"]]),
                                                            Sheet("Candidates", sheet_rows(cand("C101")))], macros=True),
             None, None, "macro-enabled"),
        Case("candidates", "gender_not_a_code.xlsx", workbook([Sheet("Candidates", sheet_rows(
            cand("C101", sex="SECRET-GENDER")))]), 2, "sex", "not a recognised gender identity code",
            secret="SECRET-GENDER"),
    ]
    # fmt: on
    return cases


def encrypted(plain: bytes, committed: Path | None = None) -> bytes:
    """``plain`` encrypted with WORKBOOK_PASSWORD; the committed file if it already is that (the salt is random)."""
    import io

    from msoffcrypto import OfficeFile
    from msoffcrypto.format.ooxml import OOXMLFile

    if committed is not None and committed.is_file():
        try:
            office = OfficeFile(io.BytesIO(committed.read_bytes()))
            office.load_key(password=WORKBOOK_PASSWORD)
            out = io.BytesIO()
            office.decrypt(out)
            if out.getvalue() == plain:
                return committed.read_bytes()
        except Exception:  # noqa: BLE001 - not the same file: encrypt afresh
            pass
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(WORKBOOK_PASSWORD, out)
    return out.getvalue()


def write(root: Path = HERE) -> list[Case]:
    all_cases = cases()
    names = [case.path for case in all_cases]
    assert len(names) == len(set(names)), "corpus file names must be unique"
    for case in all_cases:
        path = root / case.path
        path.parent.mkdir(parents=True, exist_ok=True)
        data = encrypted(case.data, HERE / case.path) if case.encrypt else case.data
        path.write_bytes(data)
    with (root / "manifest.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["kind", "file", "row", "column", "expect", "secret"])
        for case in all_cases:
            w.writerow([case.kind, case.path, case.row or "", case.column or "", case.expect, case.secret])
    return all_cases


if __name__ == "__main__":
    out = write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"wrote {len(out)} corpus files and manifest.csv")
