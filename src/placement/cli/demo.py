"""`placement demo`: the whole pipeline on the sample scheme, in a fresh SQLite database."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import click

from . import cli, handle_errors, params, tables
from .tables import esc

# The earlier intakes of the demo scheme (fixtures/cohorts/YEAR) and the date its outcomes run to.
EARLIER_COHORTS = ("2022", "2023", "2024", "2025")
SAMPLE_COHORT = "2026"
OUTCOMES_AS_OF = date(2026, 10, 31)


def fixtures_dir() -> Path | None:
    """``fixtures/`` of the repository the package was installed from (editable install)."""
    sample = sample_dir()
    return sample.parent if sample is not None else None


def sample_dir() -> Path | None:
    """``fixtures/sample`` of the repository the package was installed from (editable install)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "fixtures" / "sample"
        if (candidate / "candidates.csv").exists():
            return candidate
    return None


@cli.command("demo")
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("placement-demo"),
    show_default=True,
    help="Folder for the demo database and reports (the demo's own files there are replaced; others are left alone).",
)
@click.option("--time-limit", type=params.SECONDS, default=30.0, show_default=True, help="Seconds the solver may take.")
@handle_errors
def demo_cmd(workdir: Path, time_limit: float) -> None:
    """Import the sample scheme into a fresh SQLite database, solve round 1 and write its audit report.

    \b
    Also, when the repository's fixtures are there: four earlier intakes
    (2022-2025: solved, approved, answered, closed), what became of their
    graduates (fixtures/outcomes.csv) with the outcome audit, and the
    placement trends over every cohort.
    """
    from ..db.migrate import upgrade
    from ..db.session import make_engine
    from ..ingest import import_dir
    from ..rounds import RoundOptions, solve_round
    from .solve import print_round_summary

    console = tables.console()
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "placement.db"
    # Start afresh, removing only what an earlier demo wrote here: other files in the folder are left alone.
    for old in [
        db_path,
        *(db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal")),
        *workdir.glob("round-*-audit*.html"),
        *workdir.glob("outcomes-*.html"),
        *workdir.glob("placement-trends-*.html"),
    ]:
        old.unlink(missing_ok=True)
    if (workdir / "scheme" / ".placement-demo").exists():
        shutil.rmtree(workdir / "scheme")
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    upgrade(engine)
    console.print(f"[bold]1. Database[/bold]: created {esc(db_path)} (schema by migrations)")
    fixtures = fixtures_dir()
    earlier = [y for y in EARLIER_COHORTS if fixtures is not None and (fixtures / "cohorts" / y).is_dir()]
    if earlier:
        _earlier_intakes(engine, fixtures / "cohorts", earlier, time_limit, console)  # type: ignore[operator]

    src = sample_dir()
    if src is None:
        from ..generate import generate_scheme

        src = workdir / "scheme"
        generate_scheme(src, candidates=60, seed=2026)
        (src / ".placement-demo").write_text("written by `placement demo`; removed by the next demo\n")
        console.print(
            f"[bold]2. Data[/bold]: sample fixtures not found next to the package; generated a 60-candidate scheme in {esc(src)}"
        )
    else:
        console.print(f"[bold]2. Data[/bold]: the sample scheme in {esc(src)}")
    reports = import_dir(engine, src, cohort=SAMPLE_COHORT if earlier else None)
    for r in reports:
        console.print(f"   imported {r.kind:<14} {r.rows:>5} rows from {esc(Path(r.file).name)}")

    console.print("[bold]3. Solve[/bold]: round 1 as a proposal")
    result = solve_round(engine, RoundOptions(time_limit=time_limit), cohort=SAMPLE_COHORT if earlier else None)
    print_round_summary(result, console)

    from ..audit import write_report

    if result.round is None:
        raise click.ClickException("The sample scheme gave no round; see the summary above.")
    sample = SAMPLE_COHORT if earlier else None
    internal = write_report(
        engine, result.round, "html", workdir / f"round-{result.round}-audit-internal.html", cohort=sample
    )
    public = write_report(
        engine,
        result.round,
        "html",
        workdir / f"round-{result.round}-audit-publication.html",
        edition="publication",
        cohort=sample,
    )
    console.print(
        f"[bold]4. Audit[/bold]: fairness report written to {esc(internal)} "
        f"(internal edition: exact, OFFICIAL-SENSITIVE) and {esc(public)} (publication edition)"
    )
    if earlier and fixtures is not None and (fixtures / "outcomes.csv").exists():
        _outcomes_and_trends(engine, fixtures / "outcomes.csv", [*earlier, SAMPLE_COHORT], workdir, console)
    named = f" --cohort {SAMPLE_COHORT}" if earlier else ""
    console.print(
        f"\nDone. Explore it with: placement --db {esc(url)} round show {result.round}{named}   "
        f"(or explain CANDIDATE, audit {result.round}, round approve {result.round} --by NAME; cohort list)"
    )


def _earlier_intakes(engine, folder: Path, years: list[str], time_limit: float, console) -> None:
    """Each earlier intake: imported, solved, approved, every offer accepted, then closed."""
    from ..approval import approve_round
    from ..cohorts import close_cohort, create_cohort, rename_cohort
    from ..ingest import import_dir
    from ..rounds import RoundOptions, record_responses, solve_round

    rename_cohort(engine, "default", SAMPLE_COHORT)
    console.print(
        f"[bold]2. Earlier intakes[/bold]: {', '.join(years)} (fixtures/cohorts), each solved, approved, "
        "accepted and closed"
    )
    for year in years:
        create_cohort(engine, year)
        import_dir(engine, folder / year, cohort=year)
        result = solve_round(engine, RoundOptions(time_limit=time_limit), cohort=year)
        if result.round is None:
            raise click.ClickException(f"The {year} intake gave no round; see `placement log --action solve`.")
        approve_round(engine, result.round, "Demo Coordinator", cohort=year)
        record_responses(engine, [(cid, "accept") for cid in _offered(engine, year)], cohort=year)
        close_cohort(engine, year)
        console.print(f"   cohort {year}: {result.placed} placed of {result.placed + result.unplaced}")


def _offered(engine, cohort: str) -> list[str]:
    from sqlalchemy import select

    from ..db.models import Candidate, Placement
    from ..db.session import transaction
    from ..offers import current_round

    with transaction(engine) as s:
        rnd = current_round(s, cohort)
        return sorted(
            s.scalars(
                select(Candidate.candidate_id)
                .join(Placement, Placement.candidate_pk == Candidate.id)
                .where(Placement.round_id == rnd.id, Placement.offer_status == "offered")
            )
        )


def _outcomes_and_trends(engine, outcomes: Path, cohorts: list[str], workdir: Path, console) -> None:
    from rich.markup import escape

    from ..audit.outcome_audit import write_outcome_report
    from ..audit.trends import write_trends
    from ..ingest import import_file

    report = import_file(engine, "outcomes", outcomes)
    console.print(
        f"[bold]5. Outcomes[/bold]: {report.rows} events for cohorts {escape(report.cohort)} "
        f"(fixtures/outcomes.csv, to {OUTCOMES_AS_OF.isoformat()})"
    )
    with_outcomes = [c for c in cohorts if c != SAMPLE_COHORT]
    names = "+".join(with_outcomes)
    internal = write_outcome_report(
        engine, with_outcomes, "html", workdir / f"outcomes-{names}-internal.html", as_of=OUTCOMES_AS_OF
    )
    public = write_outcome_report(
        engine,
        with_outcomes,
        "html",
        workdir / f"outcomes-{names}-publication.html",
        as_of=OUTCOMES_AS_OF,
        edition="publication",
    )
    console.print(
        f"   outcome audit (retention, completion, progression by group, per cohort and pooled, with the "
        f"trend): {escape(str(internal))} and {escape(str(public))}"
    )
    trends = write_trends(engine, cohorts, "html", workdir / f"placement-trends-{'+'.join(cohorts)}-internal.html")
    console.print(
        f"[bold]6. Trends[/bold]: placement rates and relative likelihoods per cohort and pooled: {escape(str(trends))}"
    )
