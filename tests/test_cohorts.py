"""Cohorts: two intakes in one database, the default-cohort rule, closing, copy-hosts, and isolation.

The isolation test is differential: every command run on cohort 2026 of a
database that also holds a cohort 2027 (the same candidate and host ids with
different scores, preferences, places, targets and pairs) must give exactly
what it gives on a database where 2027 is empty. A query that read across
cohorts would see 2027's rows and change an answer.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from placement.approval import approve_round
from placement.cli import cli
from placement.cohorts import CohortError, close_cohort, copy_hosts, create_cohort, list_cohorts, resolve_in
from placement.db.migrate import upgrade
from placement.db.models import Candidate, HostPlace, Round
from placement.db.session import make_engine, transaction
from placement.errors import NotFound
from placement.ingest import import_dir, import_file
from placement.rounds import RoundOptions, record_response, solve_round

BASE = Path(__file__).resolve().parent / "corpus" / "base"


def run(url: str, *args: str, env: dict | None = None, ok: bool = True):
    result = CliRunner().invoke(cli, ["--db", url, *args], env=env or {}, catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def other_intake(folder: Path) -> Path:
    """Cohort 2027: the same ids as the base scheme, everything else different."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("candidates.csv", "host_rankings.csv"):
        shutil.copy(BASE / name, folder / name)
    with (BASE / "candidates.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):  # scores reversed, everyone willing to move, new emails
        row["assessment_score"] = str(40 + 9 * i)
        row["willing_to_relocate"] = "yes"
        row["email"] = row["email"].replace("@", ".2027@")
    with (folder / "candidates.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (folder / "hosts.csv").write_text(
        "host_id,name,org_type,region,capacity,specialisms,min_score,min_placements\n"
        "RX1,Royal London Hospitals,acute,London,5,data;digital;technology,0,0\n"
        "RY2,Kent Community Health,community,South East,0,technology,,\n"
        "RQ3,Midlands Partnership,mental_health,Midlands,1,data;digital;technology,,0\n"
        "RW4,North West ICS,ics,North West,3,data;digital;technology,,\n"
    )
    (folder / "preferences.csv").write_text(
        "candidate_id,host_id,rank\n"
        + "".join(
            f"{c},{h},{r}\n"
            for c in ("C001", "C002", "C003", "C004", "C005", "C006")
            for r, h in enumerate(("RW4", "RQ3", "RX1"), start=1)
        )
    )
    (folder / "targets.csv").write_text(
        "name,scope,attribute,value,min_share,max_share,strength,weight\nwomen-cohort,cohort,sex,male,0.9,,soft,50\n"
    )
    (folder / "pairs.csv").write_text("candidate_id,host_id,rule,reason\nC001,RW4,forbid,conflict of interest\n")
    return folder


def _normalise(text: str) -> str:
    """Drop what differs between two runs by the clock alone: times, durations, hashes of timed rows."""
    text = re.sub(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)?", "<time>", text)
    text = re.sub(r"\d+\.\d+ s\b", "<secs> s", text)
    text = re.sub(r"\b\d{2}:\d{2}\b", "<hh:mm>", text)  # a time a narrow table wrapped away from its date
    text = re.sub(r'"(solve_seconds|seconds)": [0-9.e-]+', r'"\1": "<secs>"', text)
    return text


def _audit_json(url: str, tmp_path: Path, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    run(url, "audit", "1", "--format", "json", "--out", str(out), "--cohort", "2026")
    data = json.loads(out.read_text())
    return json.loads(_normalise(json.dumps(data, sort_keys=True)))


def _session_on_2026(url: str, tmp_path: Path, name: str) -> list[str]:
    """Every command of a season on cohort 2026; what each printed or wrote, normalised."""
    c = ["--cohort", "2026"]
    outputs = [run(url, "solve", "--json", *c).output]
    outputs.append(run(url, "round", "list", *c).output)
    outputs.append(run(url, "round", "show", "1", *c).output)
    export = tmp_path / f"{name}-export.csv"
    run(url, "export", "1", "--out", str(export), "--include-sensitive", *c)
    outputs.append(export.read_text())
    outputs.append(json.dumps(_audit_json(url, tmp_path, name), sort_keys=True))
    outputs.append(run(url, "explain", "C005", "--round", "1", *c).output)
    outputs.append(run(url, "round", "approve", "1", "--by", "A. Coordinator", *c).output)
    outputs.append(run(url, "offer", "accept", "C001", *c).output)
    outputs.append(run(url, "offer", "decline", "C002", *c).output)
    outputs.append(run(url, "solve", "--json", *c).output)
    export2 = tmp_path / f"{name}-export-2.csv"
    run(url, "export", "2", "--out", str(export2), *c)
    outputs.append(export2.read_text())
    return [_normalise(o) for o in outputs]


def _dump_cohort(engine, name: str) -> dict[str, list]:
    """The rows of one cohort's candidates, places, targets and rounds (to show they are left alone)."""
    from placement.db.models import Target

    scope = resolve_in(engine, name)
    with transaction(engine) as s:
        return {
            "candidates": sorted(
                tuple(map(repr, r))
                for r in s.execute(
                    select(Candidate.candidate_id, Candidate.assessment_score, Candidate.email).where(
                        Candidate.cohort_id == scope.id
                    )
                ).all()
            ),
            "places": sorted(
                tuple(map(repr, r))
                for r in s.execute(
                    select(HostPlace.host_pk, HostPlace.capacity, HostPlace.specialisms).where(
                        HostPlace.cohort_id == scope.id
                    )
                ).all()
            ),
            "targets": sorted(
                tuple(map(repr, r))
                for r in s.execute(
                    select(Target.name, Target.value, Target.min_share).where(Target.cohort_id == scope.id)
                ).all()
            ),
            "rounds": sorted(
                tuple(map(repr, r))
                for r in s.execute(select(Round.number, Round.state).where(Round.cohort_id == scope.id)).all()
            ),
        }


@pytest.mark.slow
def test_no_command_reads_across_cohorts(tmp_path: Path) -> None:
    other = other_intake(tmp_path / "2027")
    alone, shared = (f"sqlite:///{tmp_path / name}.db" for name in ("alone", "shared"))
    for url in (alone, shared):
        run(url, "cohort", "create", "2026")
        run(url, "cohort", "create", "2027")
    # The shared database gets 2027 first, so its rows also take the lower primary keys.
    run(shared, "import", "dir", str(other), "--cohort", "2027")
    run(shared, "solve", "--cohort", "2027")
    run(shared, "round", "approve", "1", "--by", "Other Coordinator", "--cohort", "2027")
    for url in (alone, shared):
        run(url, "import", "dir", str(BASE), "--cohort", "2026")
    engine = make_engine(shared)
    before = _dump_cohort(engine, "2027")

    seen, expected = _session_on_2026(shared, tmp_path, "shared"), _session_on_2026(alone, tmp_path, "alone")
    for step, (got, want) in enumerate(zip(seen, expected, strict=True)):
        assert got == want, f"step {step} differs"
    assert _dump_cohort(engine, "2027") == before  # and nothing done to 2026 touched 2027
    engine.dispose()


def test_two_cohorts_in_one_database(any_db_url: str, tmp_path: Path) -> None:
    """The same candidate id in two cohorts, hosts shared, rounds numbered from 1 in each (both backends)."""
    engine = make_engine(any_db_url)
    upgrade(engine)
    create_cohort(engine, "2026")
    create_cohort(engine, "2027")
    import_dir(engine, BASE, cohort="2026")
    import_dir(engine, other_intake(tmp_path / "2027"), cohort="2027")
    first = solve_round(engine, RoundOptions(time_limit=20), cohort="2026")
    second = solve_round(engine, RoundOptions(time_limit=20), cohort="2027")
    assert (first.round, second.round) == (1, 1)
    approve_round(engine, 1, "A. Coordinator", cohort="2026")
    assert record_response(engine, "C001", "accept", cohort="2026")[0] == 1
    again = solve_round(engine, RoundOptions(time_limit=20), cohort="2026")
    assert again.round == 2
    with transaction(engine) as s:
        ids = s.execute(select(Candidate.candidate_id, func.count()).group_by(Candidate.candidate_id)).all()
        assert dict(ids)["C001"] == 2  # two records, one per cohort
        from placement.db.models import Host

        assert s.scalar(select(func.count()).select_from(Host)) == 4  # the organisations are shared
        assert s.scalar(select(func.count()).select_from(HostPlace)) == 8  # their places are per cohort
    # 2027's places differ (RY2 offers none), so its placements do too.
    from placement.export import export_round

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    export_round(engine, 1, a, cohort="2026")
    export_round(engine, 1, b, cohort="2027")
    assert a.read_text() != b.read_text()
    assert "RY2" not in b.read_text()
    summary = {c.name: c for c in list_cohorts(engine)}
    assert (summary["2026"].rounds, summary["2027"].rounds, summary["default"].candidates) == (2, 1, 0)
    engine.dispose()


def test_the_only_open_cohort_is_the_default_and_several_must_be_named(sqlite_url: str, tmp_path: Path) -> None:
    run(sqlite_url, "import", "dir", str(BASE))  # a new database: everything goes into `default`
    assert "default" in run(sqlite_url, "cohort", "list").output
    run(sqlite_url, "cohort", "create", "2027")
    refused = run(sqlite_url, "solve", ok=False)
    assert refused.exit_code == 1
    assert "2 open cohorts (2027 (open), default (open))" in refused.output
    assert "--cohort NAME" in refused.output and "PLACEMENT_COHORT" in refused.output
    unknown = run(sqlite_url, "round", "list", "--cohort", "2028", ok=False)
    assert "There is no cohort '2028'" in unknown.output and "placement cohort create 2028" in unknown.output
    near = run(sqlite_url, "round", "list", "--cohort", "DEFAULT", ok=False)
    assert "Did you mean 'default'?" in near.output
    # The environment variable names it for every command; --cohort wins over it.
    assert "in cohort default" in run(sqlite_url, "round", "list", env={"PLACEMENT_COHORT": "default"}).output
    assert (
        "in cohort 2027"
        in run(sqlite_url, "round", "list", "--cohort", "2027", env={"PLACEMENT_COHORT": "default"}).output
    )
    assert "in cohort 2027" in run(sqlite_url, "--cohort", "2027", "round", "list").output
    # Closing one leaves one open: the default again.
    run(sqlite_url, "cohort", "close", "2027")
    assert "in cohort default" in run(sqlite_url, "round", "list").output


def test_a_closed_cohort_refuses_imports_and_solves_but_still_audits(engine, tmp_path: Path) -> None:
    import_dir(engine, BASE)
    result = solve_round(engine, RoundOptions(time_limit=20))
    close_cohort(engine, "default")
    with pytest.raises(CohortError, match="closed"):
        import_file(engine, "candidates", BASE / "candidates.csv")
    with pytest.raises(CohortError, match="closed"):
        solve_round(engine, RoundOptions(time_limit=20))
    with pytest.raises(CohortError, match="closed"):
        approve_round(engine, result.round, "A. Coordinator")
    from placement.audit import audit_round
    from placement.export import export_round

    assert audit_round(engine, result.round)["cohort"] == "default"
    assert export_round(engine, result.round, tmp_path / "out.csv") == result.placed
    # The one cohort, closed, is still the default for reading; reopening lets it change again.
    run(str(engine.url), "cohort", "reopen", "default")
    solve_round(engine, RoundOptions(time_limit=20))


def test_copy_hosts_starts_a_new_intake_from_last_years_places(engine, tmp_path: Path) -> None:
    import_dir(engine, BASE)
    url = str(engine.url)
    run(url, "cohort", "create", "2027")
    out = run(url, "cohort", "copy-hosts", "default", "2027").output
    assert "Copied the places of 4 hosts from cohort default to 2027" in out
    with pytest.raises(CohortError, match="already has host places"):
        copy_hosts(engine, "default", "2027")
    with pytest.raises(NotFound):
        copy_hosts(engine, "default", "2028")
    # The new intake imports its candidates and lists against the copied hosts, and can change a host's places.
    import_file(engine, "candidates", BASE / "candidates.csv", cohort="2027")
    import_file(engine, "preferences", BASE / "preferences.csv", cohort="2027")
    changed = tmp_path / "hosts.csv"
    changed.write_text(
        "host_id,name,org_type,region,capacity,specialisms\nRX1,Royal London Hospitals,acute,London,9,data\n"
    )
    report = import_file(engine, "hosts", changed, cohort="2027")
    assert (report.added, report.updated, report.unchanged) == (0, 1, 0)
    from placement.db.models import Host

    with transaction(engine) as s:
        caps = s.scalars(
            select(HostPlace.capacity).join(Host, Host.id == HostPlace.host_pk).where(Host.host_id == "RX1")
        ).all()
    assert sorted(caps) == [2, 9]  # last year's RX1 keeps its 2 places
    assert solve_round(engine, RoundOptions(time_limit=20), cohort="2027").round == 1


def test_a_list_naming_a_host_without_places_in_the_cohort_is_refused(engine, tmp_path: Path) -> None:
    import_dir(engine, BASE)
    create_cohort(engine, "2027")
    import_file(engine, "candidates", BASE / "candidates.csv", cohort="2027")
    from placement.errors import InputError

    with pytest.raises(InputError) as excinfo:
        import_file(engine, "preferences", BASE / "preferences.csv", cohort="2027")
    assert "RX1" in str(excinfo.value) and "2027" in str(excinfo.value)
    assert "copy-hosts" in str(excinfo.value)


def test_cohort_names_are_checked_and_unique(engine) -> None:
    from placement.errors import ConfigError

    with pytest.raises(ConfigError, match="not a usable cohort name"):
        create_cohort(engine, "2026 north")
    with pytest.raises(ConfigError):
        create_cohort(engine, "[bold]x")
    create_cohort(engine, "2026-north-west")
    with pytest.raises(CohortError, match="already exists"):
        create_cohort(engine, "2026-North-West")
    url = str(engine.url)
    run(url, "cohort", "rename", "default", "2025")
    assert [c.name for c in list_cohorts(engine)] == ["2025", "2026-north-west"]
    run(url, "cohort", "close", "2025")
    assert "is already closed" in run(url, "cohort", "close", "2025", ok=False).output


def test_every_command_takes_cohort() -> None:
    """Each command that works on a cohort's data takes --cohort (and so PLACEMENT_COHORT)."""
    import click

    # Commands with no cohort to choose: the schema, the cohorts themselves (they name theirs as
    # arguments), synthetic data, the demo (its own fresh database), benchmarks, and the retention
    # purge, which applies to the whole database by law (its date is the privacy notice's), and the web
    # console's accounts (an account reads every cohort its role allows).
    exempt = {"db", "cohort", "fixtures", "demo", "bench", "purge", "user"}
    missing = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                if name not in exempt or path:
                    walk(sub, (*path, name))
            return
        if not any(isinstance(p, click.Option) and "--cohort" in p.opts for p in command.params):
            missing.append(" ".join(path))

    walk(cli, ())
    assert missing == []
