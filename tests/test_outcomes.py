"""Outcomes: the import (rows, cohorts, stories, all or nothing), the measures, and the outcome audit.

The audit test is the issue's: on a generated three-cohort scheme with
outcomes, the relative likelihood of retention by minority ethnic group (and
its Fisher p) equals a recomputation from the raw files — written here
independently with pandas — in each cohort and pooled.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import fisher_exact

from placement.audit.outcome_audit import audit_outcomes, write_outcome_report
from placement.audit.outcome_metrics import Event, add_months, course
from placement.cli import cli
from placement.cohorts import close_cohort, create_cohort
from placement.errors import InputError
from placement.generate import generate_scheme
from placement.generate_outcomes import generate_outcomes, read_candidates, write_outcomes
from placement.ingest import import_dir, import_file
from tests.helpers.ingest import dump

BASE = Path(__file__).resolve().parent / "corpus" / "base"
HEADER = "candidate_id,cohort,date,event,band,reason\n"


def write(path: Path, body: str) -> Path:
    path.write_text(HEADER + body)
    return path


# --- Measures ------------------------------------------------------------------------------------


def ev(event: str, on: str, band: str | None = None) -> Event:
    return Event(event, date.fromisoformat(on), band)


AS_OF = date(2026, 12, 1)


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(date(2024, 9, 3), 12) == date(2025, 9, 3)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # still in the scheme at both dates
        # (24 months on, no completion recorded: not completed yet)
        (
            [ev("started", "2024-09-01", "5")],
            {"retained_12": True, "retained_24": True, "completed": False, "band_7": False},
        ),
        # left at 6 months: out at 12 and 24; completion decided: not completed
        (
            [ev("started", "2024-09-01", "5"), ev("left", "2025-03-01")],
            {"retained_12": False, "retained_24": False, "completed": False, "band_7": False},
        ),
        # completed on the 24-month day itself: still in the scheme that day
        (
            [ev("started", "2024-09-01", "5"), ev("completed", "2026-09-01", "5")],
            {"retained_12": True, "retained_24": True, "completed": True, "band_7": False},
        ),
        # left early but took an NHS post before the 12-month day
        (
            [ev("started", "2024-09-01", "5"), ev("left", "2025-02-01"), ev("employed", "2025-06-01", "6")],
            {"retained_12": True, "retained_24": True, "completed": False, "band_7": False},
        ),
        # completed at 23 months, no post by 24: not retained at 24; band 8a counts as band 7 or above
        (
            [ev("started", "2024-09-01", "5"), ev("completed", "2026-08-01", "5"), ev("promoted", "2026-11-01", "8a")],
            {"retained_12": True, "retained_24": False, "completed": True, "band_7": True},
        ),
        # started less than 12 months before the audit date: retention not yet due
        (
            [ev("started", "2026-01-10", "5")],
            {"retained_12": None, "retained_24": None, "completed": None, "band_7": False},
        ),
        # events after the audit date are not yet known
        (
            [ev("started", "2025-09-01", "5"), ev("left", "2027-01-01")],
            {"retained_12": True, "retained_24": None, "completed": None, "band_7": False},
        ),
    ],
)
def test_course_measures(events, expected) -> None:
    assert course(events, AS_OF).measures == expected


def test_band_at_start_latest_band_and_months_in_the_scheme() -> None:
    c = course([ev("started", "2024-09-01", "5"), ev("left", "2025-03-02"), ev("employed", "2025-05-01", "6")], AS_OF)
    assert (c.band_start, c.band_latest, c.months_in_scheme) == ("5", "6", 6.0)


# --- Import --------------------------------------------------------------------------------------


@pytest.fixture
def two_cohorts(engine):
    """Cohort `default` (closed) and `2027`, both holding the base candidates."""
    import_dir(engine, BASE)
    create_cohort(engine, "2027")
    import_file(engine, "candidates", BASE / "candidates.csv", cohort="2027")
    close_cohort(engine, "default")
    return engine


def test_a_file_covering_two_cohorts_imports_into_each_even_a_closed_one(two_cohorts, tmp_path: Path) -> None:
    f = write(
        tmp_path / "outcomes.csv",
        "C001,default,2024-09-02,started,5,\n"
        "C001,default,2025-01-15,left,,relocated\n"
        "C001,2027,2025-09-01,Started,Band 5,\n"
        "C002,,2025-09-01,started,5,\n",
    )  # blank: the only open cohort, 2027
    report = import_file(two_cohorts, "outcomes", f)
    assert (report.rows, report.added, report.cohort) == (4, 4, "2027, default")
    assert import_file(two_cohorts, "outcomes", f).skipped_same_file
    # The file is each named graduate's whole story: an event no longer in it is removed.
    f2 = write(tmp_path / "outcomes2.csv", "C001,default,2024-09-02,started,5,\n")
    again = import_file(two_cohorts, "outcomes", f2)
    assert (again.unchanged, again.removed) == (1, 1)
    a = audit_outcomes(two_cohorts, ["default", "2027"], as_of=date(2026, 12, 1))
    assert [s["scheme_wide"]["graduates"] for s in a["scopes"]] == [1, 2, 3]


def test_an_outcomes_report_says_how_the_file_was_read_as_other_imports_do(two_cohorts, tmp_path: Path) -> None:
    # One constructor (ImportReport.of) for every file's report: a semicolon-separated export is named as such.
    f = write(tmp_path / "outcomes.csv", "C001,2027,2025-09-01,started,5,\n")
    f.write_text(f.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    report = import_file(two_cohorts, "outcomes", f)
    assert (report.kind, report.rows, report.added) == ("outcomes", 1, 1)
    assert report.source == "separated by semicolons"


@pytest.mark.parametrize(
    ("body", "column", "words"),
    [
        ("C001,2026,2025-09-01,started,5,\n", "cohort", "is not a cohort in the database"),
        ("C999,2027,2025-09-01,started,5,\n", "candidate_id", "is not a candidate of cohort 2027"),
        ("C001,2027,01/09/2025,started,5,\n", "date", "is not an ISO date"),
        ("C001,2027,2099-09-01,started,5,\n", "date", "is in the future"),
        ("C001,2027,2025-09-01,started,Band 10,\n", "band", "is not an Agenda for Change band"),
        ("C001,2027,2025-09-01,joined,5,\n", "event", "is not a recognised outcome event"),
        ("C001,2027,2025-09-01,started,5,\nC001,2027,2026-01-01,promoted,,\n", "band", "a promotion is to a band"),
        ("C001,2027,2025-09-01,left,,\n", "event", "has no 'started' row"),
        ("C001,2027,2025-09-01,started,5,\nC001,2027,2025-08-01,left,,\n", "date", "before C001 started"),
        ("C001,2027,2025-09-01,started,5,\nC001,2027,2025-09-01,started,5,\n", "event", "repeats C001's started"),
        (
            "C001,2027,2025-09-01,started,5,\nC001,2027,2026-01-01,left,,\nC001,2027,2027-09-01,completed,5,\n",
            "event",
            "both completed the scheme and left",
        ),
    ],
)
def test_bad_rows_are_reported_with_row_column_and_fix_and_nothing_is_written(
    two_cohorts, tmp_path: Path, body: str, column: str, words: str
) -> None:
    if "2027-09-01" in body:  # the completion date must be in the past for this case
        body = body.replace("2027-09-01", "2026-09-01")
    before = dump(two_cohorts)
    with pytest.raises(InputError) as excinfo:
        import_file(two_cohorts, "outcomes", write(tmp_path / "outcomes.csv", body))
    problems = excinfo.value.problems
    assert any(p.column == column and words in p.problem and p.fix for p in problems), problems
    assert all(p.file == "outcomes.csv" and p.row for p in problems)
    assert dump(two_cohorts) == before


def test_a_candidate_of_another_cohort_is_pointed_there(two_cohorts, tmp_path: Path) -> None:
    create_cohort(two_cohorts, "2028")
    with pytest.raises(InputError) as excinfo:
        import_file(two_cohorts, "outcomes", write(tmp_path / "o.csv", "C001,2028,2025-09-01,started,5,\n"))
    assert "the candidate is in cohort 2027, default" in excinfo.value.problems[0].fix


def test_the_cohort_named_on_the_command_limits_the_file(two_cohorts, tmp_path: Path) -> None:
    f = write(tmp_path / "o.csv", "C001,default,2024-09-02,started,5,\nC002,,2025-09-01,started,5,\n")
    with pytest.raises(InputError) as excinfo:
        import_file(two_cohorts, "outcomes", f, cohort="2027")
    assert "is not the cohort this import is for (2027)" in str(excinfo.value)
    # The CLI: a blank cell takes --cohort; the dry run writes nothing.
    url = str(two_cohorts.url)
    f2 = write(tmp_path / "o2.csv", "C002,,2025-09-01,started,5,\n")
    before = dump(two_cohorts)
    dry = CliRunner().invoke(cli, ["--db", url, "import", "outcomes", str(f2), "--cohort", "2027", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output and dump(two_cohorts) == before
    done = CliRunner().invoke(cli, ["--db", url, "import", "outcomes", str(f2), "--cohort", "2027"])
    assert done.exit_code == 0 and "cohort 2027" in done.output


# --- The outcome audit ---------------------------------------------------------------------------

COHORTS = {"2023": date(2023, 9, 1), "2024": date(2024, 9, 1), "2025": date(2025, 9, 1)}


@pytest.fixture(scope="module")
def three_cohorts(tmp_path_factory):
    """A generated three-cohort scheme with outcomes (minority ethnic graduates twice as likely to leave)."""
    from placement.db.migrate import upgrade
    from placement.db.session import make_engine

    folder = tmp_path_factory.mktemp("three")
    engine = make_engine(f"sqlite:///{folder / 'placement.db'}")
    upgrade(engine)
    rows = []
    for i, (name, start) in enumerate(COHORTS.items()):
        generate_scheme(folder / name, candidates=150, seed=100 + i)
        if i == 0:
            from placement.cohorts import rename_cohort

            rename_cohort(engine, "default", name)
        else:
            create_cohort(engine, name)
        import_dir(engine, folder / name, cohort=name)
        rows += generate_outcomes(
            read_candidates(folder / name / "candidates.csv"),
            cohort=name,
            start=start,
            as_of=AS_OF,
            seed=7 + i,
            disparity=2.5,
        )
    write_outcomes(rows, folder / "outcomes.csv")
    import_file(engine, "outcomes", folder / "outcomes.csv")
    yield engine, folder
    engine.dispose()


def _recomputed(folder: Path, cohorts: list[str], months: int) -> tuple[float, float]:
    """RL of retention at ``months`` (White ÷ all other ethnic groups combined) and Fisher p, from the raw files."""
    out = pd.read_csv(folder / "outcomes.csv", dtype=str, keep_default_na=False)
    out = out[out["cohort"].isin(cohorts)]
    cands = pd.concat(
        [pd.read_csv(folder / c / "candidates.csv", dtype=str, keep_default_na=False).assign(cohort=c) for c in cohorts]
    )
    code = cands["ethnic_category"].str.strip().str.upper()
    cands["group"] = code.map(
        lambda x: "white" if x in ("A", "B", "C") else ("minority" if x and x not in ("Z", "99") else "missing")
    )
    out["day"] = pd.to_datetime(out["date"])
    start = out[out["event"] == "started"].set_index(["cohort", "candidate_id"])["day"]
    due = start.map(lambda d: pd.Timestamp(add_months(d.date(), months)))
    due = due[due <= pd.Timestamp(AS_OF)]
    exits = out[out["event"].isin(["completed", "left"])].groupby(["cohort", "candidate_id"])["day"].min()
    posts = out[out["event"].isin(["employed", "promoted"])].groupby(["cohort", "candidate_id"])["day"].min()
    frame = pd.DataFrame({"due": due}).join(exits.rename("exit")).join(posts.rename("post"))
    in_scheme = frame["exit"].isna() | (frame["exit"] >= frame["due"])
    in_post = frame["post"].notna() & (frame["post"] <= frame["due"])  # generated leavers never take a post after
    frame["retained"] = in_scheme | in_post
    frame = frame.join(cands.set_index(["cohort", "candidate_id"])["group"])
    counts = frame.groupby("group")["retained"].agg(["sum", "count"])
    a, n = int(counts.loc["white", "sum"]), int(counts.loc["white", "count"])
    b, m = int(counts.loc["minority", "sum"]), int(counts.loc["minority", "count"])
    p = fisher_exact([[a, n - a], [b, m - b]]).pvalue
    return (a / n) / (b / m), float(p)


@pytest.mark.slow
def test_retention_relative_likelihood_equals_a_recomputation_from_the_raw_files(three_cohorts) -> None:
    engine, folder = three_cohorts
    audit = audit_outcomes(engine, list(COHORTS), as_of=AS_OF)
    assert [s["scope"] for s in audit["scopes"]] == [*COHORTS, "pooled"]
    checked = 0
    for s in audit["scopes"]:
        cohorts = list(COHORTS) if s["pooled"] else [s["scope"]]
        table = next(t for t in s["characteristics"] if t["name"] == "minority_ethnic")
        for months in (12, 24):
            c = next(c for c in table["comparisons"] if c["measure"] == f"retained_{months}" and c["group"] == "yes")
            if s["measures"][f"retained_{months}"]["out_of"]["value"] == 0:
                assert c["ratio"]["value"] is None  # not yet due in this cohort
                continue
            rl, p = _recomputed(folder, cohorts, months)
            assert c["ratio"]["value"] == pytest.approx(rl, rel=1e-12)
            assert c["fisher_p"]["value"] == pytest.approx(p, rel=1e-9)
            checked += 1
    assert checked >= 5  # 2023 and 2024 at 12 months, 2023 at 24, pooled at both


def test_the_publication_edition_shows_no_small_count_and_flags_without_numbers(three_cohorts, tmp_path) -> None:
    engine, _ = three_cohorts
    audit = audit_outcomes(engine, list(COHORTS), as_of=AS_OF, edition="publication")
    assert audit["stamp"] is None and audit["disclosure_control"]["applied"]
    for s in audit["scopes"]:
        for t in (*s["characteristics"], *s["placement"]):
            for g in t["groups"]:
                for r in g["measures"].values():
                    for key in ("achieved", "out_of"):
                        v = r[key]["value"]
                        assert r[key]["suppressed"] or v == 0 or (v >= 8 and v % 5 == 0), (t["name"], g["group"], r)
    internal = audit_outcomes(engine, list(COHORTS), as_of=AS_OF)
    # Scheme-wide figures break nobody down: exact in both editions.
    assert [s["scheme_wide"]["graduates"] for s in audit["scopes"]] == [
        s["scheme_wide"]["graduates"] for s in internal["scopes"]
    ]


def test_reports_are_written_in_every_format_and_the_internal_one_owner_only(three_cohorts, tmp_path) -> None:
    engine, _ = three_cohorts
    url = str(engine.url)
    args = ["--db", url, "outcomes", "audit", "--as-of", "2026-12-01"] + [x for c in COHORTS for x in ("--cohort", c)]
    html = tmp_path / "o.html"
    result = CliRunner().invoke(cli, [*args, "--out", str(html)])
    assert result.exit_code == 0, result.output
    text = html.read_text()
    assert "OFFICIAL-SENSITIVE" in text and "Trend over cohorts" in text and text.count("<svg") >= 2
    assert stat.S_IMODE(html.stat().st_mode) == 0o600
    pub = tmp_path / "p.csv"
    result = CliRunner().invoke(cli, [*args, "--edition", "publication", "--format", "csv", "--out", str(pub)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(pub.stat().st_mode) == 0o644
    assert pub.read_text().splitlines()[0].startswith("edition,scope,table,group,measure")
    js = tmp_path / "o.json"
    assert CliRunner().invoke(cli, [*args, "--format", "json", "--out", str(js)]).exit_code == 0
    assert json.loads(js.read_text())["schema"] == "placement-outcomes/1"


def test_reason_text_never_reaches_a_report(three_cohorts, tmp_path) -> None:
    engine, _ = three_cohorts
    for fmt in ("html", "json", "csv"):
        for edition in ("internal", "publication"):
            path = write_outcome_report(engine, list(COHORTS), fmt, tmp_path / f"r.{fmt}", as_of=AS_OF, edition=edition)
            assert "private sector" not in path.read_text() and "caring responsibilities" not in path.read_text()


# --- Placement trends over cohorts ---------------------------------------------------------------


@pytest.mark.slow
def test_placement_trends_pool_the_cohorts_counts_and_recompute_their_relative_likelihood(three_cohorts, tmp_path):
    from placement.approval import approve_round
    from placement.audit.trends import audit_trends
    from placement.rounds import RoundOptions, solve_round

    engine, _ = three_cohorts
    for name in COHORTS:
        solve_round(engine, RoundOptions(time_limit=20), cohort=name)
    approve_round(engine, 1, "A. Coordinator", cohort="2023")
    report = audit_trends(engine, list(COHORTS))
    assert [(c["cohort"], c["round"], c["state"]) for c in report["cohorts"]] == [
        ("2023", 1, "approved"),
        ("2024", 1, "proposal"),
        ("2025", 1, "proposal"),
    ]

    def group(audit, ch, value):
        table = next(t for t in audit["characteristics"] if t["name"] == ch)
        return next(g for g in table["groups"] if g["value"] == value), table

    # Pooled counts are the sum of the cohorts' counts, group by group.
    for value in ("no", "yes"):
        pooled, _ = group(report["pooled"], "minority_ethnic", value)
        for col in ("eligible", "placed"):
            assert pooled[col]["value"] == sum(
                group(a, "minority_ethnic", value)[0][col]["value"] for a in report["per_cohort"]
            )
    # ... and the pooled relative likelihood is the placement audit's statistic on those sums.
    white, table = group(report["pooled"], "minority_ethnic", "no")
    other, _ = group(report["pooled"], "minority_ethnic", "yes")
    a, n, b, m = (
        white["placed"]["value"],
        white["eligible"]["value"],
        other["placed"]["value"],
        other["eligible"]["value"],
    )
    rl = next(r for r in table["relative_likelihoods"] if r["outcome"] == "placed")
    assert rl["value"]["value"] == pytest.approx((a / n) / (b / m), rel=1e-12)
    assert rl["fisher_p"]["value"] == pytest.approx(fisher_exact([[a, n - a], [b, m - b]]).pvalue, rel=1e-9)
    assert rl["verdict"] in ("flagged", "within the band", "too few to tell")

    url = str(engine.url)
    args = ["--db", url, "audit", "--cohort", "2023", "--cohort", "2024", "--cohort", "2025"]
    html = tmp_path / "trends.html"
    result = CliRunner().invoke(cli, [*args, "--out", str(html)])
    assert result.exit_code == 0, result.output
    assert "Placement trends over cohorts" in html.read_text() and "<svg" in html.read_text()
    refused = CliRunner().invoke(cli, [*args, "1"])
    assert refused.exit_code == 1 and "Round numbers belong to one cohort" in refused.output
    # One cohort and no number: its final round (2023's approved round 1).
    one = CliRunner().invoke(
        cli, ["--db", url, "audit", "--cohort", "2023", "--format", "json", "--out", str(tmp_path / "one.json")]
    )
    assert one.exit_code == 0, one.output
    assert json.loads((tmp_path / "one.json").read_text())["cohort"] == "2023"


def test_a_purge_empties_outcome_reasons_and_keeps_the_events(engine, tmp_path: Path) -> None:
    from sqlalchemy import select, update

    from placement.db.models import ImportBatch, Outcome
    from placement.db.session import transaction
    from placement.purge import purge

    import_dir(engine, BASE)
    import_file(
        engine,
        "outcomes",
        write(tmp_path / "o.csv", "C001,,2024-09-02,started,5,\nC001,,2025-01-15,left,,moved to Leeds\n"),
    )
    recent = purge(engine, date(2025, 6, 1), dry_run=True)
    assert recent.candidates == 0  # imported (and so last dealt with) today
    with transaction(engine) as s:
        s.execute(update(ImportBatch).values(imported_at=datetime(2020, 1, 1, tzinfo=UTC)))
    report = purge(engine, date(2021, 1, 1))
    assert report.candidates == 6
    with transaction(engine) as s:
        rows = s.execute(select(Outcome.event, Outcome.reason).order_by(Outcome.date)).all()
    assert [tuple(r) for r in rows] == [("started", ""), ("left", "")]


def test_the_outcome_audit_and_the_trends_as_workbooks(three_cohorts, tmp_path) -> None:
    from openpyxl import load_workbook

    engine, _ = three_cohorts
    url = str(engine.url)
    cohorts = [x for c in COHORTS for x in ("--cohort", c)]
    out = tmp_path / "o.xlsx"
    res = CliRunner().invoke(
        cli,
        [
            "--db",
            url,
            "outcomes",
            "audit",
            *cohorts,
            "--as-of",
            "2026-12-01",
            "--format",
            "xlsx",
            "--out",
            str(out),
            "--edition",
            "publication",
        ],
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["Cohort 2023", "Cohort 2024", "Cohort 2025", "Pooled"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
